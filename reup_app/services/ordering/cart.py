"""The buyer's cart (one per user per buying entity, spanning sellers): add, change, remove items.

The cart as shown is built in `cart_view`; checkout is in `checkout_flow`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from reup_app.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from reup_app.models import (
    CartItem,
    Entity,
    License,
    PriceTier,
    Product,
    TradeRelationship,
)
from reup_app.models.enums import (
    PUBLIC_LISTING_STATES,
    EntityStatus,
    PaymentTerms,
    UnitOfMeasure,
)
from reup_app.models.types import utcnow
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services.common import (
    acting_user,
    begin_read_committed,
    fmt_qty,
    load_columns,
    parse_int,
    parse_quantity,
    require_member,
)

PUBLIC_STATES = frozenset(str(s) for s in PUBLIC_LISTING_STATES)
ALL_TERMS = tuple(str(t) for t in PaymentTerms)


# --------------------------------------------------------------------------------------------
# DTOs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CartItemDTO:
    cart_item_id: int
    product_id: int
    quantity: Decimal


# --------------------------------------------------------------------------------------------
# Rules shared by the cart and checkout
# --------------------------------------------------------------------------------------------


def offered_terms(seller: Entity) -> list[str]:
    """The seller's offered payment terms, in the seller's order, unknown values dropped."""
    seen = []
    for raw in (seller.payment_terms_offered or "").split(","):
        t = raw.strip().lower()
        if t in ALL_TERMS and t not in seen:
            seen.append(t)
    return seen


def hold_message(seller: Entity) -> str:
    return f"Pay your prior balance to {seller.name} before placing new orders."


# Only the columns the order flow reads: narrower rows are cheaper to fetch and decode.
_LICENSE_COLS = load_columns(License, "id", "entity_id", "state", "number", "status", "expires_on")
_PRODUCT_COLS = load_columns(
    Product,
    "id",
    "entity_id",
    "sku",
    "name",
    "unit_of_measure",
    "unit_price",
    "min_order_qty",
    "listing_state",
    "available_qty",
)
BUYER_NOT_APPROVED = "Your business must be approved before it can place orders."


def _buyer_name(session: Session, entity_id: int) -> str:
    """The buying entity's name; PermissionDenied unless it is approved."""
    row = session.execute(select(col(Entity.status), col(Entity.name)).where(col(Entity.id) == entity_id)).first()
    if row is None or row.status != EntityStatus.APPROVED:
        raise PermissionDenied(BUYER_NOT_APPROVED)
    return row.name


def _sellable_product(session: Session, product_id: Any, buyer_entity_id: int) -> Product:
    """A product the buyer may order: public listing state and an approved seller; else NotFound.

    One query: the product, its seller's status and the buyer's status.
    """
    pid = parse_int(product_id, "product_id")
    buyer_status = select(col(Entity.status)).where(col(Entity.id) == buyer_entity_id).scalar_subquery()
    row = session.execute(
        select(Product, col(Entity.status), buyer_status)
        .options(_PRODUCT_COLS)
        .join(Entity, col(Entity.id) == col(Product.entity_id))
        .where(col(Product.id) == pid)
    ).first()
    if row is not None and row[2] != EntityStatus.APPROVED:
        raise PermissionDenied(BUYER_NOT_APPROVED)
    if row is None or row[0].listing_state not in PUBLIC_STATES or row[1] != EntityStatus.APPROVED:
        raise NotFound("That product is not available.")
    if row[0].entity_id == buyer_entity_id:
        raise ValidationError("You can't order your own products.", "product_id")
    return row[0]


def _check_quantity(product: Product, qty: Decimal, *, check_stock: bool = True) -> None:
    uom = product.unit_of_measure
    if uom == UnitOfMeasure.EACH and qty != qty.to_integral_value():
        raise ValidationError(f"{product.name} is sold in whole units.", "quantity")
    if qty < product.min_order_qty:
        raise ValidationError(
            f"The minimum order for {product.name} is {fmt_qty(product.min_order_qty)} {uom}.", "quantity"
        )
    if check_stock and qty > product.available_qty:
        raise Conflict(f"Only {fmt_qty(product.available_qty)} {uom} of {product.name} available.")


def _line_issue(product: Product | None, seller: Entity | None, qty: Decimal, buyer_entity_id: int) -> str | None:
    if (
        product is None
        or seller is None
        or product.listing_state not in PUBLIC_STATES
        or seller.status != EntityStatus.APPROVED
    ):
        return "No longer available."
    if product.entity_id == buyer_entity_id:
        return "You can't order your own products."
    try:
        _check_quantity(product, qty)
    except (ValidationError, Conflict) as err:
        return str(err)
    return None


# --------------------------------------------------------------------------------------------
# Cart items
# --------------------------------------------------------------------------------------------


def lock_cart(session: Session, entity_id: int, user_id: int) -> list[CartItem]:
    """The user's cart rows, locked FOR UPDATE through the owner index.

    The index hint matters on MySQL/MariaDB: on a small table the optimizer prefers a full scan,
    and a locking full scan waits on every other buyer's locked cart rows.
    """
    return list(
        session.execute(
            select(CartItem)
            .with_hint(CartItem, "FORCE INDEX (uq_cart_items_owner_product)", "mysql")
            .where(col(CartItem.buyer_entity_id) == entity_id, col(CartItem.user_id) == user_id)
            .order_by(col(CartItem.id))
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalars()
    )


def _cart_owner(principal: Principal) -> int:
    entity_id = require_member(principal)
    authorize(principal, "cart.manage", entity_id)
    return entity_id


def _own_item(session: Session, principal: Principal, cart_item_id: Any, *, lock: bool = True) -> CartItem:
    entity_id = _cart_owner(principal)
    stmt = select(CartItem).where(
        col(CartItem.id) == parse_int(cart_item_id, "cart_item_id"),
        col(CartItem.buyer_entity_id) == entity_id,
        col(CartItem.user_id) == principal.user_id,
    )
    if lock:
        stmt = stmt.with_for_update()
    item = session.execute(stmt.execution_options(populate_existing=True)).scalars().first()
    if item is None:
        raise NotFound("That item is no longer in your cart.")
    return item


def add_to_cart(session: Session, principal: Principal, product_id: int, quantity: Decimal | str) -> CartItemDTO:
    """Add `quantity` of a product to the principal's cart (adding to what is there already)."""
    begin_read_committed(session)
    entity_id = _cart_owner(principal)
    qty = parse_quantity(quantity)
    product = _sellable_product(session, product_id, entity_id)
    owner = (
        col(CartItem.buyer_entity_id) == entity_id,
        col(CartItem.user_id) == principal.user_id,
        col(CartItem.product_id) == product.id,
    )
    item = (
        session.execute(select(CartItem).where(*owner).with_for_update().execution_options(populate_existing=True))
        .scalars()
        .first()
    )
    if item is None:
        _check_quantity(product, qty)
        item = CartItem(buyer_entity_id=entity_id, user_id=acting_user(principal), product_id=product.id, quantity=qty)
        try:
            with session.begin_nested():
                session.add(item)
                session.flush()
            return CartItemDTO(item.id, product.id, item.quantity)
        except IntegrityError:  # the same user added the same product at the same moment
            item = (
                session.execute(
                    select(CartItem).where(*owner).with_for_update().execution_options(populate_existing=True)
                )
                .scalars()
                .one()
            )
    new_qty = item.quantity + qty
    _check_quantity(product, new_qty)
    item.quantity = new_qty
    item.updated_at = utcnow()
    session.add(item)
    session.flush()
    return CartItemDTO(item.id, product.id, item.quantity)


def update_cart_item(session: Session, principal: Principal, cart_item_id: int, quantity: Decimal | str) -> CartItemDTO:
    """Set the quantity of one of the principal's cart items."""
    begin_read_committed(session)
    qty = parse_quantity(quantity)
    item = _own_item(session, principal, cart_item_id)
    product = _sellable_product(session, item.product_id, item.buyer_entity_id)
    _check_quantity(product, qty)
    item.quantity = qty
    item.updated_at = utcnow()
    session.add(item)
    session.flush()
    return CartItemDTO(item.id, product.id, item.quantity)


def remove_cart_item(session: Session, principal: Principal, cart_item_id: int) -> None:
    begin_read_committed(session)
    item = _own_item(session, principal, cart_item_id)
    session.delete(item)
    session.flush()


def clear_cart(session: Session, principal: Principal) -> int:
    """Empty the principal's cart; returns how many items were removed."""
    begin_read_committed(session)
    entity_id = _cart_owner(principal)
    items = lock_cart(session, entity_id, acting_user(principal))
    for item in items:
        session.delete(item)
    session.flush()
    return len(items)


def _sellers_for(
    session: Session, buyer_entity_id: int, seller_ids: list[int]
) -> tuple[dict[int, Entity], set[int], dict[int, int]]:
    """Sellers, the ones holding this buyer, and the price tier each assigns it (one query)."""
    rows = session.execute(
        select(
            Entity,
            col(TradeRelationship.on_hold),
            col(TradeRelationship.price_tier_id),
            col(PriceTier.seller_entity_id),
        )
        .options(load_columns(Entity, "id", "name", "status", "payment_terms_offered", "min_order_amount"))
        .outerjoin(
            TradeRelationship,
            and_(
                col(TradeRelationship.seller_entity_id) == col(Entity.id),
                col(TradeRelationship.buyer_entity_id) == buyer_entity_id,
            ),
        )
        .outerjoin(PriceTier, col(PriceTier.id) == col(TradeRelationship.price_tier_id))
        .where(col(Entity.id).in_(seller_ids))
    ).all()
    sellers = {e.id: e for e, *_ in rows}
    holds = {e.id for e, on_hold, *_ in rows if on_hold}
    tiers = {e.id: tier for e, _h, tier, owner in rows if tier is not None and owner == e.id}
    return sellers, holds, tiers


def _holds(session: Session, buyer_entity_id: int, seller_ids: Iterable[int]) -> set[int]:
    ids = list(seller_ids)
    if not ids:
        return set()
    return set(
        session.execute(
            select(col(TradeRelationship.seller_entity_id)).where(
                col(TradeRelationship.buyer_entity_id) == buyer_entity_id,
                col(TradeRelationship.seller_entity_id).in_(ids),
                col(TradeRelationship.on_hold).is_(True),
            )
        ).scalars()
    )


# --------------------------------------------------------------------------------------------
# Checkout
# --------------------------------------------------------------------------------------------
