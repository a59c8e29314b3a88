"""Buying as a newcomer meets it (issue 17, items 1-4 and 9) in real Chromium: the cart splits a
seller's part per seller license and says so, Place orders confirms with links, cards show pictures
and order straight from the card, out of stock is not offered, the buyer's cancel asks for a reason,
the message box counts, and a signed-out visitor at 127.0.0.1 gets a working page with no restore
request."""

from __future__ import annotations

import math
import re
from decimal import Decimal

from playwright.sync_api import expect
from sqlalchemy import create_engine, text

from tests.browser.admin_kit import sign_in
from tests.browser.conftest import PORT
from tests.browser.seeddb import rows

BUYER = "buyer@canopy.demo"  # no other browser test uses this retailer's cart


def _split_product(url: str) -> tuple[int, str, str]:
    """A product held at two licenses of its seller, and a quantity only both together cover."""
    held = rows(
        url,
        """
        SELECT p.id, p.name, p.unit_price, p.min_order_qty, e.min_order_amount, l.license_id,
               SUM(l.quantity_available)
        FROM products p JOIN entities e ON e.id = p.entity_id JOIN inventory_lots l ON l.product_id = p.id
        WHERE p.listing_state = 'available' AND p.unit_of_measure = 'each' AND l.quantity_available > 0
          AND l.lab_test_state <> 'failed' AND l.on_hold = 0 AND (l.expires_on IS NULL OR l.expires_on > CURRENT_DATE)
        GROUP BY p.id, p.name, p.unit_price, p.min_order_qty, e.min_order_amount, l.license_id
        ORDER BY p.id, l.license_id""",
    )
    by_product: dict[int, list] = {}
    for pid, name, price, moq, minimum, _lic, qty in held:
        by_product.setdefault(pid, []).append((name, Decimal(price), Decimal(moq), Decimal(minimum), Decimal(qty)))
    for pid, parts in by_product.items():
        if len(parts) < 2:
            continue
        name, price, moq, minimum, _ = parts[0]
        biggest, total = max(p[4] for p in parts), sum(p[4] for p in parts)
        qty = max(biggest + 1, moq, Decimal(math.ceil(minimum / price)))
        if qty <= total:
            return pid, name, str(int(qty))
    raise AssertionError("the demo seed has no product held at two licenses")


def test_cart_splits_per_seller_license_and_place_orders_confirms_with_links(page, demo_db_url):
    pid, name, qty = _split_product(demo_db_url)
    sign_in(page, BUYER)
    page.goto(f"/products/{pid}")
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    page.get_by_label("Quantity").fill(qty)
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("status").filter(has_text="Added to your cart")).to_be_visible()

    page.goto("/cart")
    split = page.get_by_test_id("license-split")
    expect(split).to_contain_text("Ships as 2 orders, one per seller license")
    page.get_by_role("button", name="Place orders").click()
    confirmation = page.get_by_test_id("checkout-confirmation")
    expect(confirmation).to_contain_text("Placed 2 orders.")
    links = page.get_by_test_id("placed-order").get_by_role("link")
    expect(links).to_have_count(2)
    number = links.first.inner_text()
    links.first.click()
    expect(page.get_by_role("heading", name=f"Order {number}")).to_be_visible()

    # The buyer's cancel asks for confirmation and a reason.
    page.get_by_role("button", name="Cancel order").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text(f"Cancel order {number}?")
    dialog.get_by_test_id("confirm-cancel").click()
    expect(dialog.get_by_role("alert")).to_have_text("Tell the seller why you are cancelling the order.")
    dialog.get_by_label("Why are you cancelling? (required)").fill("Ordered for the wrong store")
    dialog.get_by_test_id("confirm-cancel").click()
    expect(page.get_by_test_id("order-status")).to_have_text("Cancelled")
    expect(page.get_by_role("alertdialog")).to_have_count(0)

    # Messages count down in the browser and stop at the limit; a long word wraps.
    box = page.get_by_label("Message")
    box.fill("x" * 5000)
    expect(page.get_by_test_id("message-counter")).to_have_text("4000 / 4000")
    page.get_by_role("button", name="Send").click()
    message = page.get_by_test_id("order-message").last
    expect(message).to_contain_text("xxxx")
    assert message.bounding_box()["width"] <= page.viewport_size["width"]


def test_cards_show_pictures_and_order_straight_from_the_card(page, demo_db_url):
    (seller_id, seller_name), *_ = rows(
        demo_db_url, "SELECT id, name FROM entities WHERE kind = 'wholesaler' ORDER BY name LIMIT 1"
    )
    sign_in(page, BUYER)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"/marketplace?seller={seller_id}&in_stock=1")
    expect(page.get_by_test_id("storefront-name")).to_have_text(seller_name, timeout=30000)
    assert problems == [], problems
    card = page.get_by_test_id("product-card").first
    picture = card.get_by_test_id("product-image")
    expect(picture).to_be_visible()
    assert picture.get_attribute("loading") == "lazy"
    # visible before its bytes arrive (a lazy image; the thumbnail is made on first request): wait
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=picture.element_handle())
    card.get_by_role("button", name=re.compile("^Add to cart: ")).click()
    expect(card.get_by_role("status")).to_contain_text("Added")
    expect(card.get_by_role("status")).to_contain_text("in cart")


def test_out_of_stock_is_not_offered(page, demo_db_url):
    found = rows(
        demo_db_url,
        """SELECT p.id, p.name FROM products p JOIN entities e ON e.id = p.entity_id
           WHERE p.listing_state = 'available' AND p.available_qty = 0 AND e.status = 'approved' LIMIT 1""",
    )
    if not found:  # make one: a listed product whose stock is gone
        (pid, name), *_ = rows(
            demo_db_url,
            "SELECT id, name FROM products WHERE listing_state = 'backorder' AND available_qty = 0 LIMIT 1",
        )
        engine = create_engine(demo_db_url)
        with engine.begin() as conn:
            conn.execute(text("UPDATE products SET listing_state = 'available' WHERE id = :pid"), {"pid": pid})
        engine.dispose()
    else:
        pid, name = found[0]
    sign_in(page, BUYER)
    page.goto(f"/products/{pid}")
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    expect(page.get_by_test_id("listing-state")).to_have_text("Out of stock")
    expect(page.get_by_test_id("product-availability")).to_have_text("Out of stock")
    expect(page.get_by_role("button", name="Add to cart")).to_have_count(0)


def test_signed_out_visitor_at_127_0_0_1_gets_a_live_page_and_no_restore_request(browser, app_url):
    context = browser.new_context(base_url=f"http://127.0.0.1:{PORT}", viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.set_default_timeout(15000)
        asked: list[str] = []
        page.on("request", lambda r: asked.append(r.url) if "/api/auth/restore" in r.url else None)
        page.goto("/marketplace")
        # the data came over the socket (a loaded machine can take a while on the first page)
        expect(page.get_by_test_id("product-card").first).to_be_visible(timeout=30000)
        page.goto("/orders")  # a protected page sends a signed-out visitor to sign in, still no restore call
        expect(page).to_have_url(re.compile(r"/login"))
        assert asked == []
    finally:
        context.close()
