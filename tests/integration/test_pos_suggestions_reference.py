"""The reorder suggestions of a small synced store against a straightforward reference computed here
from the raw rows (ORM objects, Python loops, no SQL aggregation or prefilter): velocity and trend from
the daily sales, lead times from the sellers' orders, offers from every listing of the SKU, then the
quantities and the math text. The store covers each branch: a SKU listed by two sellers, out-of-stock
offers last bought (of the SKU's listings, the latest order wins) or not, a case size and a minimum, a
seller whose lead time is longer than another's (so the longest-horizon prefilter lets a row through
that the offer's own lead time then drops), an inactive, an unmatched and a no-longer-selling product."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from statistics import median

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from reup_app.models import (
    Entity,
    IntegrationConnection,
    Order,
    OrderLine,
    PosDailySales,
    PosProduct,
    Product,
)
from reup_app.services.pos import connections, suggestions
from tests.dutchie_kit import make_store, sync_all
from tests.factories import make_entity, make_license, make_product
from tests.integration.orderkit import call

SELLABLE = {"available", "backorder"}
TARGET = 10


@pytest.fixture(autouse=True)
def _disable_connections_after(engine, dutchie_sandbox):
    """Other tests' sync passes walk every enabled connection: leave none of ours enabled."""
    yield
    with Session(engine) as s:
        s.execute(
            update(IntegrationConnection)
            .where(col(IntegrationConnection.base_url) == dutchie_sandbox.base_url)
            .values(enabled=False)
        )
        s.commit()


def _order(session: Session, licenses: dict[int, int], seller: int, buyer: int, **kw) -> Order:
    order = Order(
        number=f"T-{uuid.uuid4().hex[:16]}", buyer_entity_id=buyer, buyer_license_id=licenses[buyer],
        seller_entity_id=seller, seller_license_id=licenses[seller], **kw,
    )  # fmt: skip
    session.add(order)
    session.commit()
    return order


def _bought(session: Session, licenses: dict[int, int], buyer: int, product: Product) -> None:
    """The store ordered `product` once (never submitted, so no lead-time sample)."""
    order = _order(session, licenses, product.entity_id, buyer, status="complete")
    session.add(OrderLine(order_id=order.id, product_id=product.id, sku=product.sku, product_name=product.name,
                          quantity=D(1), unit_price=product.unit_price, line_total=product.unit_price))  # fmt: skip
    session.commit()


def reference_velocities(rows: list[PosProduct], daily: list[PosDailySales], today: date) -> dict:
    """pos id -> (velocity as stored, days, trend) from the daily sales."""
    first = min(d.day for d in daily)
    days = max(1, min(28, (today - first).days))
    weight = {age: 0.5 ** (age / 7) for age in range(1, days + 1)}
    out = {}
    for row in rows:
        mine = [d for d in daily if d.pos_product_id == row.pos_product_id]
        total = sum(float(d.units) * weight.get((today - d.day).days, 0.0) for d in mine)
        trend = [0] * 12
        for d in mine:
            age = (today - d.day).days
            if 1 <= age <= 84:
                trend[11 - (age - 1) // 7] += int(d.units)
        out[row.id] = (D(str(round(total / sum(weight.values()), 3))), days, tuple(trend))
    return out


def reference_lead(orders: list[Order], seller_id: int) -> int:
    done = [o for o in orders if o.seller_entity_id == seller_id and o.status in ("delivered", "complete")]
    recent = sorted((o for o in done if o.submitted_at and o.delivered_at), key=lambda o: -o.id)[:20]
    spans = [(o.delivered_at - o.submitted_at).total_seconds() / 86400 for o in recent]
    spans = [s for s in spans if s >= 0]
    return max(1, math.ceil(median(spans))) if spans else suggestions.DEFAULT_LEAD_DAYS


def reference_offer(matched: Product, listings: list[Product], last_order: dict[int, int]) -> tuple[Product, str]:
    same_sku = sorted((p for p in listings if p.sku == matched.sku and p.listing_state in SELLABLE), key=lambda p: p.id)
    choices = same_sku if len(same_sku) > 1 else [matched]
    in_stock = [p for p in choices if p.available_qty > 0]
    if in_stock:
        return min(in_stock, key=lambda p: (p.unit_price, p.id)), "cheapest in stock"
    last = max(choices, key=lambda p: last_order.get(p.id, 0))
    if last_order.get(last.id):
        return last, "last bought (out of stock)"
    return matched, "matched listing (out of stock)"


def reference(engine, store, sellers: list[Entity], today: date):
    with Session(engine) as s:
        rows = s.exec(select(PosProduct).where(PosProduct.license_id == store.license.id)).all()
        daily = s.exec(select(PosDailySales).where(PosDailySales.license_id == store.license.id)).all()
        seller_ids = [e.id for e in sellers]
        listings = s.exec(select(Product).where(col(Product.entity_id).in_(seller_ids))).all()
        orders = s.exec(select(Order).where(col(Order.seller_entity_id).in_(seller_ids))).all()
        lines = s.exec(select(OrderLine).where(col(OrderLine.order_id).in_([o.id for o in orders]))).all()
    velocities = reference_velocities(rows, daily, today)
    by_id = {p.id: p for p in listings}
    buyer_orders = {o.id for o in orders if o.buyer_entity_id == store.entity_id}
    last_order: dict[int, int] = {}
    for line in lines:
        if line.order_id in buyer_orders:
            last_order[line.product_id] = max(last_order.get(line.product_id, 0), line.order_id)
    names = {e.id: e.name for e in sellers}
    active = [r for r in rows if r.active]
    items = []
    for row in active:
        velocity, days, trend = velocities[row.id]
        if row.matched_product_id is None or velocity <= 0:
            continue
        offer, reason = reference_offer(by_id[row.matched_product_id], listings, last_order)
        lead = reference_lead(orders, offer.entity_id)
        v, horizon = float(velocity), lead + TARGET
        cover = float(row.on_hand) / v
        need = velocity * horizon - row.on_hand
        if cover >= horizon or need <= 0:
            continue
        qty = max(D(math.ceil(need)), offer.min_order_qty)
        if offer.case_size > 1:
            qty = D(math.ceil(qty / offer.case_size) * offer.case_size)
        held = f"{row.on_hand.normalize():f}"
        text = (
            f"velocity {v:.2f}/day (last {days} days, weight halves every 7 days); on hand {held} = "
            f"{cover:.1f} days of cover; lead time {lead} d + target {TARGET} d = {horizon} d; "
            f"need {v * horizon:.1f} - {held} on hand = order {qty:f}"
        )
        items.append(suggestions.Suggestion(
            row.id, row.name, row.sku, row.on_hand, round(v, 3), round(cover, 1), lead, TARGET, qty, offer.id,
            offer.name, names[offer.entity_id], offer.unit_price, offer.available_qty >= qty, reason, text, trend,
        ))  # fmt: skip
    items.sort(key=lambda s: (s.days_of_cover, s.pos_name))
    matched = sum(1 for r in active if r.matched_product_id is not None)
    return items, matched, len(active) - matched, rows, velocities


def test_suggestions_match_a_straightforward_reference(session, engine, dutchie_sandbox):
    sb = dutchie_sandbox
    a, b, c = (make_entity(session, "wholesaler") for _ in range(3))
    licenses = {seller.id: make_license(session, seller).id for seller in (a, b, c)}
    tag = uuid.uuid4().hex[:8].upper()

    def listing(seller, n, price="10.00", available="500", **kw):
        return make_product(session, seller, sku=f"R{n}-{tag}", unit_price=D(price), available_qty=D(available), **kw)

    # POS product n is sold under SKU Rn (8 has its own SKU, unmatched); A lists first, so the SKU rule matches A's
    p1a, p1b = listing(a, 1), listing(b, 1, "8.00")  # listed by two sellers: B is cheaper
    p2 = listing(a, 2, available="0")  # out of stock, bought before
    p3a, p3c = listing(a, 3, available="0"), listing(c, 3, available="0")  # both out, both bought: C's last
    listing(b, 4, available="0")  # B's only, out of stock, never bought
    listing(a, 5, min_order_qty=D(10), case_size=6)
    listing(a, 6)  # plenty on hand
    listing(a, 9)  # its POS product is inactive
    listing(a, 10)  # sold only long ago: velocity 0
    listing(a, 11)  # one recent burst
    listing(a, 12)  # cover 15: short of A's horizon (6 + 10), not of B's (3 + 10)
    listing(a, 13), listing(b, 13, "9.00")  # the same cover, offered by B: dropped by B's shorter lead time
    listing(a, 14, min_order_qty=D(25))  # the minimum wins
    matched = [1, 2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 14]
    products = [{"productId": n, "sku": f"R{n}-{tag}", "productName": f"Pos {n:02d}"} for n in matched]
    products.append({"productId": 8, "sku": f"OWN-{tag}", "productName": "Pos 08 unmatched"})
    on_hand = {1: 5, 2: 2, 4: 1, 5: 3, 6: 900, 8: 4, 10: 6, 11: 10, 12: 15, 13: 15, 14: 3}
    stock = [{"product_id": p, "quantity": q} for p, q in on_hand.items()]
    store = make_store(session, sb, products=products, stock=stock)
    sb.change_product(store.key, 9, isActive=False)
    licenses[store.entity_id] = store.license.id
    now = datetime.now(UTC)
    for i in range(22):  # A: the 20 latest take 4.5 or 6.5 days (median 5.5 -> 6); the 2 oldest (30) do not count
        submitted = now - timedelta(days=60 - i)
        span = 30 if i < 2 else (4.5 if i % 2 else 6.5)
        _order(session, licenses, a.id, store.entity_id, status="delivered", submitted_at=submitted,
               delivered_at=submitted + timedelta(days=span))  # fmt: skip
    _order(session, licenses, c.id, store.entity_id, status="complete", submitted_at=now - timedelta(days=9),
           delivered_at=now - timedelta(days=8.6))  # C: 0.4 days -> 1  # fmt: skip
    for product in (p2, p3a, p3c):
        _bought(session, licenses, store.entity_id, product)
    noon = now.replace(hour=12, minute=0, second=0, microsecond=0)
    sales = {1: [(age, 3) for age in range(1, 31)], 2: [(age, 1) for age in range(1, 31)],
             3: [(age, 2) for age in range(1, 20)], 4: [(age, 2) for age in range(2, 29, 2)],
             5: [(age, 1) for age in range(1, 41)], 6: [(age, 5) for age in range(1, 29)], 8: [(3, 4), (9, 2)],
             9: [(age, 1) for age in range(1, 10)], 10: [(age, 3) for age in range(40, 70, 3)], 11: [(1, 20)],
             12: [(age, 1) for age in range(1, 29)], 13: [(age, 1) for age in range(1, 29)],
             14: [(age, 1) for age in range(1, 29)]}  # fmt: skip
    for pid, days in sales.items():
        for age, qty in days:
            sb.sale(store.key, pid, qty, at=(noon - timedelta(days=age)).isoformat())
    today = datetime.now(UTC).date()
    runs = sync_all(engine, store.connection)
    assert {r.status for r in runs.values()} == {"succeeded"}, [r.error for r in runs.values()]
    call(engine, store.owner, connections.update_settings, store.license.id, target_cover_days=TARGET)

    result = call(engine, store.owner, suggestions.store_suggestions, store.license.id)
    expected, n_matched, n_unmatched, rows, velocities = reference(engine, store, [a, b, c], today)
    if datetime.now(UTC).date() != today:
        pytest.skip("the UTC day changed during the test")
    for row in rows:  # the sync's stored velocities and trends are the reference's
        velocity, days, trend = velocities[row.id]
        assert (row.velocity, row.velocity_days) == (velocity, days), row.name
        assert (tuple(map(int, row.trend.split(","))) if row.trend else (0,) * 12) == trend, row.name
    assert (result.matched, result.unmatched, result.target_days) == (n_matched, n_unmatched, TARGET) == (11, 1, 10)
    assert result.items == expected
    # the data reaches every branch, so the comparison is not a vacuous one
    got = {s.pos_name: s for s in result.items}
    assert got["Pos 01"].product_id == p1b.id != p1a.id and got["Pos 01"].lead_days == 3
    assert got["Pos 02"].offer_reason == "last bought (out of stock)" and got["Pos 02"].lead_days == 6
    assert got["Pos 03"].product_id == p3c.id != p3a.id and got["Pos 03"].lead_days == 1
    assert got["Pos 04"].offer_reason == "matched listing (out of stock)"
    assert got["Pos 05"].quantity % 6 == 0 and got["Pos 14"].quantity == 25 and got["Pos 11"].velocity > 1
    assert "Pos 12" in got and "Pos 13" not in got
    assert not {"Pos 06", "Pos 08 unmatched", "Pos 09", "Pos 10"} & set(got)
