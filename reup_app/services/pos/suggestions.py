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
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from operator import itemgetter
from statistics import median
from typing import Any, NamedTuple

from sqlalchemy import String, func, literal_column
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
_ONE = Decimal(1)
__all__ = ["TREND_WEEKS", "Suggestion", "StoreSuggestions", "store_suggestions", "weighted_velocity"]


class Suggestion(NamedTuple):  # immutable like a frozen dataclass, and built in half the time
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
    trend: tuple[int, ...] = ()  # weekly units, oldest first


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
    return _order_quantity(Decimal(str(round(velocity, 3))), on_hand, lead + target, minimum, case)  # as shown


def _order_quantity(velocity: Decimal, on_hand: Decimal, horizon: int, minimum: Decimal, case: int) -> Decimal:
    """ceil(velocity * horizon - on hand), at least `minimum`, rounded up to whole cases; 0 if none needed."""
    need = velocity * horizon - on_hand
    if need <= 0:
        return Decimal(0)
    qty = max(need.quantize(_ONE, rounding=ROUND_CEILING), minimum)
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
    ):
        if s and d and d >= s:
            spans[seller].append((d - s).total_seconds() / 86400)
    return {
        seller: max(1, math.ceil(median(spans[seller]))) if spans.get(seller) else DEFAULT_LEAD_DAYS
        for seller in seller_ids
    }


# A listing as a plain tuple, in this order (no ORM objects: the page reads thousands of them).
_LISTING = (Product.id, Product.name, Product.entity_id, Product.unit_price, Product.available_qty,
            Product.min_order_qty, Product.case_size)  # fmt: skip
_ID, _NAME, _SELLER, _PRICE, _AVAILABLE, _MINIMUM, _CASE = range(len(_LISTING))
_IN_STOCK, _LAST_BOUGHT, _MATCHED = "cheapest in stock", "last bought (out of stock)", "matched listing (out of stock)"


_NO_TREND = (0,) * TREND_WEEKS
_BY_COVER_NAME = itemgetter(Suggestion._fields.index("days_of_cover"), Suggestion._fields.index("pos_name"))
# The numbers of a candidate row travel as one space-separated string: pymysql decodes each column in
# Python (about a microsecond each), so 11 columns as one take a third of the time. CONCAT keeps a DECIMAL's
# scale (the same text the column would send) and is NULL if any part is (all are NOT NULL columns).
_NUMBERS = (PosProduct.id, PosProduct.on_hand, PosProduct.velocity, PosProduct.velocity_days, Product.id,
            Product.entity_id, Product.unit_price, Product.available_qty, Product.min_order_qty, Product.case_size,
            PosProduct.trend)  # fmt: skip
_SPACE = literal_column("' '", String())
_PACKED = func.concat(*[part for c in _NUMBERS for part in (col(c), _SPACE)][:-1])
_ROW_SKU, _ROW_LISTING = 7, 8


def _candidates(session: Session, where: tuple) -> list[tuple]:
    """The candidate rows as plain tuples: (pos id, pos name, pos SKU, on hand, velocity, velocity days,
    trend, the matched listing's SKU, the listing as in _LISTING)."""
    out = []
    stmt = sa_select(col(PosProduct.name), col(PosProduct.sku), col(Product.sku), col(Product.name), _PACKED)
    for pos_name, pos_sku, sku, name, packed in session.execute(
        stmt.join(Product, col(Product.id) == col(PosProduct.matched_product_id)).where(*where)
    ):
        numbers = packed.split(" ", len(_NUMBERS) - 1)  # the trend last, whatever it holds
        pos_id, on_hand, velocity, days, pid, seller, price, available, minimum, case_size, trend = numbers
        listing = (int(pid), name, int(seller), Decimal(price), Decimal(available), Decimal(minimum), int(case_size))
        out.append(
            (int(pos_id), pos_name, pos_sku, Decimal(on_hand), Decimal(velocity), int(days), trend, sku, listing)
        )
    return out


def _shared_listings(session: Session, candidate_skus: Any) -> dict[str, list[tuple]]:
    """SKU -> its sellable listings, for the candidates' SKUs listed (sellable) more than once: one query,
    the SKUs given as a subquery (no IN list sent)."""
    sellable = col(Product.listing_state).in_(SELLABLE)
    shared_skus = (  # one pass over ix_products_sku_listing (sku, listing_state), no table read
        sa_select(col(Product.sku).label("sku")).where(sellable).group_by(col(Product.sku)).having(func.count() > 1)
    ).subquery()
    out: dict[str, list[tuple]] = defaultdict(list)
    for sku, *listing in session.execute(
        sa_select(col(Product.sku), *[col(c) for c in _LISTING])
        .join(shared_skus, shared_skus.c.sku == col(Product.sku))
        .where(sellable, col(Product.sku).in_(candidate_skus))
    ):
        out[sku].append(tuple(listing))
    return out


def _last_bought(session: Session, buyer_entity_id: int, listing_ids: list[int]) -> dict[int, int]:
    """Listing id -> the store's latest order of it, for those it ever ordered."""
    bought: dict[int, int] = {}
    for part in _chunks(listing_ids):
        bought.update(
            session.execute(
                sa_select(col(OrderLine.product_id), func.max(Order.id))
                .join(Order, col(Order.id) == col(OrderLine.order_id))
                .where(col(Order.buyer_entity_id) == buyer_entity_id, col(OrderLine.product_id).in_(part))
                .group_by(col(OrderLine.product_id))
            ).all()
        )
    return bought


def _offers(
    session: Session, buyer_entity_id: int, rows: list[tuple], shared: dict[str, list[tuple]]
) -> list[tuple[tuple, str]]:
    """Per candidate row (see _candidates): (listing, reason), the cheapest in-stock listing of its SKU
    (`shared`: the SKUs listed more than once), else the one the store last bought, else the matched listing."""
    out: list[Any] = []
    missing: list[int] = []  # positions in rows
    for i, row in enumerate(rows):
        listings = shared.get(row[_ROW_SKU])
        if listings is None:  # listed once: the matched listing itself (the common case, no sort)
            if row[_ROW_LISTING][_AVAILABLE] > 0:
                out.append((row[_ROW_LISTING], _IN_STOCK))
                continue
        else:
            in_stock = [p for p in listings if p[_AVAILABLE] > 0]
            if in_stock:
                out.append((min(in_stock, key=lambda p: (p[_PRICE], p[_ID])), _IN_STOCK))
                continue
        out.append(None)
        missing.append(i)
    if not missing:
        return out
    choices = {i: shared.get(rows[i][_ROW_SKU]) or [rows[i][_ROW_LISTING]] for i in missing}
    bought = _last_bought(session, buyer_entity_id, [p[_ID] for i in missing for p in choices[i]])
    for i in missing:
        last = max(choices[i], key=lambda p: bought.get(p[_ID], 0))
        out[i] = (last, _LAST_BOUGHT) if bought.get(last[_ID]) else (rows[i][_ROW_LISTING], _MATCHED)
    return out


_WEIGHTS_TEXT = f"weight halves every {HALF_LIFE_DAYS:g} days"


def _math(v: float, on_hand: Decimal, cover: float, lead: int, target: int, qty: Decimal, days: int) -> str:
    held = f"{on_hand.normalize():f}"
    return (
        f"velocity {v:.2f}/day (last {days} days, {_WEIGHTS_TEXT}); on hand {held} = {cover:.1f} days of cover; "
        f"lead time {lead} d + target {target} d = {lead + target} d; need {v * (lead + target):.1f} - {held} "
        f"on hand = order {qty:f}"
    )


def _suggestions(
    rows: list[tuple], offers: list[tuple[tuple, str]], leads: dict[int, int], names: dict[int, str], target: int
) -> list[Suggestion]:
    """The rows short of their horizon (lead time + target), as suggestions. The stored velocity is a
    DECIMAL(14,3): as a float it is already rounded to 3 places (the velocity shown), and the order quantity
    is exact Decimal arithmetic on it (what order_quantity gets from the float)."""
    items = []
    for (pos_id, pos_name, pos_sku, on_hand, velocity, days, trend, _, _), (offer, reason) in zip(
        rows, offers, strict=True
    ):
        v, lead = float(velocity), leads.get(offer[_SELLER], DEFAULT_LEAD_DAYS)
        horizon = lead + target
        cover = float(on_hand) / v
        if cover >= horizon:
            continue
        qty = _order_quantity(velocity, on_hand, horizon, offer[_MINIMUM], offer[_CASE])
        if qty <= 0:
            continue
        suggestion = Suggestion(
            pos_id, pos_name, pos_sku, on_hand, v, round(cover, 1), lead, target, qty, offer[_ID],
            offer[_NAME], names.get(offer[_SELLER], ""), offer[_PRICE], offer[_AVAILABLE] >= qty, reason,
            _math(v, on_hand, cover, lead, target, qty, days), tuple(map(int, trend.split(","))) if trend else _NO_TREND,
        )  # fmt: skip
        items.append(suggestion)
    return items


def _store_counts(session: Session, license_id: int) -> tuple[int, int, set[int]]:
    """(matched, unmatched) active POS products of the store, and the sellers of those that sell."""
    store = (col(PosProduct.license_id) == license_id, col(PosProduct.active).is_(True))
    total, matched = session.execute(
        sa_select(func.count(), func.count(col(PosProduct.matched_product_id))).where(*store)
    ).one()
    selling = sa_select(col(PosProduct.matched_product_id)).where(*store, col(PosProduct.velocity) > 0)
    sellers = session.execute(  # a semi-join: cheaper than joining every POS product to its listing
        sa_select(col(Product.entity_id)).distinct().where(col(Product.id).in_(selling))
    ).scalars()
    return int(matched or 0), int(total or 0) - int(matched or 0), set(sellers)


def store_suggestions(session: Session, principal: Principal, license_id: int) -> StoreSuggestions:
    lic = store_for_buyer(session, principal, license_id)
    target = store_settings(session, lic.id).target_cover_days
    matched, unmatched, sellers = _store_counts(session, lic.id)
    leads = lead_times(session, sellers)
    horizon = max(leads.values(), default=DEFAULT_LEAD_DAYS) + target
    joined = col(Product.id) == col(PosProduct.matched_product_id)
    candidates = (  # selling products short of the longest horizon; the exact check is per offer's lead time
        col(PosProduct.license_id) == lic.id,
        col(PosProduct.active).is_(True),
        col(PosProduct.velocity) > 0,
        col(PosProduct.on_hand) < col(PosProduct.velocity) * horizon,
    )
    rows = _candidates(session, candidates)
    skus = sa_select(col(Product.sku)).join(PosProduct, joined).where(*candidates)
    offers = _offers(session, lic.entity_id, rows, _shared_listings(session, skus) if rows else {})
    offer_sellers = {offer[_SELLER] for offer, _ in offers}
    leads.update(lead_times(session, offer_sellers - set(leads)))
    names = dict(
        session.execute(
            sa_select(col(Entity.id), col(Entity.name)).where(col(Entity.id).in_(sorted(offer_sellers)))
        ).all()
    )
    items = _suggestions(rows, offers, leads, names, target)
    items.sort(key=_BY_COVER_NAME)
    return StoreSuggestions(lic.id, lic.number, target, items, matched, unmatched)
