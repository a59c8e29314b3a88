"""A seller's price tiers: named price lists, per-product tier prices, and which customer gets which.

Checkout reads exactly this (reup_app/services/pricing.py): a buyer whose TradeRelationship with the
seller names one of the seller's tiers pays that tier's price for products priced in it, list price
for the rest. Everything here needs "pricing.manage" on the seller that owns the tier/relationship;
another seller's tier, product or customer is reported as not found.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from reup_app.errors import Conflict, NotFound
from reup_app.models import Entity, Order, PriceTier, PriceTierPrice, Product, TradeRelationship
from reup_app.models.types import utcnow
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services.catalog.products import own_product
from reup_app.services.common import authorize_party, clean_text, get_row, parse_int, parse_money, require_member


@dataclass(frozen=True)
class TierRow:
    id: int
    name: str
    product_count: int
    customer_count: int


@dataclass(frozen=True)
class TierPriceRow:
    product_id: int
    sku: str
    name: str
    list_price: Decimal
    tier_price: Decimal | None


@dataclass(frozen=True)
class CustomerRow:
    buyer_entity_id: int
    name: str
    price_tier_id: int | None
    price_tier_name: str | None
    on_hold: bool


def _seller(principal: Principal) -> int:
    entity_id = require_member(principal)
    authorize(principal, "pricing.manage", entity_id)
    return entity_id


def _own_tier(session: Session, principal: Principal, tier_id: Any) -> PriceTier:
    tier = session.get(PriceTier, parse_int(tier_id, "price_tier_id"))
    authorize_party(
        principal, "pricing.manage", [tier.seller_entity_id if tier else None], "That price tier was not found."
    )
    if tier is None:
        raise NotFound("That price tier was not found.")
    return tier


def tiers_statement(seller: int) -> Any:
    """The seller's tiers: (id, name, product count, customer count, created_at), unordered."""
    products = (
        select(func.count(col(PriceTierPrice.id)))
        .where(col(PriceTierPrice.price_tier_id) == col(PriceTier.id))
        .scalar_subquery()
    )
    customers = (
        select(func.count(col(TradeRelationship.id)))
        .where(
            col(TradeRelationship.price_tier_id) == col(PriceTier.id), col(TradeRelationship.seller_entity_id) == seller
        )
        .scalar_subquery()
    )
    return select(col(PriceTier.id), col(PriceTier.name), products, customers, col(PriceTier.created_at)).where(
        col(PriceTier.seller_entity_id) == seller
    )


def tier_row(row: Any) -> TierRow:
    i, n, p, c = row[:4]
    return TierRow(id=i, name=n, product_count=int(p), customer_count=int(c))


def list_tiers(session: Session, principal: Principal) -> list[TierRow]:
    rows = session.execute(tiers_statement(_seller(principal)).order_by(PriceTier.name)).all()
    return [tier_row(r) for r in rows]


def create_tier(session: Session, principal: Principal, name: str) -> TierRow:
    seller = _seller(principal)
    label = clean_text(name, "name", max_len=64, required=True, label="a tier name")
    if session.execute(
        select(col(PriceTier.id)).where(col(PriceTier.seller_entity_id) == seller, col(PriceTier.name) == label)
    ).first():
        raise Conflict(f"You already have a price tier called {label}.")
    tier = PriceTier(seller_entity_id=seller, name=label)
    try:
        with session.begin_nested():
            session.add(tier)
            session.flush()
    except IntegrityError:
        raise Conflict(f"You already have a price tier called {label}.") from None
    return TierRow(id=tier.id, name=tier.name, product_count=0, customer_count=0)


def tier_prices_statement(tier: PriceTier) -> Any:
    """Every product of the tier's seller (not archived, or priced in the tier) with its price in
    the tier, if any: (id, sku, name, list price, tier price, created_at), unordered."""
    return (
        select(
            col(Product.id),
            col(Product.sku),
            col(Product.name),
            col(Product.unit_price),
            col(PriceTierPrice.unit_price),
            col(Product.created_at),
        )
        .outerjoin(
            PriceTierPrice,
            (col(PriceTierPrice.product_id) == col(Product.id)) & (col(PriceTierPrice.price_tier_id) == tier.id),
        )
        .where(
            col(Product.entity_id) == tier.seller_entity_id,
            (col(Product.listing_state) != "archived") | col(PriceTierPrice.id).is_not(None),
        )
    )


def tier_price_row(row: Any) -> TierPriceRow:
    i, s, n, lp, tp = row[:5]
    return TierPriceRow(product_id=i, sku=s, name=n, list_price=lp, tier_price=tp)


def tier_prices(session: Session, principal: Principal, tier_id: int) -> list[TierPriceRow]:
    """Every product of the seller (not archived) with its price in this tier, if it has one."""
    tier = _own_tier(session, principal, tier_id)
    rows = session.execute(tier_prices_statement(tier).order_by(col(Product.name), col(Product.id))).all()
    return [tier_price_row(r) for r in rows]


def set_tier_price(
    session: Session, principal: Principal, tier_id: int, product_id: int, unit_price: Any
) -> Decimal | None:
    """Set (or, with a blank price, remove) a product's price in a tier; returns the new price."""
    tier = _own_tier(session, principal, tier_id)
    product = own_product(session, principal, product_id, "pricing.manage")
    if product.entity_id != tier.seller_entity_id:  # only reachable by a platform admin / system
        raise NotFound("That product was not found.")
    blank = unit_price is None or (isinstance(unit_price, str) and not unit_price.strip())
    existing = (
        session.execute(
            select(PriceTierPrice).where(
                col(PriceTierPrice.price_tier_id) == tier.id, col(PriceTierPrice.product_id) == product.id
            )
        )
        .scalars()
        .first()
    )
    if blank:
        if existing is not None:
            session.delete(existing)
        return None
    price = parse_money(str(unit_price).strip().lstrip("$"), "unit_price")
    if existing is None:
        session.add(PriceTierPrice(price_tier_id=tier.id, product_id=product.id, unit_price=price))
    else:
        existing.unit_price = price
        session.add(existing)
    session.flush()
    return price


def delete_tier(session: Session, principal: Principal, tier_id: int) -> None:
    """Remove a tier: its customers go back to list prices."""
    tier = _own_tier(session, principal, tier_id)
    for rel in session.execute(
        select(TradeRelationship).where(col(TradeRelationship.price_tier_id) == tier.id)
    ).scalars():
        rel.price_tier_id = None
        rel.updated_at = utcnow()
        session.add(rel)
    session.flush()
    session.execute(delete(PriceTierPrice).where(col(PriceTierPrice.price_tier_id) == tier.id))
    session.delete(tier)


def _ordered_from(session: Session, seller: int):
    """Buyers that have submitted at least one order to this seller (customers without a row yet)."""
    return select(col(Order.buyer_entity_id)).where(
        col(Order.seller_entity_id) == seller, col(Order.submitted_at).is_not(None)
    )


def list_customers(session: Session, principal: Principal) -> list[CustomerRow]:
    """Buyers the seller trades with (a trade relationship, or an order placed with it), and their tier."""
    seller = _seller(principal)
    rows = session.execute(
        select(TradeRelationship, col(Entity.name), col(PriceTier.name))
        .join(Entity, col(Entity.id) == col(TradeRelationship.buyer_entity_id))
        .outerjoin(
            PriceTier,
            (col(PriceTier.id) == col(TradeRelationship.price_tier_id)) & (col(PriceTier.seller_entity_id) == seller),
        )
        .where(col(TradeRelationship.seller_entity_id) == seller)
    ).all()
    out = [
        CustomerRow(
            buyer_entity_id=rel.buyer_entity_id,
            name=name,
            price_tier_id=rel.price_tier_id if tier_name else None,
            price_tier_name=tier_name,
            on_hold=rel.on_hold,
        )
        for rel, name, tier_name in rows
    ]
    known = {c.buyer_entity_id for c in out}
    others = session.execute(
        select(col(Entity.id), col(Entity.name)).where(
            col(Entity.id).in_(_ordered_from(session, seller).distinct()), col(Entity.id).not_in(known or {0})
        )
    ).all()
    out += [
        CustomerRow(buyer_entity_id=i, name=n, price_tier_id=None, price_tier_name=None, on_hold=False)
        for i, n in others
    ]
    return sorted(out, key=lambda c: (c.name.lower(), c.buyer_entity_id))


def assign_tier(session: Session, principal: Principal, buyer_entity_id: int, tier_id: int | None) -> CustomerRow:
    """Give a customer a tier, or none (list prices). A customer is a buyer with a trade relationship
    or an order placed with this seller (its relationship row is created on first assignment)."""
    seller = _seller(principal)
    buyer_id = parse_int(buyer_entity_id, "buyer_entity_id")
    tier = None if tier_id in (None, "", "none") else _own_tier(session, principal, tier_id)
    rel = (
        session.execute(
            select(TradeRelationship)
            .where(
                col(TradeRelationship.seller_entity_id) == seller, col(TradeRelationship.buyer_entity_id) == buyer_id
            )
            .with_for_update()
        )
        .scalars()
        .first()
    )
    if rel is None:
        if (
            session.execute(_ordered_from(session, seller).where(Order.buyer_entity_id == buyer_id).limit(1)).first()
            is None
        ):
            raise NotFound("That customer was not found.")
        rel = TradeRelationship(seller_entity_id=seller, buyer_entity_id=buyer_id)
    rel.price_tier_id = tier.id if tier else None
    rel.updated_at = utcnow()
    try:
        with session.begin_nested():
            session.add(rel)
            session.flush()
    except IntegrityError:
        raise Conflict("That customer was just changed by someone else; reload and try again.") from None
    name = get_row(session, Entity, rel.buyer_entity_id).name
    return CustomerRow(
        buyer_entity_id=rel.buyer_entity_id,
        name=name,
        price_tier_id=rel.price_tier_id,
        price_tier_name=tier.name if tier else None,
        on_hold=rel.on_hold,
    )


__all__ = [
    "CustomerRow",
    "TierPriceRow",
    "TierRow",
    "assign_tier",
    "create_tier",
    "delete_tier",
    "list_customers",
    "list_tiers",
    "set_tier_price",
    "tier_prices",
]
