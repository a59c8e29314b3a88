"""The cart as the buyer sees it: lines grouped by seller, with prices, terms and problems to fix."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session, col

from reup_app.models import (
    CartItem,
    Entity,
    Product,
)
from reup_app.security.principal import Principal
from reup_app.services.catalog.pricing import buyer_unit_prices
from reup_app.services.common import (
    ZERO,
    q2,
)
from reup_app.services.ordering.cart import _cart_owner, _holds, _line_issue, hold_message, offered_terms


@dataclass(frozen=True)
class CartLine:
    cart_item_id: int
    product_id: int
    sku: str
    name: str
    unit_of_measure: str
    quantity: Decimal
    unit_price: Decimal  # what this buyer pays (price tier or list)
    list_price: Decimal
    line_total: Decimal
    min_order_qty: Decimal
    available_qty: Decimal
    issue: str | None  # why this line can't be checked out as it is, or None


@dataclass(frozen=True)
class CartSellerGroup:
    seller_entity_id: int
    seller_name: str
    lines: list[CartLine]
    subtotal: Decimal
    min_order_amount: Decimal
    meets_minimum: bool
    shortfall: Decimal  # how much more to reach the seller's minimum (0 when met)
    payment_terms_offered: list[str]
    on_hold: bool
    hold_message: str | None
    can_checkout: bool


@dataclass(frozen=True)
class Cart:
    groups: list[CartSellerGroup] = field(default_factory=list)
    item_count: int = 0
    subtotal: Decimal = ZERO


def get_cart(session: Session, principal: Principal) -> Cart:
    """The cart grouped by seller, with this buyer's prices and what stands in the way of checkout."""
    entity_id = _cart_owner(principal)
    items = (
        session.execute(
            select(CartItem)
            .where(col(CartItem.buyer_entity_id) == entity_id, col(CartItem.user_id) == principal.user_id)
            .order_by(col(CartItem.id))
        )
        .scalars()
        .all()
    )
    if not items:
        return Cart()
    products = {
        p.id: p
        for p in session.execute(select(Product).where(col(Product.id).in_([i.product_id for i in items]))).scalars()
    }
    sellers = {
        e.id: e
        for e in session.execute(
            select(Entity).where(col(Entity.id).in_({p.entity_id for p in products.values()}))
        ).scalars()
    }
    holds = _holds(session, entity_id, sellers)
    prices = buyer_unit_prices(session, entity_id, list(products.values()))
    by_seller: dict[int, list[CartLine]] = defaultdict(list)
    for item in items:
        product = products.get(item.product_id)
        seller = sellers.get(product.entity_id) if product else None
        line = _cart_line(item, product, seller, prices.get(item.product_id, ZERO), entity_id)
        by_seller[product.entity_id if product else 0].append(line)
    groups = []
    for seller_id in sorted(by_seller, key=lambda s: (sellers[s].name.lower() if s in sellers else "", s)):
        groups.append(_seller_group(seller_id, sellers.get(seller_id), by_seller[seller_id], seller_id in holds))
    return Cart(groups=groups, item_count=len(items), subtotal=sum((g.subtotal for g in groups), ZERO))


def _cart_line(
    item: CartItem, product: Product | None, seller: Entity | None, price: Decimal, entity_id: int
) -> CartLine:
    return CartLine(
        cart_item_id=item.id,
        product_id=item.product_id,
        sku=product.sku if product else "",
        name=product.name if product else "Unavailable product",
        unit_of_measure=product.unit_of_measure if product else "",
        quantity=item.quantity,
        unit_price=price,
        list_price=product.unit_price if product else ZERO,
        line_total=q2(item.quantity * price),
        min_order_qty=product.min_order_qty if product else ZERO,
        available_qty=product.available_qty if product else ZERO,
        issue=_line_issue(product, seller, item.quantity, entity_id),
    )


def _seller_group(seller_id: int, seller: Entity | None, lines: list[CartLine], on_hold: bool) -> CartSellerGroup:
    """One seller's lines with the subtotal, minimum, terms and hold that decide if they can check out."""
    subtotal = sum((ln.line_total for ln in lines), ZERO)
    minimum = seller.min_order_amount if seller else ZERO
    return CartSellerGroup(
        seller_entity_id=seller_id,
        seller_name=seller.name if seller else "Unavailable seller",
        lines=lines,
        subtotal=subtotal,
        min_order_amount=minimum,
        meets_minimum=subtotal >= minimum,
        shortfall=max(ZERO, minimum - subtotal),
        payment_terms_offered=offered_terms(seller) if seller else [],
        on_hold=on_hold,
        hold_message=hold_message(seller) if on_hold and seller else None,
        can_checkout=bool(seller) and not on_hold and subtotal >= minimum and all(ln.issue is None for ln in lines),
    )
