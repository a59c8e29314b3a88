"""Reorder suggestions for one store, from its own POS sales.

For each POS product matched to a marketplace product:
- velocity v: units per day over the last WINDOW_DAYS full days, each day weighted 0.5^(age/7)
  (a day a week older counts half), days without sales counted as zero;
- days of cover = on hand / v;
- lead time L: the seller's median days from submission to delivery over its last 20 delivered
  orders (DEFAULT_LEAD_DAYS without history); target cover T: the store's setting;
- when cover < L + T: order ceil(v * (L + T) - on hand), at least the listing's minimum, rounded
  up to whole cases.
The offer is the cheapest in-stock listing of the matched product's SKU, else the one the store
last bought, else the matched listing itself. Each suggestion carries its math as text and its
weekly units for the last 12 weeks (the chart)."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal
from statistics import median

from sqlalchemy import func
from sqlmodel import Session, col, select

from reup_app.errors import Conflict, NotFound
from reup_app.models import Entity, License, Order, OrderLine, PosDailySales, PosProduct, Product
from reup_app.models.enums import OrderStatus
from reup_app.models.types import utcnow
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services.pos.connections import RETAIL, store_settings
from reup_app.services.pos.matching import SELLABLE, _chunks

WINDOW_DAYS = 28
HALF_LIFE_DAYS = 7.0
TREND_WEEKS = 12
DEFAULT_LEAD_DAYS = 3


@dataclass(frozen=True)
class Suggestion:
    pos_id: int
    pos_name: str
    pos_sku: str
    on_hand: Decimal
    velocity: float
    days_of_cover: float
    lead_days: int
    target_days: int
    quantity: Decimal
    product_id: int
    product_name: str
    seller_name: str
    unit_price: Decimal
    in_stock: bool
    offer_reason: str  # "cheapest in stock", "last bought", "matched listing (out of stock)"
    math: str
    trend: tuple[int, ...] = field(default_factory=tuple)  # weekly units, oldest first


@dataclass(frozen=True)
class StoreSuggestions:
    license_id: int
    license_number: str
    target_days: int
    items: list[Suggestion]
    matched: int
    unmatched: int


def store_for_buyer(session: Session, principal: Principal, license_id: object) -> License:
    if not isinstance(license_id, int) or isinstance(license_id, bool):
        raise NotFound("That store does not exist.")
    lic = session.get(License, license_id)
    if lic is None:
        raise NotFound("That store does not exist.")
    authorize(principal, "cart.manage", lic.entity_id)
    if lic.license_type != RETAIL:
        raise Conflict(f"License {lic.number} is not a store.")
    return lic


def weighted_velocity(units_by_age: dict[int, Decimal], days: int) -> float:
    """Σ u·w / Σ w over ages 1..days (w = 0.5^(age/7)); ages without sales count as 0."""
    weights = [0.5 ** (age / HALF_LIFE_DAYS) for age in range(1, days + 1)]
    total = sum(float(units_by_age.get(age, 0)) * w for age, w in zip(range(1, days + 1), weights, strict=True))
    return total / sum(weights) if weights else 0.0


def order_quantity(velocity: float, on_hand: Decimal, lead: int, target: int, minimum: Decimal, case: int) -> Decimal:
    need = Decimal(str(round(velocity, 3))) * (lead + target) - on_hand  # the velocity as shown
    if need <= 0:
        return Decimal(0)
    qty = max(need.quantize(Decimal(1), rounding=ROUND_CEILING), minimum)
    if case > 1:
        qty = Decimal(math.ceil(qty / case) * case)
    return qty


def lead_times(session: Session, seller_ids: set[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for seller in sorted(seller_ids):
        rows = session.exec(
            select(Order.submitted_at, Order.delivered_at)
            .where(Order.seller_entity_id == seller, col(Order.delivered_at).is_not(None))
            .where(col(Order.submitted_at).is_not(None))
            .where(col(Order.status).in_([str(OrderStatus.DELIVERED), str(OrderStatus.COMPLETE)]))
            .order_by(col(Order.id).desc())
            .limit(20)
        ).all()
        spans = [(d - s).total_seconds() / 86400 for s, d in rows if s and d and d >= s]
        out[seller] = max(1, math.ceil(median(spans))) if spans else DEFAULT_LEAD_DAYS
    return out


def _velocities(session: Session, license_id: int, today: date) -> tuple[dict[int, float], int]:
    """Weighted velocity per POS product and the window actually used (a new store has fewer days)."""
    start = today - timedelta(days=WINDOW_DAYS)
    first = session.exec(select(func.min(PosDailySales.day)).where(PosDailySales.license_id == license_id)).one()
    if first is None:
        return {}, 0
    days = max(1, min(WINDOW_DAYS, (today - first).days))
    age = func.datediff(today, PosDailySales.day)
    rows = session.exec(
        select(PosDailySales.pos_product_id, func.sum(PosDailySales.units * func.pow(0.5, age / HALF_LIFE_DAYS)))
        .where(PosDailySales.license_id == license_id, col(PosDailySales.day) >= start, col(PosDailySales.day) < today)
        .group_by(col(PosDailySales.pos_product_id))
    ).all()
    norm = sum(0.5 ** (a / HALF_LIFE_DAYS) for a in range(1, days + 1))
    return {pid: float(total or 0) / norm for pid, total in rows}, days


def _trends(session: Session, license_id: int, pos_ids: list[int], today: date) -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(lambda: [0] * TREND_WEEKS)
    start = today - timedelta(days=7 * TREND_WEEKS)
    week = func.floor((func.datediff(today, PosDailySales.day) - 1) / 7)
    for part in _chunks(pos_ids):
        for pid, wk, units in session.exec(
            select(PosDailySales.pos_product_id, week, func.sum(PosDailySales.units))
            .where(PosDailySales.license_id == license_id, col(PosDailySales.pos_product_id).in_(part))
            .where(col(PosDailySales.day) >= start, col(PosDailySales.day) < today)
            .group_by(col(PosDailySales.pos_product_id), week)
        ).all():
            if 0 <= int(wk) < TREND_WEEKS:
                out[pid][TREND_WEEKS - 1 - int(wk)] = int(units or 0)
    return out


@dataclass(frozen=True)
class _Offer:
    product: Product
    seller_name: str
    reason: str


def _offers(session: Session, buyer_entity_id: int, matched: dict[int, Product]) -> dict[int, _Offer]:
    """Matched product id -> the listing to offer (cheapest in stock of its SKU, else last bought)."""
    skus = sorted({p.sku for p in matched.values()})
    same_sku: dict[str, list[Product]] = defaultdict(list)
    for part in _chunks(skus):
        for p in session.exec(
            select(Product).where(col(Product.sku).in_(part), col(Product.listing_state).in_(SELLABLE))
        ).all():
            same_sku[p.sku].append(p)
    bought: dict[int, int] = {}
    for part in _chunks(sorted(matched)):
        for pid, oid in session.exec(
            select(OrderLine.product_id, func.max(Order.id))
            .join(Order, col(Order.id) == col(OrderLine.order_id))
            .where(Order.buyer_entity_id == buyer_entity_id, col(OrderLine.product_id).in_(part))
            .group_by(col(OrderLine.product_id))
        ).all():
            bought[pid] = oid
    sellers = {p.entity_id for ps in same_sku.values() for p in ps} | {p.entity_id for p in matched.values()}
    names = dict(session.exec(select(Entity.id, Entity.name).where(col(Entity.id).in_(sorted(sellers)))).all())
    out: dict[int, _Offer] = {}
    for pid, product in matched.items():
        listings = same_sku.get(product.sku) or [product]
        in_stock = sorted((p for p in listings if p.available_qty > 0), key=lambda p: (p.unit_price, p.id))
        if in_stock:
            choice, reason = in_stock[0], "cheapest in stock"
        else:
            last = max(listings, key=lambda p: bought.get(p.id, 0))
            choice, reason = (last, "last bought") if bought.get(last.id) else (product, "matched listing")
            reason += " (out of stock)"
        out[pid] = _Offer(choice, names.get(choice.entity_id, ""), reason)
    return out


def _math(v: float, on_hand: Decimal, cover: float, lead: int, target: int, qty: Decimal, days: int) -> str:
    cover_text = "no sales" if v <= 0 else f"{cover:.1f} days of cover"
    return (
        f"velocity {v:.2f}/day (last {days} days, weight halves every {HALF_LIFE_DAYS:g} days); "
        f"on hand {on_hand:f} = {cover_text}; lead time {lead} d + target {target} d = {lead + target} d; "
        f"need {v * (lead + target):.1f} - {on_hand:f} on hand = order {qty:f}"
    )


def store_suggestions(session: Session, principal: Principal, license_id: int) -> StoreSuggestions:
    # long: one pass that joins the store's products, velocities, offers and lead times into suggestions
    lic = store_for_buyer(session, principal, license_id)
    target = store_settings(session, lic.id).target_cover_days
    today = utcnow().date()
    pos_rows = session.exec(select(PosProduct).where(PosProduct.license_id == lic.id, PosProduct.active)).all()
    matched_rows = [p for p in pos_rows if p.matched_product_id is not None]
    velocity, days = _velocities(session, lic.id, today)
    matched: dict[int, Product] = {}
    for part in _chunks(sorted({p.matched_product_id for p in matched_rows if p.matched_product_id})):
        matched.update({p.id: p for p in session.exec(select(Product).where(col(Product.id).in_(part))).all()})
    offers = _offers(session, lic.entity_id, matched)
    leads = lead_times(session, {o.product.entity_id for o in offers.values()})
    items: list[Suggestion] = []
    for row in matched_rows:
        offer = offers.get(row.matched_product_id or 0)
        v = velocity.get(row.pos_product_id, 0.0)
        if offer is None or v <= 0:
            continue
        lead = leads.get(offer.product.entity_id, DEFAULT_LEAD_DAYS)
        cover = float(row.on_hand) / v
        if cover >= lead + target:
            continue
        p = offer.product
        qty = order_quantity(v, row.on_hand, lead, target, p.min_order_qty, p.case_size)
        if qty <= 0:
            continue
        items.append(Suggestion(
            row.id, row.name, row.sku, row.on_hand, round(v, 3), round(cover, 1), lead, target, qty, p.id, p.name,
            offer.seller_name, p.unit_price, p.available_qty >= qty, offer.reason,
            _math(v, row.on_hand, cover, lead, target, qty, days),
        ))  # fmt: skip
    items.sort(key=lambda s: (s.days_of_cover, s.pos_name))
    trends = _trends(session, lic.id, [s.pos_id for s in items], today) if items else {}
    by_pos = {r.id: r.pos_product_id for r in matched_rows}
    items = [_with_trend(s, trends.get(by_pos[s.pos_id])) for s in items]
    unmatched = sum(1 for p in pos_rows if p.matched_product_id is None)
    return StoreSuggestions(lic.id, lic.number, target, items, len(matched_rows), unmatched)


def _with_trend(s: Suggestion, trend: list[int] | None) -> Suggestion:
    from dataclasses import replace

    return replace(s, trend=tuple(trend or [0] * TREND_WEEKS))
