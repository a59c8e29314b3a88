"""What is shown is what can be bought: a seller's licenses split an order (one order per seller
license), the buyer's tier price on cards and the product page, case prices at that price, and
reorder saying what it trimmed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from reup_app.errors import Conflict
from reup_app.services.catalog import product_detail, search
from reup_app.services.catalog.catalog_query import CatalogQuery
from reup_app.services.ordering import cart, cart_view, checkout_flow, order_views, reordering
from tests.factories import make_license, make_lot, make_product
from tests.integration.orderkit import call, key, make_buyer, make_seller, make_tier, place, product_row

pytestmark = pytest.mark.mysql

D = Decimal


@pytest.fixture
def two_license_seller(session):
    seller = make_seller(session)
    second = make_license(session, seller.entity, state=seller.license.state)
    product = make_product(session, seller.entity, unit_price=D("10.00"), unit_of_measure="each")
    make_lot(session, product, seller.license, D("146"))
    make_lot(session, product, second, D("192"))
    session.refresh(product)
    return seller, second, product


def test_what_the_card_shows_across_two_licenses_can_be_ordered_as_one_order_per_license(
    engine, session, two_license_seller
):
    seller, second, product = two_license_seller
    buyer = make_buyer(session)
    assert product_row(engine, product.id).available_qty == D("338")
    call(engine, buyer.p["buyer"], cart.add_to_cart, product.id, "228")
    group = call(engine, buyer.p["buyer"], cart_view.get_cart, buyer.license.id).groups[0]
    assert group.can_checkout and group.lines[0].issue is None
    # the cart says how checkout splits it: the bigger license first, the rest from the other
    assert group.license_orders == [
        f"License {second.number}: 192 {product.name}",
        f"License {seller.license.number}: 36 {product.name}",
    ]
    result = call(
        engine,
        buyer.p["buyer"],
        checkout_flow.checkout,
        buyer_license_id=buyer.license.id,
        idempotency_key=key(),
    )
    assert len(result.orders) == 2 and result.skipped == []
    shipped = {}
    for summary in result.orders:
        detail = call(engine, buyer.p["buyer"], order_views.get_order, summary.number)
        shipped[detail.seller_license_id] = sum((ln.quantity for ln in detail.lines), D(0))
    assert shipped == {second.id: D("192"), seller.license.id: D("36")}
    assert product_row(engine, product.id).available_qty == D("110")


def test_more_than_the_licenses_hold_together_is_an_issue_in_the_cart_and_refused_at_checkout(
    engine, session, two_license_seller
):
    seller, _second, product = two_license_seller
    buyer = make_buyer(session)
    call(engine, buyer.p["buyer"], cart.add_to_cart, product.id, "300")
    other = make_buyer(session)
    place(engine, other, [(product, "100")])  # 238 left over both licenses
    group = call(engine, buyer.p["buyer"], cart_view.get_cart, buyer.license.id).groups[0]
    assert not group.can_checkout and group.license_orders == []
    assert group.lines[0].issue and "238" in group.lines[0].issue
    with pytest.raises(Conflict, match=f"Only 238 each of {product.name} available"):
        place(engine, buyer, [])


def test_a_license_in_another_state_does_not_count(engine, session):
    seller = make_seller(session)
    other_state = make_license(session, seller.entity, state="CO")
    product = make_product(session, seller.entity, unit_price=D("10.00"))
    make_lot(session, product, seller.license, D("5"))
    make_lot(session, product, other_state, D("50"))
    buyer = make_buyer(session)
    call(engine, buyer.p["buyer"], cart.add_to_cart, product.id, "20")
    line = call(engine, buyer.p["buyer"], cart_view.get_cart, buyer.license.id).groups[0].lines[0]
    assert line.issue == f"Only 5 each can ship to your license in {buyer.license.state}."


def test_cards_and_product_page_show_the_buyers_tier_price_and_case_price(engine, session):
    seller = make_seller(session)
    product = make_product(session, seller.entity, unit_price=D("12.50"), case_size=10, case_price=D("110.00"))
    make_lot(session, product, seller.license, D("100"))
    buyer, stranger = make_buyer(session), make_buyer(session)
    make_tier(session, seller, buyer, {product.id: "10.00"})
    query = CatalogQuery.parse(text=product.name, page_size=24)

    def card(principal):
        items = call(engine, principal, search.search_catalog, query).items
        return next((i.unit_price, i.case_price) for i in items if i.id == product.id)

    assert card(buyer.p["buyer"]) == (D("10.00"), D("100.00"))
    assert card(stranger.p["buyer"]) == (D("12.50"), D("125.00"))
    detail = call(engine, buyer.p["buyer"], product_detail.get_product_detail, product.id)
    assert (detail.unit_price, detail.list_price, detail.case_price) == (D("10.00"), D("12.50"), D("100.00"))


def test_reorder_says_which_lines_it_trimmed(engine, session):
    seller = make_seller(session)
    product = make_product(session, seller.entity, unit_price=D("10.00"))
    make_lot(session, product, seller.license, D("10"))
    buyer, other = make_buyer(session), make_buyer(session)
    number = place(engine, buyer, [(product, "6")]).orders[0].number
    place(engine, other, [(product, "3")])  # 1 left
    result = call(engine, buyer.p["buyer"], reordering.reorder, number)
    assert [(a.product_id, a.quantity) for a in result.added] == [(product.id, D("1.000"))]
    assert result.trimmed == [{"sku": product.sku, "name": product.name, "ordered": "6", "added": "1"}]
