"""axe-core on every page as each role (0 critical, 0 serious), and every page at phone width
(390 px) without sideways scrolling. One browser test: one sign-in per role, every page visited.

axe-core is vendored (tests/browser/vendor/axe.min.js, npm package axe-core 4.10.2, MPL-2.0): no
CDN at test time."""

from __future__ import annotations

import json
import time
from pathlib import Path

from reup_app.seed.demo import ADMIN_EMAIL
from tests.browser.admin_kit import sign_in
from tests.browser.seeddb import scalar

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

VISITOR = [
    "/",
    "/marketplace",
    "/products/{product}",
    "/login",
    "/signup",
    "/forgot-password",
    "/reset-password/bad-code",
    "/invite/bad-code",
    "/no-such-page",
]
BUYER = [
    "/marketplace",
    "/products/{product}",
    "/cart",
    "/orders",
    "/orders/{buyer_order}",
    "/dashboard",
    "/settings/profile",
    "/settings/password",
    "/settings/security",
    "/settings/notifications",
    "/order-guides",
    "/not-allowed",
    "/no-such-page",
]
OWNER = [
    "/dashboard",
    "/orders",
    "/orders/{seller_order}",
    "/seller/products",
    "/seller/inventory",
    "/seller/inventory/metrc",
    "/seller/pricing",
    "/settings/team",
    "/settings/documents",
    "/settings/audit",
    "/settings/integrations",
    "/settings/api",
    "/seller/deliveries",
    "/sell-through",
]
RETAIL_OWNER = ["/pos", "/settings/api", "/settings/documents", "/order-guides"]
FULFILMENT = ["/dashboard", "/orders", "/orders/{seller_order}", "/seller/inventory", "/seller/products"]
ADMIN = [
    "/admin/businesses",
    "/admin/users",
    "/admin/metrics",
    "/admin/integrations",
    "/admin/jobs",
    "/admin/emails",
    "/admin/support",
    "/settings/audit",
]
ROLES = [
    (None, VISITOR),
    ("buyer@greenleaf.demo", BUYER),
    ("owner@pacificbloom.demo", OWNER),
    ("owner@greenleaf.demo", RETAIL_OWNER),
    ("fulfillment@pacificbloom.demo", FULFILMENT),
    (ADMIN_EMAIL, ADMIN),
]

# Besides axe's default rules: label-content-name-mismatch (off by default, "experimental"): a
# control's accessible name must contain its visible text, so speech users can say what they see.
RUN_AXE = """async () => {
  const r = await axe.run(document, {
    resultTypes: ['violations'],
    iframes: false,  // the app has no iframes
    rules: {'label-content-name-mismatch': {enabled: true}},
  });
  return r.violations.filter(v => v.impact === 'critical' || v.impact === 'serious').map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' :: ' + (n.failureSummary || '').slice(0, 160)),
    count: v.nodes.length,
  }));
}"""

SIDEWAYS = """() => {
  const w = window.innerWidth, problems = [];
  if (document.documentElement.scrollWidth > w + 1) {
    problems.push('page is ' + document.documentElement.scrollWidth + ' px wide');
    // name the innermost elements that stick out, so the report says what to fix
    const wide = [...document.querySelectorAll('body *')].filter(e => {
      const r = e.getBoundingClientRect();
      return r.width && r.right > w + 1 && ![...e.children].some(c => c.getBoundingClientRect().right > w + 1);
    });
    for (const e of wide.slice(0, 3)) problems.push('sticks out: <' + e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
      + '> right=' + Math.round(e.getBoundingClientRect().right) + ' ' + (e.textContent || '').trim().slice(0, 40));
  }
  for (const t of document.querySelectorAll('table')) {
    const box = t.closest('.rt-TableRoot') || t.parentElement;
    if (t.scrollWidth > box.clientWidth + 1) problems.push('table scrolls sideways (' + t.scrollWidth + ' > ' + box.clientWidth + ')');
    for (const b of t.querySelectorAll('button, a, input, select')) {
      const r = b.getBoundingClientRect();
      if (r.width && r.right > w + 1) problems.push('control out of view: ' + (b.getAttribute('aria-label') || b.textContent).slice(0, 40));
    }
  }
  return problems;
}"""


def _ids(url: str) -> dict[str, str]:
    product = scalar(url, "SELECT MIN(id) FROM products WHERE listing_state = 'available'")
    buyer_order = scalar(
        url,
        "SELECT o.number FROM orders o JOIN entities e ON e.id = o.buyer_entity_id "
        "WHERE e.name = 'Greenleaf Dispensary' ORDER BY o.id LIMIT 1",
    )
    seller_order = scalar(
        url,
        "SELECT o.number FROM orders o JOIN entities e ON e.id = o.seller_entity_id "
        "WHERE e.name = 'Pacific Bloom Distribution' ORDER BY o.id LIMIT 1",
    )
    return {"product": str(product), "buyer_order": buyer_order, "seller_order": seller_order}


# After a viewport change: two animation frames, so media queries have applied and layout is fresh.
NEXT_FRAME = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


def _settle(page, path: str) -> None:
    page.goto(path)
    page.wait_for_selector("#main", state="attached")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(400)  # on_load results rendered


def test_every_page_as_every_role_has_no_serious_axe_violations_and_fits_a_phone(browser, app_url, demo_db_url):
    ids = _ids(demo_db_url)
    found: dict[str, list] = {}
    sideways: dict[str, list] = {}
    seconds = {"sign_in": 0.0, "load": 0.0, "axe": 0.0, "phone": 0.0}  # where the sweep's time goes
    for email, paths in ROLES:
        context = browser.new_context(base_url=app_url, viewport=DESKTOP)
        context.add_init_script(AXE)  # axe is in every document the role loads; no per-page injection
        page = context.new_page()
        page.set_default_timeout(20000)
        try:
            if email:
                t0 = time.monotonic()
                sign_in(page, email)
                seconds["sign_in"] += time.monotonic() - t0
            who = email or "visitor"
            for raw in paths:
                path = raw.format(**ids)
                page.set_viewport_size(DESKTOP)
                t0 = time.monotonic()
                _settle(page, path)
                t1 = time.monotonic()
                violations = page.evaluate(RUN_AXE)
                t2 = time.monotonic()
                if violations:
                    found[f"{who} {path}"] = violations
                page.set_viewport_size(PHONE)
                page.evaluate(NEXT_FRAME)
                problems = page.evaluate(SIDEWAYS)
                seconds["load"] += t1 - t0
                seconds["axe"] += t2 - t1
                seconds["phone"] += time.monotonic() - t2
                if problems:
                    sideways[f"{who} {path}"] = problems[:5]
        finally:
            context.close()
    timings = {k: round(v, 1) for k, v in seconds.items()}
    report = json.dumps({"axe": found, "phone": sideways, "seconds": timings}, indent=1)
    Path("var").mkdir(exist_ok=True)
    Path("var/axe-report.json").write_text(report)
    assert not found, report[:6000]
    assert not sideways, report[:6000]
