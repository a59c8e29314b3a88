"""Product detail service and ProductState: visibility, buyer price, lots, add-to-cart, live reload."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from reup_app.errors import NotFound
from reup_app.events.core import DomainEvent
from reup_app.models import CartItem
from reup_app.services.catalog import product_detail
from reup_app.services.compliance.license_calendar import license_today
from reup_app.state.product import ProductState
from tests.factories import make_lot
from tests.integration.orderkit import call, fresh, make_buyer, make_seller, make_tier, stock
from tests.integration.statekit import Tab, email_of, frontend_json, run

D = Decimal


def test_detail_shows_public_products_with_buyer_price_and_sellable_lots(session, engine):
    seller, buyer = make_seller(session), make_buyer(session)
    product, (lot,) = stock(session, seller, qty="40", price="20.00", min_order_qty=D("2"))
    lot.batch_number, lot.lab_test_state, lot.lab_tested_on = "B-77", "passed", date(2026, 10, 1)
    session.add(lot)
    session.commit()
    make_lot(session, product, seller.license, D("5"), lab_test_state="failed")
    yesterday = license_today(seller.license.state) - timedelta(days=1)  # in the license's state
    make_lot(session, product, seller.license, D("5"), expires_on=yesterday)
    make_tier(session, seller, buyer, {product.id: "17.50"})

    detail = call(engine, buyer.p["buyer"], product_detail.get_product_detail, product.id)
    assert detail.unit_price == D("17.50") and detail.list_price == D("20.00") and detail.can_order
    assert [x.package_label for x in detail.lots] == [lot.package_label]  # failed and expired lots hidden
    assert detail.lots[0].batch_number == "B-77" and detail.lots[0].lab_test_state == "passed"
    anonymous = call(engine, None, product_detail.get_product_detail, product.id)
    assert anonymous.unit_price == D("20.00") and not anonymous.can_order
    assert not call(engine, buyer.p["viewer"], product_detail.get_product_detail, product.id).can_order
    assert not call(engine, seller.owner, product_detail.get_product_detail, product.id).can_order

    product.listing_state = "internal"
    session.add(product)
    session.commit()
    with pytest.raises(NotFound):
        call(engine, buyer.p["buyer"], product_detail.get_product_detail, product.id)
    hidden_seller = make_seller(session, status="suspended")
    other, _ = stock(session, hidden_seller)
    with pytest.raises(NotFound):
        call(engine, buyer.p["buyer"], product_detail.get_product_detail, other.id)


def test_product_state_loads_from_the_url_and_adds_to_cart(session, engine):
    seller, buyer = make_seller(session), make_buyer(session)
    product, _ = stock(session, seller, qty="30", min_order_qty=D("3"))
    tab = Tab().at(f"/products/{product.id}")
    page = tab.state(ProductState)

    run(page.load())
    assert page.product["name"] == product.name and page.available == "30" and page.quantity == "3"
    run(page.add_to_cart())  # not signed in
    assert page.cart_error == "Please sign in to continue." and page.cart_message == ""

    tab.sign_in(email_of(session, buyer.p["buyer"]))
    run(page.load())
    assert page.can_order
    page.set_quantity("2")
    run(page.add_to_cart())
    assert "minimum order" in page.cart_error
    page.set_quantity("4")
    run(page.add_to_cart())
    assert page.cart_error == "" and "4 in cart" in page.cart_message
    with fresh(engine) as s:
        rows = s.execute(select(CartItem).where(CartItem.product_id == product.id)).scalars().all()
    assert [(r.user_id, r.quantity) for r in rows] == [(buyer.p["buyer"].user_id, D("4"))]
    assert "password" not in frontend_json(page).lower()


def test_viewer_is_refused_and_bad_ids_get_a_clear_message(session):
    seller, buyer = make_seller(session), make_buyer(session)
    product, _ = stock(session, seller)
    tab = Tab().sign_in(email_of(session, buyer.p["viewer"])).at(f"/products/{product.id}")
    page = tab.state(ProductState)
    run(page.load())
    run(page.add_to_cart())
    assert page.cart_error == "You are not allowed to do that."
    for bad in ("/products/abc", "/products/99999999999999", f"/products/{product.id + 10_000_000}"):
        tab.at(bad)
        run(page.load())
        assert page.error == product_detail.NOT_AVAILABLE and page.product == {}


def test_live_listener_reloads_only_for_this_products_stock(session, engine):
    seller = make_seller(session)
    product, (lot,) = stock(session, seller, qty="10")
    other, _ = stock(session, seller, qty="10")
    page = Tab().at(f"/products/{product.id}").state(ProductState)
    run(page.load())
    assert page.available == "10"
    make_lot(session, product, seller.license, D("5"))  # stock moved behind the page's back

    run(page._on_domain_event(DomainEvent("inventory.changed", (seller.id,), {"product_id": other.id})))
    run(page._on_domain_event(DomainEvent("order.submitted", (seller.id,), {"product_id": product.id})))
    assert page.available == "10"  # events about something else change nothing
    run(page._on_domain_event(DomainEvent("inventory.changed", (seller.id,), {"product_id": product.id})))
    assert page.available == "15" and len(page.lots) == 2
