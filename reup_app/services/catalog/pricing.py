"""The price a buyer pays: the seller's price tier for that buyer when one is assigned, else list."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, NamedTuple, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from reup_app.models import PriceTier, PriceTierPrice, Product, TradeRelationship
from reup_app.security.principal import Principal


class _Priced(Protocol):
    """What pricing reads of a product (a Product row, or an `_Offer` of a catalog card)."""

    @property
    def id(self) -> int: ...
    @property
    def entity_id(self) -> int: ...
    @property
    def unit_price(self) -> Decimal: ...


class _Offer(NamedTuple):
    id: int
    entity_id: int
    unit_price: Decimal


def buyer_unit_prices(
    session: Session, buyer_entity_id: int, products: Sequence[_Priced], tiers: dict[int, int] | None = None
) -> dict[int, Decimal]:
    """product id -> unit price for this buyer.

    A seller assigns a buyer a price tier through their TradeRelationship; a product with a price
    in that tier sells at it, every other product at its list `unit_price`. A tier of another
    seller is never used, whatever the relationship row says. `tiers` (seller id -> tier id, already
    checked) saves the lookup when the caller has it.
    """
    prices = {p.id: p.unit_price for p in products}
    if not products:
        return prices
    if tiers is not None:
        return _apply_tiers(session, products, prices, tiers)
    seller_ids = {p.entity_id for p in products}
    rels = session.execute(
        select(col(TradeRelationship.seller_entity_id), col(TradeRelationship.price_tier_id))
        .join(PriceTier, col(PriceTier.id) == col(TradeRelationship.price_tier_id))
        .where(
            col(TradeRelationship.buyer_entity_id) == buyer_entity_id,
            col(TradeRelationship.seller_entity_id).in_(seller_ids),
            col(PriceTier.seller_entity_id) == col(TradeRelationship.seller_entity_id),
        )
    ).all()
    return _apply_tiers(session, products, prices, {seller: tier for seller, tier in rels if tier is not None})


def buyer_prices_for_offers(
    session: Session, buyer_entity_id: int, offers: Sequence[tuple[int, int, Decimal]]
) -> dict[int, Decimal]:
    """`buyer_unit_prices` for plain (product id, seller entity id, list price) triples (catalog cards)."""
    return buyer_unit_prices(session, buyer_entity_id, [_Offer(*offer) for offer in offers])  # no ORM objects: cheap


def case_price_for(unit_price: Decimal, case_size: int) -> Decimal | None:
    """What one case costs this buyer at checkout: case size x its unit price (None for single units).

    Checkout charges quantity x unit price, so this is the case price every page shows."""
    if case_size < 2:
        return None
    return (unit_price * case_size).quantize(Decimal("0.01"))


_PRODUCTS = Product.__table__  # type: ignore[attr-defined]  # set by SQLAlchemy's declarative mapping
_RELS = TradeRelationship.__table__  # type: ignore[attr-defined]  # as above
_TIERS = PriceTier.__table__  # type: ignore[attr-defined]  # as above
_TIER_PRICES = PriceTierPrice.__table__  # type: ignore[attr-defined]  # as above


def buyer_price_column(session: Session, principal: Principal | None) -> Any:
    """The SQL price of a product row for this principal (the catalog's price filter and sort):
    what it pays, i.e. its price tier's unit price where the product's seller assigned it a tier
    with a price for the product, else the list price. A principal with no tier anywhere (visitors,
    most buyers) gets the plain list column, which the catalog's indexes serve."""
    p, tr, pt, tp = _PRODUCTS.c, _RELS.c, _TIERS.c, _TIER_PRICES.c
    entity_id = principal.entity_id if principal is not None and principal.is_authenticated else None
    if entity_id is None:
        return p.unit_price
    has_tier = session.execute(
        select(tr.id).where(tr.buyer_entity_id == entity_id, tr.price_tier_id.is_not(None)).limit(1)
    ).first()
    if has_tier is None:
        return p.unit_price
    tier_price = (
        select(tp.unit_price)
        .select_from(
            _TIER_PRICES.join(_RELS, tr.price_tier_id == tp.price_tier_id).join(_TIERS, pt.id == tp.price_tier_id)
        )
        .where(
            tp.product_id == p.id,
            tr.buyer_entity_id == entity_id,
            tr.seller_entity_id == p.entity_id,
            pt.seller_entity_id == p.entity_id,  # never another seller's tier
        )
        .limit(1)
        .scalar_subquery()
    )
    return func.coalesce(tier_price, p.unit_price)


class _Card(Protocol):
    id: int
    seller_entity_id: int
    unit_price: Decimal
    case_size: int
    case_price: Decimal | None


def apply_buyer_prices(session: Session, principal: Principal | None, items: Sequence[_Card]) -> None:
    """Catalog cards show what this buyer pays: its price tier's unit price (else list), and a case
    at case size x that price (what checkout charges). Visitors and sellers see list prices."""
    entity_id = principal.entity_id if principal is not None and principal.is_authenticated else None
    prices: dict[int, Decimal] = {}
    if entity_id is not None and items:
        offers = [(i.id, i.seller_entity_id, i.unit_price) for i in items if i.seller_entity_id != entity_id]
        prices = buyer_prices_for_offers(session, entity_id, offers)
    for item in items:
        item.unit_price = prices.get(item.id, item.unit_price)
        item.case_price = case_price_for(item.unit_price, item.case_size)


def _apply_tiers(
    session: Session, products: Sequence[_Priced], prices: dict[int, Decimal], tier_by_seller: dict[int, int]
) -> dict[int, Decimal]:
    if not tier_by_seller:
        return prices
    rows = session.execute(
        select(col(PriceTierPrice.price_tier_id), col(PriceTierPrice.product_id), col(PriceTierPrice.unit_price)).where(
            col(PriceTierPrice.price_tier_id).in_(set(tier_by_seller.values())),
            col(PriceTierPrice.product_id).in_(list(prices)),
        )
    ).all()
    tier_price = {(tier, pid): price for tier, pid, price in rows}
    for p in products:
        tier = tier_by_seller.get(p.entity_id)
        if tier is not None and (tier, p.id) in tier_price:
            prices[p.id] = tier_price[(tier, p.id)]
    return prices
