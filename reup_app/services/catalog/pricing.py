"""The price a buyer pays: the seller's price tier for that buyer when one is assigned, else list."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session, col

from reup_app.models import PriceTier, PriceTierPrice, Product, TradeRelationship


def buyer_unit_prices(
    session: Session, buyer_entity_id: int, products: Sequence[Product], tiers: dict[int, int] | None = None
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
    return _apply_tiers(session, products, prices, {seller: tier for seller, tier in rels})


def _apply_tiers(
    session: Session, products: Sequence[Product], prices: dict[int, Decimal], tier_by_seller: dict[int, int]
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
