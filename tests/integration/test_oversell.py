"""Stock can't be oversold: concurrent checkouts race for the last units under row locks; stock is
released on cancel/reject and consumed on ship, with on hand / reserved / available consistent."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlmodel import create_engine

from reup_app.db import engine_kwargs, unit_of_work
from reup_app.errors import Conflict
from reup_app.models import Order, OrderLine
from reup_app.services.ordering import cart, cart_view, orders
from reup_app.services.ordering import checkout_flow as checkout_service
from tests.factories import make_lot, make_product
from tests.integration.orderkit import (
    advance,
    assert_stock_consistent,
    call,
    fresh,
    key,
    lot_row,
    make_buyer,
    make_seller,
    place_one,
    product_row,
    stock,
)

pytestmark = pytest.mark.mysql

D = Decimal


@pytest.fixture
def wide_engine(mysql_url):
    """An engine with a connection per thread, so all 50 buyers really hit the database at once."""
    kw = engine_kwargs(mysql_url)
    kw.update(pool_size=60, max_overflow=10, pool_timeout=60)
    eng = create_engine(mysql_url, **kw)
    yield eng
    eng.dispose()


def run_concurrently(fns):
    """Start every callable at the same instant; return [(result, exception)] in order."""
    out = [None] * len(fns)
    barrier = threading.Barrier(len(fns))

    def runner(i, fn):
        barrier.wait()
        try:
            out[i] = (fn(), None)
        except Exception as err:
            out[i] = (None, err)

    threads = [threading.Thread(target=runner, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a checkout hung"
    return out


@pytest.mark.parametrize("lot_sizes", [["10"], ["4", "3", "3"]], ids=["one-lot", "three-lots"])
def test_fifty_buyers_race_for_ten_units(engine, wide_engine, session, lot_sizes):
    seller = make_seller(session)
    product = make_product(session, seller.entity, unit_price=D("25.00"))
    lots = [make_lot(session, product, seller.license, D(q)) for q in lot_sizes]
    buyers = [make_buyer(session) for _ in range(50)]
    for b in buyers:  # every cart holds 1 unit (stock still shows 10)
        call(wide_engine, b.p["buyer"], cart.add_to_cart, product.id, "1")

    def checkout(b):
        def go():
            with unit_of_work(b.p["buyer"], engine=wide_engine) as s:
                return checkout_service.checkout(s, b.p["buyer"], buyer_license_id=b.license.id, idempotency_key=key())

        return go

    results = run_concurrently([checkout(b) for b in buyers])
    wins = [r for r, e in results if e is None]
    losses = [e for r, e in results if e is not None]
    assert len(wins) == 10
    assert len(losses) == 40
    assert all(isinstance(e, Conflict) for e in losses), {type(e).__name__ for e in losses}
    assert all(product.name in str(e) and "Only 0" in str(e) for e in losses)

    with fresh(engine) as s:
        sold = s.execute(
            select(func.count(OrderLine.id))
            .join(Order, Order.id == OrderLine.order_id)
            .where(OrderLine.product_id == product.id, Order.status == "submitted")
        ).scalar_one()
    assert sold == 10
    for lot in lots:
        row = lot_row(engine, lot.id)
        assert (row.quantity_reserved, row.quantity_available) == (row.quantity_on_hand, 0)
    assert sum(lot_row(engine, lot.id).quantity_on_hand for lot in lots) == 10
    assert product_row(engine, product.id).available_qty == 0
    assert_stock_consistent(engine, product.id)
    # the losers' carts are untouched; the winners' are empty
    winners = {w.orders[0].buyer_entity_id for w in wins}
    for b in buyers:
        left = call(engine, b.p["buyer"], cart_view.get_cart)
        assert left.item_count == (0 if b.id in winners else 1)

    # release on cancel (buyer) and reject (seller), consume on ship
    numbers = [w.orders[0].number for w in wins]
    by_number = {w.orders[0].number: next(b for b in buyers if b.id == w.orders[0].buyer_entity_id) for w in wins}
    for n in numbers[:2]:
        call(engine, by_number[n].p["buyer"], orders.transition, n, "cancel", idempotency_key=key())
    assert product_row(engine, product.id).available_qty == 2
    advance(engine, seller, numbers[2], "reject")
    assert product_row(engine, product.id).available_qty == 3
    advance(engine, seller, numbers[3], "accept", "fulfill", "ship")
    on_hand = sum(lot_row(engine, lot.id).quantity_on_hand for lot in lots)
    reserved = sum(lot_row(engine, lot.id).quantity_reserved for lot in lots)
    assert (on_hand, reserved) == (9, 6)
    assert product_row(engine, product.id).available_qty == 3
    assert_stock_consistent(engine, product.id)


def test_opposite_cart_orders_do_not_deadlock(engine, wide_engine, session):
    """Half the buyers hold A then B, half B then A: locks are taken in id order, so all succeed."""
    seller = make_seller(session)
    a, _ = stock(session, seller, qty="1000")
    b, _ = stock(session, seller, qty="1000")
    buyers = [make_buyer(session) for _ in range(20)]
    for i, buyer in enumerate(buyers):
        first, second = (a, b) if i % 2 else (b, a)
        call(wide_engine, buyer.p["buyer"], cart.add_to_cart, first.id, "1")
        call(wide_engine, buyer.p["buyer"], cart.add_to_cart, second.id, "2")

    def checkout(buyer):
        return lambda: call(
            wide_engine,
            buyer.p["buyer"],
            checkout_service.checkout,
            buyer_license_id=buyer.license.id,
            idempotency_key=key(),
        )

    results = run_concurrently([checkout(x) for x in buyers])
    assert [e for _, e in results if e is not None] == []
    assert product_row(engine, a.id).available_qty == 1000 - 2 * 10 - 1 * 10
    assert product_row(engine, b.id).available_qty == 1000 - 1 * 10 - 2 * 10
    assert_stock_consistent(engine, a.id)
    assert_stock_consistent(engine, b.id)


def test_concurrent_checkouts_cancels_and_shipments_keep_stock_consistent(engine, wide_engine, session):
    seller = make_seller(session)
    product, lots = stock(session, seller, qty="30", lots=2)
    buyers = [make_buyer(session) for _ in range(12)]
    placed = [(bu, place_one(engine, bu, product, "2")) for bu in buyers[:6]]
    for _bu, number in placed[3:]:
        advance(engine, seller, number, "accept", "fulfill")
    for bu in buyers[6:]:
        call(engine, bu.p["buyer"], cart.add_to_cart, product.id, "3")

    work = [
        lambda bu=bu, n=n: call(wide_engine, bu.p["buyer"], orders.transition, n, "cancel", idempotency_key=key())
        for bu, n in placed[:3]
    ]
    work += [
        lambda n=n: call(wide_engine, seller.owner, orders.transition, n, "ship", idempotency_key=key())
        for _, n in placed[3:]
    ]
    work += [
        lambda bu=bu: call(
            wide_engine,
            bu.p["buyer"],
            checkout_service.checkout,
            buyer_license_id=bu.license.id,
            idempotency_key=key(),
        )
        for bu in buyers[6:]
    ]
    results = run_concurrently(work)
    assert [e for _, e in results if e is not None] == []
    on_hand = sum(lot_row(engine, lot.id).quantity_on_hand for lot in lots)
    reserved = sum(lot_row(engine, lot.id).quantity_reserved for lot in lots)
    assert on_hand == 60 - 3 * 2  # three orders of 2 shipped
    assert reserved == 6 * 3  # six new orders of 3; the cancelled ones released theirs
    assert product_row(engine, product.id).available_qty == on_hand - reserved
    assert_stock_consistent(engine, product.id)


def test_checkout_of_more_than_available_names_the_product(engine, session):
    seller = make_seller(session)
    product, _ = stock(session, seller, qty="5")
    buyer = make_buyer(session)
    call(engine, buyer.p["buyer"], cart.add_to_cart, product.id, "5")
    other = make_buyer(session)
    place_one(engine, other, product, "2")
    with pytest.raises(Conflict) as err:
        call(
            engine,
            buyer.p["buyer"],
            checkout_service.checkout,
            buyer_license_id=buyer.license.id,
            idempotency_key=key(),
        )
    assert f"Only 3 each of {product.name} available" in str(err.value)
    assert product_row(engine, product.id).available_qty == 3
    assert_stock_consistent(engine, product.id)
