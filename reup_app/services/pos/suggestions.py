"""Reorder suggestions for one store, from its own POS sales.

For each POS product matched to a marketplace product:
- velocity v (services/pos/velocity: weighted units per day, recent days counting more, refreshed
  by every sales sync) and on hand give the days of cover = on hand / v;
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
from decimal import ROUND_CEILING, Decimal
from statistics import median
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from reup_app.errors import Conflict, NotFound
from reup_app.models import Entity, License, Order, OrderLine, PosProduct, Product
from reup_app.models.enums import OrderStatus
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services.pos.connections import RETAIL, store_settings
from reup_app.services.pos.matching import SELLABLE, _chunks
from reup_app.services.pos.velocity import HALF_LIFE_DAYS, TREND_WEEKS, weighted_velocity

DEFAULT_LEAD_DAYS = 3
__all__ = ["TREND_WEEKS", "Suggestion", "StoreSuggestions", "store_suggestions", "weighted_velocity"]


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
    offer_reason: str  # "cheapest in stock", "last bought (out of stock)", "matched listing (out of stock)"
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


_LISTING = (Product.id, Product.sku, Product.name, Product.entity_id, Product.unit_price, Product.available_qty,
            Product.min_order_qty, Product.case_size)  # fmt: skip


def _listings(session: Session, where: Any) -> list[Any]:
    return list(session.execute(sa_select(*[col(c) for c in _LISTING]).where(where)).all())


def _offers(session: Session, buyer_entity_id: int, matched: dict[int, Any]) -> dict[int, tuple[Any, str]]:
    """Matched product id -> (listing row, reason): the cheapest in-stock listing of its SKU (only SKUs
    listed more than once are looked up), else the one the store last bought, else itself."""
    shared: dict[str, list[Any]] = defaultdict(list)
    for part in _chunks(sorted({p.sku for p in matched.values()})):
        skus = session.execute(
            sa_select(col(Product.sku))
            .where(col(Product.sku).in_(part), col(Product.listing_state).in_(SELLABLE))
            .group_by(col(Product.sku))
            .having(func.count() > 1)
        ).scalars()
        for row in _listings(session, col(Product.sku).in_(list(skus)) & col(Product.listing_state).in_(SELLABLE)):
            shared[row.sku].append(row)
    out: dict[int, tuple[Any, str]] = {}
    for pid, product in matched.items():
        listings = shared.get(product.sku) or [product]
        in_stock = sorted((p for p in listings if p.available_qty > 0), key=lambda p: (p.unit_price, p.id))
        out[pid] = (in_stock[0], "cheapest in stock") if in_stock else (product, "")
    missing = [pid for pid, (_, why) in out.items() if not why]
    bought: dict[int, int] = {}
    for part in _chunks([p.id for pid in missing for p in (shared.get(matched[pid].sku) or [matched[pid]])]):
        bought.update(
            session.execute(
                sa_select(col(OrderLine.product_id), func.max(Order.id))
                .join(Order, col(Order.id) == col(OrderLine.order_id))
                .where(col(Order.buyer_entity_id) == buyer_entity_id, col(OrderLine.product_id).in_(part))
                .group_by(col(OrderLine.product_id))
            ).all()
        )
    for pid in missing:
        listings = shared.get(matched[pid].sku) or [matched[pid]]
        last = max(listings, key=lambda p: bought.get(p.id, 0))
        out[pid] = (
            (last, "last bought (out of stock)")
            if bought.get(last.id)
            else (matched[pid], "matched listing (out of stock)")
        )
    return out


def _math(v: float, on_hand: Decimal, cover: float, lead: int, target: int, qty: Decimal, days: int) -> str:
    return (
        f"velocity {v:.2f}/day (last {days} days, weight halves every {HALF_LIFE_DAYS:g} days); "
        f"on hand {on_hand.normalize():f} = {cover:.1f} days of cover; lead time {lead} d + target {target} d = "
        f"{lead + target} d; need {v * (lead + target):.1f} - {on_hand.normalize():f} on hand = order {qty:f}"
    )


def store_suggestions(session: Session, principal: Principal, license_id: int) -> StoreSuggestions:
    # long: one pass that joins the store's products, offers and lead times into suggestions
    lic = store_for_buyer(session, principal, license_id)
    target = store_settings(session, lic.id).target_cover_days
    counts = dict(
        session.execute(
            sa_select(col(PosProduct.matched_product_id).is_not(None), func.count())
            .where(col(PosProduct.license_id) == lic.id, col(PosProduct.active).is_(True))
            .group_by(col(PosProduct.matched_product_id).is_not(None))
        ).all()
    )
    store = (col(PosProduct.license_id) == lic.id, col(PosProduct.active).is_(True), col(PosProduct.velocity) > 0)
    joined = col(Product.id) == col(PosProduct.matched_product_id)
    sellers = set(
        session.execute(sa_select(col(Product.entity_id)).join(PosProduct, joined).where(*store).distinct()).scalars()
    )
    leads = lead_times(session, sellers)
    horizon = max(leads.values(), default=DEFAULT_LEAD_DAYS) + target
    rows = session.execute(  # one row per product that may need ordering: on hand short of the longest horizon
        sa_select(
            col(PosProduct.id).label("pos_id"),
            col(PosProduct.name).label("pos_name"),
            col(PosProduct.sku).label("pos_sku"),
            col(PosProduct.on_hand),
            col(PosProduct.velocity),
            col(PosProduct.velocity_days),
            col(PosProduct.trend),
            *[col(c) for c in _LISTING],
        )  # fmt: skip
        .join(Product, joined)
        .where(*store, col(PosProduct.on_hand) < col(PosProduct.velocity) * horizon)
    ).all()
    matched: dict[int, Any] = {r.id: r for r in rows}
    offers = _offers(session, lic.entity_id, matched)
    leads.update(lead_times(session, {o.entity_id for o, _ in offers.values()} - set(leads)))
    names = dict(
        session.execute(sa_select(col(Entity.id), col(Entity.name)).where(col(Entity.id).in_(list(leads)))).all()
    )
    items: list[Suggestion] = []
    for row in rows:
        offer, reason = offers[row.id]
        v, lead = float(row.velocity), leads.get(offer.entity_id, DEFAULT_LEAD_DAYS)
        cover = float(row.on_hand) / v
        if cover >= lead + target:
            continue
        qty = order_quantity(v, row.on_hand, lead, target, offer.min_order_qty, offer.case_size)
        if qty <= 0:
            continue
        trend = tuple(int(x) for x in row.trend.split(",")) if row.trend else (0,) * TREND_WEEKS
        items.append(Suggestion(
            row.pos_id, row.pos_name, row.pos_sku, row.on_hand, round(v, 3), round(cover, 1), lead, target, qty, offer.id,
            offer.name, names.get(offer.entity_id, ""), offer.unit_price, offer.available_qty >= qty, reason,
            _math(v, row.on_hand, cover, lead, target, qty, row.velocity_days), trend,
        ))  # fmt: skip
    items.sort(key=lambda s: (s.days_of_cover, s.pos_name))
    return StoreSuggestions(lic.id, lic.number, target, items, counts.get(True, 0), counts.get(False, 0))
