"""Live updates in real Chromium against the production build with Redis and two workers.

Orders are placed and moved from the test process through the service layer (same MySQL, same
Redis event channel): that is how the background job process or another app process emits, so it
also proves delivery "from elsewhere". The app servers record every push (REUP_RT_TRACE), which
lets the tests check exactly-once delivery per session and that a third entity got nothing.

Cross-process: a second `python -m reup_app.serve` process listens on 127.0.0.2 at the same port
and serves the same build. The built JS connects to the page's own host name for a "localhost"
backend URL, so a browser opening http://127.0.0.2:<port>/ talks only to the second process.
"""

from __future__ import annotations

import re
import time
from collections import Counter

import pytest
from playwright.sync_api import expect

from reup_app.seed.demo import DEMO_PASSWORD
from tests.browser import realtime_kit as kit
from tests.browser.conftest import PORT, _app_env, start_server, stop_server

PACIFIC, EMERALD, GREENLEAF = "Pacific Bloom Distribution", "Emerald Coast Supply Co.", "Greenleaf Dispensary"
ORDER_KINDS = {"order.submitted", "order.status_changed", "order.message", "order.lines_edited", "invoice.created"}


@pytest.fixture(scope="module")
def services(demo_db_url):
    kit.use_app_environment(demo_db_url)


def _open(browser, base_url: str):
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    return context, page


def _sign_in(page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.locator("form").get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/marketplace/?$"))
    expect(page.get_by_test_id("signed-in-user")).to_have_text(email)
    expect(page.get_by_role("button", name=re.compile(r"^Notifications"))).to_be_visible()
    expect(page.get_by_test_id("notification-bell")).to_have_attribute("data-ready", "yes")
    # a marker that a reload or navigation would wipe out
    page.evaluate("() => { window.__reupNoReload = 'still here' }")


def _badge(page):
    return page.get_by_test_id("notification-count")


def _count(page) -> int:
    badge = _badge(page)
    return int(badge.inner_text()) if badge.count() else 0


def _expect_count(page, n: int) -> None:
    if n:
        expect(_badge(page)).to_have_text(str(n))
    else:
        expect(_badge(page)).to_have_count(0)


def _not_reloaded(page) -> bool:
    return page.evaluate("() => window.__reupNoReload") == "still here"


def _token(page) -> str:
    return page.evaluate("() => window.sessionStorage.getItem('token')")


def _kinds_pushed_to(token: str, settle=None) -> Counter:
    """Kinds of the pushes a tab got, per the servers' trace. The trace is written just after each
    push, so wait (up to 5 s) until `settle(counter)` holds."""
    deadline = time.time() + 5
    while True:
        kinds = Counter(kind for _id, kind, tok in kit.deliveries() if tok == token)
        if settle is None or settle(kinds) or time.time() > deadline:
            return kinds
        time.sleep(0.1)


def _toast(page, text: str):
    return page.locator("[data-sonner-toast]").filter(has_text=text)


def test_wholesaler_sees_new_order_and_every_status_change_live_third_entity_nothing(browser, app_url, services):
    wctx, wholesaler = _open(browser, app_url)
    rctx, retailer = _open(browser, app_url)
    tctx, third = _open(browser, app_url)
    try:
        _sign_in(wholesaler, "owner@pacificbloom.demo")
        _sign_in(retailer, "buyer@greenleaf.demo")
        _sign_in(third, "owner@emeraldcoast.demo")
        w0, r0, t0 = _count(wholesaler), _count(retailer), _count(third)
        third_rows = kit.notification_count("owner@emeraldcoast.demo", EMERALD)
        # a second wholesaler tab (session restored from the cookie) shows the incoming queue
        queue = wctx.new_page()
        queue.set_default_timeout(15000)
        queue.goto("/orders?status=open")
        expect(queue.get_by_test_id("order-row").first).to_be_visible()
        queue.evaluate("() => { window.__reupQueueNoReload = 'still here' }")

        number = kit.submit_order("buyer@greenleaf.demo", PACIFIC)
        expect(_toast(wholesaler, f"New order {number} from {GREENLEAF}")).to_be_visible()
        _expect_count(wholesaler, w0 + 1)
        new_row = queue.get_by_test_id("order-row").filter(has_text=number)
        expect(new_row).to_contain_text("Submitted")  # the queue gained the order without a reload

        # (action, words, new notifications for the retailer: shipping also issues the invoice)
        steps = [
            ("accept", "was accepted", 1),
            ("fulfill", "is packed and ready to ship", 1),
            ("ship", "has shipped", 2),
        ]
        w, r = w0 + 1, r0
        for action, _words, for_retailer in steps:
            kit.transition("sales@pacificbloom.demo", number, action)
            w, r = w + 1, r + for_retailer
            _expect_count(wholesaler, w)
            _expect_count(retailer, r)

        expect(new_row).to_contain_text("Shipped")
        assert queue.evaluate("() => window.__reupQueueNoReload") == "still here"

        for page in (wholesaler, retailer):
            page.get_by_role("button", name=re.compile(r"^Notifications")).click()
            for _action, words, _n in steps:
                expect(
                    page.get_by_test_id("notification-item").filter(has_text=f"Order {number} {words}")
                ).to_be_visible()
            assert _not_reloaded(page)
        expect(
            wholesaler.get_by_test_id("notification-item").filter(has_text=f"New order {number} from {GREENLEAF}")
        ).to_be_visible()
        # the retailer placed it: no toast for it, and the status changes gave no toast either
        expect(_toast(retailer, number)).to_have_count(0)

        # the third entity: nothing on screen, nothing stored, nothing pushed but public stock news
        third.wait_for_timeout(500)
        _expect_count(third, t0)
        expect(_toast(third, number)).to_have_count(0)
        assert _not_reloaded(third)
        assert kit.notification_count("owner@emeraldcoast.demo", EMERALD) == third_rows
        pushed = kit.deliveries()
        third_kinds = {kind for _id, kind, token in pushed if token == _token(third)}
        assert not third_kinds & ORDER_KINDS, third_kinds

        # exactly once per session, with two workers: each event id at most once per token
        per_session = Counter((event_id, token) for event_id, _kind, token in pushed)
        assert max(per_session.values()) == 1
        expected = {"order.submitted": 1, "order.status_changed": 3, "invoice.created": 1}
        kinds = _kinds_pushed_to(_token(wholesaler), lambda k: all(k[x] >= n for x, n in expected.items()))
        assert {k: n for k, n in kinds.items() if k in ORDER_KINDS} == expected, kinds
    finally:
        for ctx in (wctx, rctx, tctx):
            ctx.close()


def test_bell_list_marks_read_and_offline_notifications_wait_for_sign_in(browser, app_url, services):
    # an order placed while the wholesaler's sales user is offline is waiting at the next sign-in
    before = kit.notification_count("sales@pacificbloom.demo", PACIFIC)
    number = kit.submit_order("buyer@greenleaf.demo", PACIFIC)
    assert kit.notification_count("sales@pacificbloom.demo", PACIFIC) == before + 1
    ctx, page = _open(browser, app_url)
    try:
        _sign_in(page, "sales@pacificbloom.demo")
        assert _count(page) >= 1
        page.get_by_role("button", name=re.compile(r"^Notifications")).click()
        item = page.get_by_test_id("notification-item").filter(has_text=f"New order {number}")
        expect(item).to_have_attribute("data-unread", "yes")
        page.get_by_role("button", name="Mark all read").click()
        _expect_count(page, 0)
        expect(item).to_have_attribute("data-unread", "no")
    finally:
        ctx.close()


@pytest.fixture(scope="module")
def second_process(demo_db_url, app_url):
    """Another app process (own workers, same MySQL, Redis and event channel) on 127.0.0.2."""
    host = "127.0.0.2"
    env = _app_env(demo_db_url)
    env["REUP_APP_URL"] = f"http://{host}:{PORT}"
    proc = start_server(env, host=host, workers=1, log_name="browser-server-b.log")
    yield f"http://{host}:{PORT}"
    stop_server(proc)


def test_events_cross_app_processes(browser, app_url, second_process, services):
    actx, on_a = _open(browser, app_url)
    bctx, on_b = _open(browser, second_process)
    try:
        _sign_in(on_a, "admin@pacificbloom.demo")
        _sign_in(on_b, "admin@pacificbloom.demo")
        n0 = _count(on_a)
        _expect_count(on_b, n0)  # the bell of a just-opened tab loads after the page: wait for it

        # from a third process (the test) to sessions on both app processes
        number = kit.submit_order("buyer@greenleaf.demo", PACIFIC)
        for page in (on_a, on_b):
            expect(_toast(page, f"New order {number}")).to_be_visible()
            _expect_count(page, n0 + 1)

        # emitted in process B (marking read there), delivered to the same user's tab on process A
        on_b.get_by_role("button", name=re.compile(r"^Notifications")).click()
        on_b.get_by_role("button", name="Mark all read").click()
        _expect_count(on_b, 0)
        _expect_count(on_a, 0)
        assert _not_reloaded(on_a) and _not_reloaded(on_b)

        for page in (on_a, on_b):
            kinds = _kinds_pushed_to(_token(page), lambda k: k["notification.read"] >= 1)
            assert kinds["order.submitted"] == 1 and kinds["notification.read"] == 1, kinds
    finally:
        actx.close()
        bctx.close()


def test_catalog_availability_updates_live_even_for_visitors(browser, app_url, services):
    from reup_app.formatting import quantity

    product = kit.top_product(PACIFIC)
    ctx, page = _open(browser, app_url)
    try:
        page.goto(f"/marketplace?q={product.name}")
        card = page.get_by_test_id("product-card").filter(
            has=page.get_by_role("heading", name=product.name, exact=True)
        )
        expect(card).to_contain_text(f"{quantity(product.available_qty)} available")
        # the bell's mount registered the tab (for a visitor too: stock news is public)
        expect(page.get_by_test_id("notification-bell")).to_have_attribute("data-ready", "yes")
        page.evaluate("() => { window.__reupNoReload = 'still here' }")

        kit.submit_order("buyer@greenleaf.demo", PACIFIC, product_id=product.id)
        now = kit.available(product.id)
        assert now < product.available_qty
        expect(card).to_contain_text(f"{quantity(now)} available")
        assert _not_reloaded(page)
    finally:
        ctx.close()


def test_sign_out_and_closed_tabs_are_forgotten(browser, app_url, services):
    ctx, page = _open(browser, app_url)
    try:
        _sign_in(page, "viewer@pacificbloom.demo")
        token = _token(page)
        info = kit.session_of(token)
        assert info is not None and info.entity_id == kit.entity_id_named(PACIFIC)
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_label("Password")).to_be_visible()
        signed_out = kit.session_of(token)
        assert signed_out is not None and signed_out.user_id is None and signed_out.entity_id is None

        seen = len(kit.deliveries())
        number = kit.submit_order("buyer@greenleaf.demo", PACIFIC)
        page.wait_for_timeout(1000)
        expect(_toast(page, number)).to_have_count(0)
        assert not [k for _id, k, t in kit.deliveries()[seen:] if t == token and k in ORDER_KINDS]
    finally:
        ctx.close()
    # the tab is closed: its socket goes, and the hub's sweep forgets the session
    for _ in range(40):
        if kit.session_of(token) is None:
            break
        time.sleep(0.25)
    assert kit.session_of(token) is None


def test_notification_preferences_choose_in_app_and_email(browser, app_url, services):
    email = "fulfillment@pacificbloom.demo"
    ctx, page = _open(browser, app_url)
    try:
        _sign_in(page, email)
        page.goto("/settings/notifications")
        in_app = page.get_by_role("switch", name="In the app: New orders from retailers")
        by_mail = page.get_by_role("switch", name="By e-mail: New orders from retailers")
        expect(in_app).to_be_checked()
        expect(by_mail).not_to_be_checked()
        in_app.click()
        expect(page.get_by_role("status")).to_have_text("Saved: New orders from retailers.")
        by_mail.click()
        expect(by_mail).to_be_checked()
        expect(in_app).not_to_be_checked()
        assert kit.preference(email, "order.submitted") == (False, True)
        page.evaluate("() => { window.__reupNoReload = 'still here' }")

        before, mails = kit.notification_count(email, PACIFIC), len(kit.emails_to(email))
        number = kit.submit_order("buyer@greenleaf.demo", PACIFIC)
        assert kit.notification_count(email, PACIFIC) == before
        assert len(kit.emails_to(email)) == mails + 1 and number in kit.emails_to(email)[-1]
        page.wait_for_timeout(1000)
        expect(_toast(page, number)).to_have_count(0)  # in-app is off: no toast either
        assert _not_reloaded(page)
    finally:
        ctx.close()


def test_without_redis_the_in_process_bus_pushes_between_tabs(browser, demo_db_url):
    """The zero-install mode: no Redis, one worker, in-memory state, in-process event bus."""
    host = "127.0.0.3"
    env = _app_env(demo_db_url)
    env.pop("REUP_REDIS_URL")
    env["REUP_APP_URL"] = f"http://{host}:{PORT}"
    proc = start_server(env, host=host, workers=1, log_name="browser-server-memory.log")
    contexts = []
    try:
        tabs = []
        for _ in range(2):
            ctx, page = _open(browser, f"http://{host}:{PORT}")
            contexts.append(ctx)
            _sign_in(page, "owner@emeraldcoast.demo")
            tabs.append(page)
        assert _count(tabs[0]) == _count(tabs[1]) > 0
        tabs[0].get_by_role("button", name=re.compile(r"^Notifications")).click()
        tabs[0].get_by_role("button", name="Mark all read").click()
        _expect_count(tabs[0], 0)
        _expect_count(tabs[1], 0)
        assert _not_reloaded(tabs[1])
    finally:
        for ctx in contexts:
            ctx.close()
        stop_server(proc)
