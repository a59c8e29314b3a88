"""HTTP hardening on the real production build (issue 13, item 4).

Every route kind (a page, the REST API, a built asset, an authorized file route, a 404) carries the
security headers; pages carry a Content-Security-Policy that allows only this origin's scripts and
the page's own inline scripts by hash; and the app works under it in real Chromium: signing in and
browsing pages report no CSP violation.
"""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import expect

from reup_app.seed.demo import DEMO_PASSWORD

COMMON = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "referrer-policy": "strict-origin-when-cross-origin",
}


def _check(resp: httpx.Response) -> str:
    for name, value in COMMON.items():
        assert resp.headers.get(name) == value, (resp.url, name, resp.headers.get(name))
    assert "camera=()" in resp.headers["permissions-policy"] and "geolocation=()" in resp.headers["permissions-policy"]
    policy = resp.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert "script-src 'self' 'unsafe-eval'" in policy  # Reflex evals rx.call_script (docs/SECURITY.md)
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    return policy


def test_headers_on_every_route_kind(app_url):
    with httpx.Client(base_url=app_url, timeout=15, follow_redirects=True) as c:
        page = c.get("/login")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        policy = _check(page)
        assert re.search(r"script-src 'self' 'unsafe-eval'( 'sha256-[A-Za-z0-9+/=]+')+;", policy), policy
        asset = re.search(r'src="(/assets/[^"]+\.js)"', page.text) or re.search(r'"(/assets/[^"]+\.js)"', page.text)
        assert asset, "no built script referenced by the page"
        _check(c.get(asset.group(1)))  # a built file
        _check(c.get("/api/health"))  # the REST API
        _check(c.get("/api/invoices/INV-NOPE.pdf"))  # an authorized file route (refused without a ticket)
        _check(c.get("/orders/ORD-1"))  # a dynamic page (the SPA fallback)
        _check(c.get("/favicon.ico"))
        direct = c.get("/marketplace", follow_redirects=False)  # a page URL without "/": no 307 round trip
        assert direct.status_code == 200 and direct.text == c.get("/marketplace/").text
        assert re.search(r"'sha256-", _check(direct))


def test_a_revalidated_page_keeps_its_hashed_policy(app_url):
    """A 304 carries no CSP: its headers would replace the stored page's hashed policy and the
    browser would then block the page's own inline scripts on every reload or second tab."""
    with httpx.Client(base_url=app_url, timeout=15, follow_redirects=True) as c:
        first = c.get("/orders/")
        assert first.status_code == 200 and "etag" in first.headers
        again = c.get("/orders/", headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304
        assert "content-security-policy" not in again.headers
        assert again.headers.get("x-frame-options") == "DENY"  # the other headers are still there


def test_the_app_works_under_the_policy_without_violations(page):
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto("/login")
    page.get_by_label("Email").fill("buyer@greenleaf.demo")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.locator("form").get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/marketplace/?$"))
    expect(page.get_by_test_id("signed-in-user")).to_have_text("buyer@greenleaf.demo")
    for path in ("/cart", "/orders", "/settings", "/dashboard"):
        page.goto(path)
        expect(page.get_by_test_id("signed-in-user")).to_have_text("buyer@greenleaf.demo")
    page.reload()  # the browser revalidates its stored page (304) and must still run its scripts
    expect(page.get_by_test_id("signed-in-user")).to_have_text("buyer@greenleaf.demo")
    assert violations == []


def test_the_session_cookie_is_http_only_and_same_site_strict(page):
    page.goto("/login")
    page.get_by_label("Email").fill("buyer@greenleaf.demo")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.locator("form").get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/marketplace/?$"))
    # reup_has_session is the readable presence flag (value "1", no secret) the restore script checks
    flags = [c for c in page.context.cookies() if c["name"] == "reup_has_session"]
    assert all(c["value"] == "1" and c["sameSite"] == "Strict" for c in flags), flags
    cookies = [
        c
        for c in page.context.cookies()
        if c["name"] != "reup_has_session" and (c["httpOnly"] or "session" in c["name"].lower())
    ]
    assert cookies, "no session cookie after sign-in"
    for c in cookies:
        assert c["httpOnly"] is True and c["sameSite"] == "Strict", c
