"""The order flow end to end in real Chromium: a retailer orders from two wholesalers in one cart,
then a wholesaler accepts, fulfills and ships its order while the retailer watches the status."""

from __future__ import annotations

import math
import re
from decimal import Decimal

from playwright.sync_api import expect

from tests.browser.admin_kit import sign_in
from tests.browser.seeddb import rows

BUYER = "buyer@greenleaf.demo"
SELLER = "sales@pacificbloom.demo"


def _orderable(url: str, seller_name: str) -> tuple[int, str, str]:
    """(product id, name, quantity) of a product of `seller_name` that alone meets its minimum order."""
    found = rows(
        url,
        """
        SELECT p.id, p.name, p.unit_price, p.min_order_qty, p.available_qty, e.min_order_amount
        FROM products p JOIN entities e ON e.id = p.entity_id
        WHERE e.name = :seller AND p.listing_state = 'available' AND p.unit_of_measure = 'each'
          AND p.available_qty > 0
          AND NOT EXISTS (SELECT 1 FROM inventory_lots l WHERE l.product_id = p.id
                          AND (l.lab_test_state = 'failed' OR l.expires_on < CURRENT_DATE))
        ORDER BY p.unit_price DESC, p.id""",
        seller=seller_name,
    )
    for pid, name, price, moq, available, minimum in found:
        qty = max(Decimal(moq), Decimal(math.ceil(Decimal(minimum) * Decimal("1.15") / Decimal(price))))
        if qty <= Decimal(available):
            return pid, name, str(int(qty))
    raise AssertionError(f"no product of {seller_name} in the seed can meet its minimum order alone")


def _add_to_cart(page, product_id: int, name: str, qty: str) -> None:
    page.goto(f"/products/{product_id}")
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    expect(page.get_by_test_id("lot-row").first).to_be_visible()
    page.get_by_label("Quantity").fill(qty)
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("status")).to_contain_text("Added to your cart")


def _expect_status(page, label: str) -> None:
    """The other party's open order page shows the new status pushed over its socket: no reload."""
    expect(page.get_by_test_id("order-status")).to_have_text(label, timeout=10000)


def test_retailer_orders_from_two_sellers_and_seller_ships(browser, app_url, demo_db_url):
    pb = _orderable(demo_db_url, "Pacific Bloom Distribution")
    ec = _orderable(demo_db_url, "Emerald Coast Supply Co.")
    before = {r[0] for r in rows(demo_db_url, "SELECT number FROM orders")}

    buyer_ctx = browser.new_context(base_url=app_url, viewport={"width": 1280, "height": 900})
    seller_ctx = browser.new_context(base_url=app_url, viewport={"width": 1280, "height": 900})
    try:
        buyer = buyer_ctx.new_page()
        buyer.set_default_timeout(15000)
        sign_in(buyer, BUYER)

        # The marketplace card links to the product page.
        buyer.goto("/marketplace")
        buyer.get_by_label("Search").fill(pb[1])
        buyer.get_by_test_id("product-card").locator(f'a[href="/products/{pb[0]}"]').click()
        expect(buyer).to_have_url(re.compile(rf"/products/{pb[0]}/?$"))
        expect(buyer.get_by_test_id("product-seller")).to_contain_text("Pacific Bloom Distribution")

        _add_to_cart(buyer, *pb)
        _add_to_cart(buyer, *ec)

        buyer.goto("/cart")
        groups = buyer.get_by_test_id("cart-group")
        expect(groups).to_have_count(2)
        expect(groups.filter(has_text="Pacific Bloom Distribution")).to_have_count(1)
        expect(groups.filter(has_text="Emerald Coast Supply Co.")).to_have_count(1)
        emerald = groups.filter(has_text="Emerald Coast Supply Co.")
        # Editing a quantity re-prices the seller's part of the cart.
        pacific = groups.filter(has_text="Pacific Bloom Distribution")
        subtotal = pacific.get_by_test_id("group-subtotal")
        before_edit = subtotal.inner_text()
        pacific.get_by_label("Quantity").fill(str(int(pb[2]) + 1))
        pacific.get_by_label("Quantity").press("Tab")
        expect(subtotal).not_to_have_text(before_edit)
        emerald.get_by_label("Payment terms").select_option(label="Net 30")
        # A double click must never place the orders twice (one idempotency key per cart view).
        buyer.get_by_role("button", name="Place orders").dblclick()
        # The cart confirms with the count and a link per order (one per seller license).
        expect(buyer.get_by_test_id("checkout-confirmation")).to_contain_text(re.compile(r"Placed \d+ orders"))

        new = rows(
            demo_db_url,
            """
            SELECT o.number, s.name, o.status, o.payment_terms FROM orders o
            JOIN entities s ON s.id = o.seller_entity_id JOIN entities b ON b.id = o.buyer_entity_id
            WHERE b.name = 'Greenleaf Dispensary' ORDER BY o.id""",
        )
        placed = [r for r in new if r[0] not in before]
        assert {r[1] for r in placed} == {"Emerald Coast Supply Co.", "Pacific Bloom Distribution"}, placed
        expect(buyer.get_by_test_id("placed-order")).to_have_count(len(placed))
        assert all(r[2] == "submitted" for r in placed)
        assert next(r[3] for r in placed if r[1].startswith("Emerald")) == "net_30"
        pb_number = next(r[0] for r in placed if r[1].startswith("Pacific"))
        for number, *_ in placed:
            expect(buyer.get_by_role("link", name=number)).to_be_visible()

        buyer.get_by_role("link", name=pb_number).click()
        expect(buyer.get_by_role("heading", name=f"Order {pb_number}")).to_be_visible()
        _expect_status(buyer, "Submitted")
        expect(buyer.get_by_role("button", name="Cancel order")).to_be_visible()

        seller = seller_ctx.new_page()
        seller.set_default_timeout(15000)
        sign_in(seller, SELLER)
        seller.goto(f"/orders/{pb_number}")
        expect(seller.get_by_test_id("order-status")).to_have_text("Submitted")

        for button, label in (("Accept", "Accepted"), ("Fulfill", "Fulfilled"), ("Ship", "Shipped")):
            seller.get_by_role("button", name=button, exact=True).click()
            expect(seller.get_by_test_id("order-status")).to_have_text(label)
            _expect_status(buyer, label)

        # After fulfillment the lines show their package labels; shipping issued an invoice.
        expect(seller.get_by_test_id("order-line").first).to_contain_text(re.compile(r"[A-Z0-9]{24}"))
        with buyer.expect_download() as download:
            buyer.get_by_role("button", name="Download PDF").click()
        invoice = "INV-" + pb_number.split("-", 1)[1]
        assert download.value.suggested_filename == f"{invoice}.pdf"
        with open(download.value.path(), "rb") as pdf:
            assert pdf.read(5) == b"%PDF-"

        # The order's message thread reaches the other side.
        buyer.get_by_label("Message").fill("Please call before delivery.")
        buyer.get_by_role("button", name="Send").click()
        expect(buyer.get_by_test_id("order-message")).to_contain_text("Please call before delivery.")
        expect(seller.get_by_test_id("order-message")).to_contain_text(
            "Please call before delivery.", timeout=10000
        )  # pushed, no reload
        expect(buyer.get_by_test_id("timeline-event")).to_have_count(4)
        expect(buyer.get_by_role("button", name="Cancel order")).to_have_count(0)
    finally:
        buyer_ctx.close()
        seller_ctx.close()
