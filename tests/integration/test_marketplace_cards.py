"""Marketplace cards: the seller filter / storefront, pictures, and Add to cart in units or cases."""

from __future__ import annotations

from decimal import Decimal

import pytest

from reup_app.services.ordering import cart_view
from reup_app.state.catalog import CatalogState
from tests.integration.orderkit import call, make_buyer, make_seller, stock
from tests.integration.statekit import Tab, run
from tests.integration.test_cart_page import email_of

pytestmark = pytest.mark.mysql


def test_storefront_and_quick_add_in_units_or_cases(session, engine):
    seller = make_seller(session)
    product, _ = stock(session, seller, qty="100", price="3.00", name="Card Gummies", case_size=10)
    buyer = make_buyer(session)
    page = Tab().sign_in(email_of(session, buyer.p["buyer"])).at("/marketplace", {"seller": str(seller.id)})
    page = page.state(CatalogState)
    run(page.load())
    assert page.error == "" and page.can_order
    assert page.seller == str(seller.id) and page.seller_name == seller.entity.name
    [card] = page.items
    assert (card["name"], card["image"], card["case_size"], card["case"]) == (
        "Card Gummies",
        "",
        "10",
        "$30.00 / case of 10",
    )
    run(page.quick_add({"product_id": card["id"], "qty": "2", "per": "case"}))
    assert page.added == {card["id"]: "Added 20 units (20 in cart)."}
    run(page.quick_add({"product_id": card["id"], "qty": "1", "per": "unit"}))
    assert page.added == {card["id"]: "Added 1 unit (21 in cart)."}
    run(page.quick_add({"product_id": card["id"], "qty": "500", "per": "unit"}))
    assert page.added == {} and "available" in page.add_errors[card["id"]]
    lines = call(engine, buyer.p["buyer"], cart_view.get_cart).groups[0].lines
    assert [(ln.product_id, ln.quantity) for ln in lines] == [(product.id, Decimal("21.000"))]
