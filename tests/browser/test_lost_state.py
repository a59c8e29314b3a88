"""A tab whose server-side state was lost while its socket stayed open (Redis restarted empty, or
the state expired): the next click restores the session from the cookie and reloads the page,
signed in, instead of answering "Please sign in to continue." (reup_app/state/lost_state.py).
And a checkout whose answer never reached the tab is confirmed by the next cart load."""

from __future__ import annotations

import re
import time

import redis
from playwright.sync_api import expect

from tests.browser.admin_kit import sign_in
from tests.browser.realtime_kit import submit_order, use_app_environment
from tests.browser.seeddb import rows
from tests.dbutil import REDIS_URL

BUYER = "viewer@greenleaf.demo"


def _drop_tab_state(token: str) -> int:
    """Delete the tab's Reflex state from Redis, as a Redis restart does, once no worker holds it
    in memory (the opportunistic lock's lease, `<token>_lock`, is gone)."""
    client = redis.Redis.from_url(REDIS_URL)
    deadline = time.monotonic() + 30
    while client.exists(f"{token}_lock") and time.monotonic() < deadline:
        time.sleep(0.25)
    assert not client.exists(f"{token}_lock"), "a worker kept the tab's state leased for 30 s"
    keys = list(client.scan_iter(match=f"{token}_*", count=500))
    if keys:
        client.delete(*keys)
    return len(keys)


def test_a_click_after_the_tabs_state_was_lost_reloads_the_page_signed_in(page):
    sign_in(page, BUYER)
    page.goto("/orders")
    expect(page.locator("tbody tr").first).to_be_visible()
    token = page.evaluate("window.sessionStorage.getItem('token')")
    assert token
    page.evaluate("window.__before_loss = true")

    assert _drop_tab_state(token) > 0

    page.get_by_label("Search orders").fill("ORD")  # an event needing the sign-in the server forgot
    page.wait_for_function("window.__before_loss === undefined", timeout=20_000)  # the page reloaded
    expect(page).to_have_url(re.compile(r"/orders/?$"))
    expect(page.get_by_test_id("signed-in-user")).to_have_text(BUYER)
    expect(page.locator("tbody tr").first).to_be_visible()
    expect(page.get_by_text("Please sign in to continue.")).to_have_count(0)
    page.get_by_label("Search orders").fill("no-such-order-xyz")  # and the page works again
    expect(page.get_by_text("No orders match.")).to_be_visible(timeout=10_000)


def test_the_cart_confirms_a_checkout_whose_answer_the_tab_never_got(page, demo_db_url):
    """The key the cart put in sessionStorage before its checkout ran comes back with the next
    hydrate; the cart page then shows that checkout's orders once."""
    key, numbers = _a_checkout_of("buyer@greenleaf.demo", demo_db_url)
    sign_in(page, "buyer@greenleaf.demo")
    page.goto("/cart")
    expect(page.get_by_role("heading", name="Cart")).to_be_visible()
    # The cart's first load gives the tab a fresh key and writes it to sessionStorage; wait for that
    # write, or it can land after ours and replace it (a CI run saw exactly that).
    page.wait_for_function("!!window.sessionStorage.getItem('reup_checkout_key')", timeout=20_000)
    _cart_loaded(page)
    page.evaluate("key => window.sessionStorage.setItem('reup_checkout_key', key)", key)
    page.reload()
    n = len(numbers)
    confirmation = page.get_by_test_id("checkout-confirmation")
    expect(confirmation).to_contain_text(f"Placed {n} order{'s' if n != 1 else ''}.")
    for number in numbers:
        expect(confirmation.get_by_role("link", name=number)).to_be_visible()
    page.reload()  # shown once
    expect(page.get_by_role("heading", name="Cart")).to_be_visible()
    _cart_loaded(page)
    expect(confirmation).to_have_count(0)


def _cart_loaded(page) -> None:
    loaded = page.get_by_text("Your cart is empty.").or_(page.get_by_role("button", name="Place orders"))
    expect(loaded.first).to_be_visible()


def _a_checkout_of(buyer_email: str, url: str) -> tuple[str, list[str]]:
    """A checkout placed just now through the services (as another tab would): its key and orders."""
    use_app_environment(url)
    number = submit_order(buyer_email, "Pacific Bloom Distribution")
    (key,) = rows(
        url,
        "SELECT e.idempotency_key FROM order_events e JOIN orders o ON o.id = e.order_id "
        "WHERE o.number = :number AND e.kind = 'submitted'",
        number=number,
    )[0]
    return key, [number]
