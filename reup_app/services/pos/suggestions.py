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

from sqlalchemy import case, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

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
    """Seller -> median days from submission to delivery over its last 20 delivered orders, all sellers in
    one query (ROW_NUMBER per seller)."""
    if not seller_ids:
        return {}
    rank = func.row_number().over(partition_by=col(Order.seller_entity_id), order_by=col(Order.id).desc()).label("rank")
    recent = (
        sa_select(col(Order.seller_entity_id).label("seller"), col(Order.submitted_at), col(Order.delivered_at), rank)
        .where(col(Order.seller_entity_id).in_(sorted(seller_ids)), col(Order.delivered_at).is_not(None))
        .where(col(Order.submitted_at).is_not(None))
        .where(col(Order.status).in_([str(OrderStatus.DELIVERED), str(OrderStatus.COMPLETE)]))
        .subquery()
    )
    spans: dict[int, list[float]] = defaultdict(list)
    for seller, s, d in session.execute(
        sa_select(recent.c.seller, recent.c.submitted_at, recent.c.delivered_at).where(recent.c.rank <= 20)
    ).tuples():
        if s and d and d >= s:
            spans[seller].append((d - s).total_seconds() / 86400)
    return {
        seller: max(1, math.ceil(median(spans[seller]))) if spans.get(seller) else DEFAULT_LEAD_DAYS
        for seller in seller_ids
    }


_LISTING = (Product.id, Product.sku, Product.name, Product.entity_id, Product.unit_price, Product.available_qty,
            Product.min_order_qty, Product.case_size)  # fmt: skip


def _shared_listings(session: Session, candidate_skus: Any) -> dict[str, list[Any]]:
    """SKU -> its sellable listings, for the candidates' SKUs listed (sellable) more than once: one query,
    the SKUs given as a subquery (no IN list sent)."""
    sellable = col(Product.listing_state).in_(SELLABLE)
    shared_skus = (  # one pass over the sellable listings (products.sku has no index of its own)
        sa_select(col(Product.sku).label("sku")).where(sellable).group_by(col(Product.sku)).having(func.count() > 1)
    ).subquery()
    out: dict[str, list[Any]] = defaultdict(list)
    rows = session.execute(
        sa_select(*[col(c) for c in _LISTING])
        .join(shared_skus, shared_skus.c.sku == col(Product.sku))
        .where(sellable, col(Product.sku).in_(candidate_skus))
    ).all()
    for row in rows:
        out[row.sku].append(row)
    return out


def _offers(
    session: Session, buyer_entity_id: int, matched: dict[int, Any], shared: dict[str, list[Any]]
) -> dict[int, tuple[Any, str]]:
    """Matched product id -> (listing row, reason): the cheapest in-stock listing of its SKU (`shared`: the
    SKUs listed more than once), else the one the store last bought, else itself."""
    out: dict[int, tuple[Any, str]] = {}
    missing: list[int] = []
    for pid, product in matched.items():
        listings = shared.get(product.sku)
        if listings is None:  # listed once: the matched listing itself (the common case, no sort)
            if product.available_qty > 0:
                out[pid] = (product, "cheapest in stock")
            else:
                missing.append(pid)
            continue
        in_stock = [p for p in listings if p.available_qty > 0]
        if in_stock:
            out[pid] = (min(in_stock, key=lambda p: (p.unit_price, p.id)), "cheapest in stock")
        else:
            missing.append(pid)
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


def _suggestion(
    row: Any, offer_reason: tuple[Any, str], leads: dict[int, int], names: dict[int, str], target: int
) -> Suggestion | None:
    offer, reason = offer_reason
    v, lead = float(row.velocity), leads.get(offer.entity_id, DEFAULT_LEAD_DAYS)
    on_hand = row.on_hand
    cover = float(on_hand) / v
    if cover >= lead + target:
        return None
    qty = order_quantity(v, on_hand, lead, target, offer.min_order_qty, offer.case_size)
    if qty <= 0:
        return None
    trend = tuple(map(int, row.trend.split(","))) if row.trend else _NO_TREND
    return Suggestion(
        row.pos_id, row.pos_name, row.pos_sku, on_hand, round(v, 3), round(cover, 1), lead, target, qty, offer.id,
        offer.name, names.get(offer.entity_id, ""), offer.unit_price, offer.available_qty >= qty, reason,
        _math(v, on_hand, cover, lead, target, qty, row.velocity_days), trend,
    )  # fmt: skip


_NO_TREND = (0,) * TREND_WEEKS


def store_suggestions(session: Session, principal: Principal, license_id: int) -> StoreSuggestions:
    # long: one pass that joins the store's products, offers and lead times into suggestions
    lic = store_for_buyer(session, principal, license_id)
    target = store_settings(session, lic.id).target_cover_days
    store = (col(PosProduct.license_id) == lic.id, col(PosProduct.active).is_(True), col(PosProduct.velocity) > 0)
    joined = col(Product.id) == col(PosProduct.matched_product_id)
    counts: dict[bool, int] = defaultdict(int)
    sellers: set[int] = set()
    is_matched_, seller_ = (
        col(PosProduct.matched_product_id).is_not(None).label("is_matched"),
        case((col(PosProduct.velocity) > 0, col(Product.entity_id))).label("seller"),
    )
    for is_matched, seller, n in session.execute(  # matched/unmatched counts and the sellers, in one pass
        sa_select(is_matched_, seller_, func.count())
        .outerjoin(Product, joined)
        .where(col(PosProduct.license_id) == lic.id, col(PosProduct.active).is_(True))
        .group_by(is_matched_, seller_)
    ).tuples():
        counts[bool(is_matched)] += n
        if seller is not None:
            sellers.add(seller)
    leads = lead_times(session, sellers)
    horizon = max(leads.values(), default=DEFAULT_LEAD_DAYS) + target
    candidates = (*store, col(PosProduct.on_hand) < col(PosProduct.velocity) * horizon)  # short of the longest horizon
    rows = session.execute(  # one plain row per product that may need ordering
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
        .where(*candidates)
    ).all()
    matched: dict[int, Any] = {r.id: r for r in rows}
    skus = sa_select(col(Product.sku)).join(PosProduct, joined).where(*candidates)
    offers = _offers(session, lic.entity_id, matched, _shared_listings(session, skus) if rows else {})
    leads.update(lead_times(session, {o.entity_id for o, _ in offers.values()} - set(leads)))
    names = dict(
        session.execute(sa_select(col(Entity.id), col(Entity.name)).where(col(Entity.id).in_(list(leads)))).all()
    )
    items = [s for row in rows if (s := _suggestion(row, offers[row.id], leads, names, target)) is not None]
    items.sort(key=lambda s: (s.days_of_cover, s.pos_name))
    return StoreSuggestions(lic.id, lic.number, target, items, counts.get(True, 0), counts.get(False, 0))
