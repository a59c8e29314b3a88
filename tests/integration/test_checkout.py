"""Cart and checkout: split per seller, minimums, payment terms, holds, idempotent retries,
price tiers, tax, and the validation of every cart change."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from reup_app.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from reup_app.models import Order, OrderEvent
from reup_app.models.types import utcnow
from reup_app.services.billing import payments, tax
from reup_app.services.ordering import cart, cart_view, checkout_flow, order_views, reordering
from tests.factories import make_license
from tests.integration.orderkit import (
    EventLog,
    call,
    db_state,
    fresh,
    key,
    make_buyer,
    make_seller,
    make_tier,
    order_row,
    place,
    place_one,
    product_row,
    stock,
)

pytestmark = pytest.mark.mysql

D = Decimal


@pytest.fixture
def shop(session):
    class Shop:
        a = make_seller(session, terms="cod,net_30", min_order_amount="50")
        b = make_seller(session, terms="prepay")
        buyer = make_buyer(session)

    s = Shop()
    s.pa, s.lots_a = stock(session, s.a, qty="100", price="12.50")
    s.pa2, _ = stock(session, s.a, qty="100", price="4.00")
    s.pb, s.lots_b = stock(session, s.b, qty="100", price="7.00")
    return s


def _fill(engine, shop, items):
    for product, qty in items:
        call(engine, shop.buyer.p["buyer"], cart.add_to_cart, product.id, qty)


def _checkout(engine, shop, **kw):
    kw.setdefault("idempotency_key", key())
    return call(engine, shop.buyer.p["buyer"], checkout_flow.checkout, buyer_license_id=shop.buyer.license.id, **kw)


def _order_count(engine, buyer) -> int:
    with fresh(engine) as s:
        return s.execute(select(func.count(Order.id)).where(Order.buyer_entity_id == buyer.id)).scalar_one()


def test_cart_with_two_sellers_becomes_two_orders(engine, shop):
    _fill(engine, shop, [(shop.pa, "4"), (shop.pa2, "1"), (shop.pb, "3")])
    start = utcnow() + timedelta(days=2)
    with EventLog() as log:
        result = _checkout(
            engine,
            shop,
            choices={
                str(shop.a.id): {
                    "payment_terms": "net_30",
                    "notes": "  Back door please  ",
                    "requested_delivery_start": start.isoformat(),
                    "requested_delivery_end": (start + timedelta(hours=4)).isoformat(),
                },
                shop.b.id: {"payment_terms": "prepay", "delivery_preferences": "Deliver on Wednesdays"},
            },
        )
    assert not result.replayed
    by_seller = {o.seller_entity_id: o for o in result.orders}
    assert set(by_seller) == {shop.a.id, shop.b.id}
    oa, ob = by_seller[shop.a.id], by_seller[shop.b.id]
    assert (oa.subtotal, oa.total, oa.line_count, oa.status, oa.payment_terms) == (
        D("54.00"),
        D("54.00"),
        2,
        "submitted",
        "net_30",
    )
    assert (ob.subtotal, ob.line_count, ob.payment_terms) == (D("21.00"), 1, "prepay")
    for o in result.orders:
        assert o.number.startswith("RU-") and len(o.number) >= 9 and o.number[3:].isdigit()
    assert oa.number != ob.number
    row = order_row(engine, oa.number)
    assert (row.notes, row.seller_license_id, row.buyer_license_id) == (
        "Back door please",
        shop.a.license.id,
        shop.buyer.license.id,
    )
    assert row.requested_delivery_start is not None and row.submitted_at is not None
    assert order_row(engine, ob.number).delivery_preferences == "Deliver on Wednesdays"
    assert call(engine, shop.buyer.p["buyer"], cart_view.get_cart).item_count == 0
    assert product_row(engine, shop.pa.id).available_qty == 96
    assert product_row(engine, shop.pb.id).available_qty == 97
    submitted = log.of("order.submitted")
    assert {e.payload["order_number"] for e in submitted} == {oa.number, ob.number}
    assert all(set(e.entity_ids) == {shop.buyer.id, e.payload["seller_entity_id"]} for e in submitted)
    inv = log.of("inventory.changed")
    assert sorted(pid for e in inv for pid in e.payload["product_ids"]) == sorted([shop.pa.id, shop.pa2.id, shop.pb.id])
    assert len(inv) == 2  # one event per seller, however many of its products changed
    assert all(e.payload["public"] is True and e.entity_ids for e in inv)
    # the seller sees its own order only
    page = call(engine, shop.a.owner, order_views.list_orders, role_side="seller")
    assert [o.number for o in page.items] == [oa.number]


def test_below_a_sellers_minimum_is_refused_and_nothing_changes(engine, shop):
    _fill(engine, shop, [(shop.pa, "2")])  # 25.00 < 50.00 minimum of seller A
    before = db_state(engine, entity_ids=[shop.a.id, shop.b.id, shop.buyer.id])
    with pytest.raises(ValidationError) as err:
        _checkout(engine, shop)
    assert shop.a.entity.name in str(err.value) and "$50.00" in str(err.value) and "$25.00" in str(err.value)
    assert db_state(engine, entity_ids=[shop.a.id, shop.b.id, shop.buyer.id]) == before
    view = call(engine, shop.buyer.p["buyer"], cart_view.get_cart)
    group = next(g for g in view.groups if g.seller_entity_id == shop.a.id)
    assert (group.meets_minimum, group.shortfall, group.can_checkout) == (False, D("25.00"), False)


def test_one_sellers_problem_does_not_block_the_other_sellers_orders(engine, shop):
    _fill(engine, shop, [(shop.pa, "2"), (shop.pb, "1")])  # A: 25.00 < 50.00 minimum; B is fine
    result = _checkout(engine, shop)
    assert [o.seller_entity_id for o in result.orders] == [shop.b.id]
    assert [(s.seller_entity_id, s.seller_name) for s in result.skipped] == [(shop.a.id, shop.a.entity.name)]
    assert "$50.00" in result.skipped[0].reason and "$25.00" in result.skipped[0].reason
    # A's items stay in the cart; B's are gone
    assert [g.seller_entity_id for g in call(engine, shop.buyer.p["buyer"], cart_view.get_cart).groups] == [shop.a.id]


def test_terms_not_offered_are_refused(engine, shop):
    _fill(engine, shop, [(shop.pb, "1")])
    with pytest.raises(ValidationError, match="doesn't offer net_30"):
        _checkout(engine, shop, choices={shop.b.id: {"payment_terms": "net_30"}})
    with pytest.raises(ValidationError):
        _checkout(engine, shop, choices={shop.b.id: {"payment_terms": "net_9000"}})
    with pytest.raises(ValidationError):
        _checkout(engine, shop, choices={shop.b.id: {"payment_terms": "prepay", "discount": "99%"}})
    assert _order_count(engine, shop.buyer) == 0
    # defaults to the seller's first offered term
    assert _checkout(engine, shop).orders[0].payment_terms == "prepay"


def test_buyer_on_hold_is_blocked_with_the_message(engine, shop):
    place_one(engine, shop.buyer, shop.pb, "1")  # makes them a customer of B
    call(engine, shop.b.owner, payments.set_buyer_hold, shop.buyer.id, True, "90 days overdue")
    _fill(engine, shop, [(shop.pb, "2")])
    view = call(engine, shop.buyer.p["buyer"], cart_view.get_cart)
    assert view.groups[0].on_hold and not view.groups[0].can_checkout
    with pytest.raises(Conflict) as err:
        _checkout(engine, shop)
    assert str(err.value) == f"Pay your prior balance to {shop.b.entity.name} before placing new orders."
    assert _order_count(engine, shop.buyer) == 1
    assert call(engine, shop.buyer.p["buyer"], cart_view.get_cart).item_count == 1
    call(engine, shop.b.owner, payments.set_buyer_hold, shop.buyer.id, False)
    assert len(_checkout(engine, shop).orders) == 1


def test_retry_with_the_same_key_returns_the_same_orders(engine, shop):
    _fill(engine, shop, [(shop.pa, "4"), (shop.pb, "1")])
    k = key()
    first = _checkout(engine, shop, idempotency_key=k)
    state = db_state(engine, entity_ids=[shop.a.id, shop.b.id, shop.buyer.id])
    _fill(engine, shop, [(shop.pa2, "1")])  # a new item does not sneak into the replay
    state_with_cart = db_state(engine, entity_ids=[shop.a.id, shop.b.id, shop.buyer.id])
    second = _checkout(engine, shop, idempotency_key=k)
    assert second.replayed and not first.replayed
    assert [o.number for o in second.orders] == [o.number for o in first.orders]
    assert [o.total for o in second.orders] == [o.total for o in first.orders]
    assert db_state(engine, entity_ids=[shop.a.id, shop.b.id, shop.buyer.id]) == state_with_cart
    assert state_with_cart["orders"] == state["orders"]
    with fresh(engine) as s:
        keyed = s.execute(select(func.count(OrderEvent.id)).where(OrderEvent.idempotency_key == k)).scalar_one()
    assert keyed == 2  # one "submitted" event per order


def test_concurrent_double_submit_creates_the_orders_once(engine, shop):
    _fill(engine, shop, [(shop.pa, "4"), (shop.pb, "1")])
    k = key()
    results, errors = [], []
    barrier = threading.Barrier(6)

    def submit():
        barrier.wait()
        try:
            results.append(_checkout(engine, shop, idempotency_key=k))
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len({tuple(sorted(o.number for o in r.orders)) for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    assert _order_count(engine, shop.buyer) == 2
    assert product_row(engine, shop.pa.id).available_qty == 96


def test_price_tier_price_is_used(engine, session, shop):
    make_tier(session, shop.a, shop.buyer, {shop.pa.id: "10.00"})
    _fill(engine, shop, [(shop.pa, "4"), (shop.pa2, "5")])
    view = call(engine, shop.buyer.p["buyer"], cart_view.get_cart)
    prices = {ln.product_id: (ln.unit_price, ln.list_price) for ln in view.groups[0].lines}
    assert prices == {shop.pa.id: (D("10.00"), D("12.50")), shop.pa2.id: (D("4.00"), D("4.00"))}
    assert view.groups[0].subtotal == D("60.00")
    number = _checkout(engine, shop).orders[0].number
    detail = call(engine, shop.a.owner, order_views.get_order, number)
    assert {ln.product_id: (ln.unit_price, ln.line_total) for ln in detail.lines} == {
        shop.pa.id: (D("10.00"), D("40.00")),
        shop.pa2.id: (D("4.00"), D("20.00")),
    }
    assert detail.subtotal == D("60.00")
    # another buyer of the same seller still pays list price
    other = make_buyer(session)
    call(engine, other.p["buyer"], cart.add_to_cart, shop.pa.id, "4")
    assert call(engine, other.p["buyer"], cart_view.get_cart).groups[0].lines[0].unit_price == D("12.50")


def test_tax_rate_of_the_sellers_state_is_applied(engine, shop, monkeypatch):
    monkeypatch.setitem(tax.WHOLESALE_TAX_RATES, "CA", D("0.15"))
    _fill(engine, shop, [(shop.pb, "3")])  # 21.00
    o = _checkout(engine, shop).orders[0]
    assert (o.subtotal, o.tax, o.total) == (D("21.00"), D("3.15"), D("24.15"))


def test_buyer_license_must_be_the_buyers_own_active_license(engine, session, shop):
    _fill(engine, shop, [(shop.pb, "1")])
    for license_id in (shop.a.license.id, 999999999, "nope"):
        with pytest.raises(ValidationError):
            call(
                engine,
                shop.buyer.p["buyer"],
                checkout_flow.checkout,
                buyer_license_id=license_id,
                idempotency_key=key(),
            )
    expired = make_license(session, shop.buyer.entity, status="expired")
    with pytest.raises(ValidationError, match="not active"):
        call(engine, shop.buyer.p["buyer"], checkout_flow.checkout, buyer_license_id=expired.id, idempotency_key=key())
    other_state = make_license(session, shop.buyer.entity, state="CO")
    with pytest.raises(ValidationError, match="no active license in CO"):
        call(
            engine,
            shop.buyer.p["buyer"],
            checkout_flow.checkout,
            buyer_license_id=other_state.id,
            idempotency_key=key(),
        )
    assert _order_count(engine, shop.buyer) == 0


def test_checkout_needs_a_key_a_role_and_a_cart(engine, shop):
    with pytest.raises(ValidationError, match="empty"):
        _checkout(engine, shop)
    _fill(engine, shop, [(shop.pb, "1")])
    with pytest.raises(ValidationError):
        _checkout(engine, shop, idempotency_key="")
    for role in ("viewer", "sales", "fulfillment"):
        with pytest.raises(PermissionDenied):
            call(
                engine,
                shop.buyer.p[role],
                checkout_flow.checkout,
                buyer_license_id=shop.buyer.license.id,
                idempotency_key=key(),
            )
    with pytest.raises(ValidationError, match="in the past"):
        _checkout(engine, shop, choices={shop.b.id: {"requested_delivery_end": "2001-01-01T00:00:00+00:00"}})
    assert _order_count(engine, shop.buyer) == 0


def test_cart_item_validation(engine, session, shop):
    p = shop.buyer.p["buyer"]
    for bad in ("0", "-1", "abc", None, "1.0001", "NaN", "1e12"):
        with pytest.raises(ValidationError):
            call(engine, p, cart.add_to_cart, shop.pa.id, bad)
    with pytest.raises(ValidationError, match="whole units"):
        call(engine, p, cart.add_to_cart, shop.pa.id, "1.5")
    grams, _ = stock(session, shop.a, qty="50", unit_of_measure="g", min_order_qty=D("3.5"))
    with pytest.raises(ValidationError, match="minimum order"):
        call(engine, p, cart.add_to_cart, grams.id, "2")
    assert call(engine, p, cart.add_to_cart, grams.id, "3.5").quantity == D("3.5")
    with pytest.raises(Conflict, match="Only 50 g"):
        call(engine, p, cart.add_to_cart, grams.id, "47")  # 3.5 + 47 > 50
    for state in ("archived", "internal"):
        hidden, _ = stock(session, shop.a, listing_state=state)
        with pytest.raises(NotFound):
            call(engine, p, cart.add_to_cart, hidden.id, "1")
    suspended = make_seller(session, status="suspended")
    sp, _ = stock(session, suspended)
    with pytest.raises(NotFound):
        call(engine, p, cart.add_to_cart, sp.id, "1")
    with pytest.raises(PermissionDenied, match="Only retailers"):  # a wholesaler has no cart (issue 13)
        call(engine, shop.a.p["buyer"], cart.add_to_cart, shop.pa.id, "1")
    for role in ("viewer", "sales", "fulfillment"):
        with pytest.raises(PermissionDenied):
            call(engine, shop.buyer.p[role], cart.add_to_cart, shop.pa.id, "1")


def test_cart_add_update_remove_and_grouping(engine, shop):
    p = shop.buyer.p["buyer"]
    item = call(engine, p, cart.add_to_cart, shop.pa.id, "2")
    again = call(engine, p, cart.add_to_cart, shop.pa.id, "3")
    assert again.cart_item_id == item.cart_item_id and again.quantity == 5
    call(engine, p, cart.add_to_cart, shop.pb.id, "1")
    call(engine, p, cart.update_cart_item, item.cart_item_id, "6")
    view = call(engine, p, cart_view.get_cart)
    assert view.item_count == 2 and view.subtotal == D("82.00")
    ga = next(g for g in view.groups if g.seller_entity_id == shop.a.id)
    assert (ga.subtotal, ga.min_order_amount, ga.meets_minimum, ga.payment_terms_offered, ga.can_checkout) == (
        D("75.00"),
        D("50.00"),
        True,
        ["cod", "net_30"],
        True,
    )
    call(engine, p, cart.remove_cart_item, item.cart_item_id)
    with pytest.raises(NotFound):
        call(engine, p, cart.remove_cart_item, item.cart_item_id)
    assert [g.seller_entity_id for g in call(engine, p, cart_view.get_cart).groups] == [shop.b.id]
    # another member of the same business has a cart of their own
    assert call(engine, shop.buyer.owner, cart_view.get_cart).item_count == 0
    assert call(engine, p, cart.clear_cart) == 1


def test_cart_shows_why_a_line_cannot_be_checked_out(engine, session, shop):
    p = shop.buyer.p["buyer"]
    call(engine, p, cart.add_to_cart, shop.pb.id, "5")
    product = session.get(type(shop.pb), shop.pb.id)
    product.listing_state = "archived"
    session.add(product)
    session.commit()
    view = call(engine, p, cart_view.get_cart)
    assert view.groups[0].lines[0].issue == "No longer available." and not view.groups[0].can_checkout
    with pytest.raises(NotFound, match="no longer available"):
        _checkout(engine, shop)


def test_reorder_puts_lines_back_in_the_cart(engine, session, shop):
    number = place(engine, shop.buyer, [(shop.pa, "4"), (shop.pa2, "2")]).orders[0].number
    gone = session.get(type(shop.pa2), shop.pa2.id)
    gone.listing_state = "archived"
    session.add(gone)
    session.commit()
    result = call(engine, shop.buyer.p["buyer"], reordering.reorder, number)
    assert [(a.product_id, a.quantity) for a in result.added] == [(shop.pa.id, D("4.000"))]
    assert [s["sku"] for s in result.skipped] == [shop.pa2.sku]
    with pytest.raises(PermissionDenied):
        call(engine, shop.a.owner, reordering.reorder, number)
