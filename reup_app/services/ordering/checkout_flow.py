"""Checkout: turn the buyer's cart into one submitted order per seller license.

Checkout splits the cart per seller (Nabis/LeafLink style), each with its own payment terms,
delivery preferences and notes, and each seller's part into one order per seller license that
ships it (`license_split`: an order draws on one license's packages). Orders go straight to
"submitted" with their stock reserved in the same transaction. A seller whose part can't be
ordered (hold, minimum, stock, terms) is reported in `CheckoutResult.skipped` and its items stay
in the cart; the other sellers' orders are placed. Call `checkout` in its own unit of work.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from reup_app.errors import (
    NotFound,
    ServiceError,
    ValidationError,
)
from reup_app.models import (
    CartItem,
    Entity,
    License,
    Order,
    OrderEvent,
    OrderLine,
    Product,
)
from reup_app.models.enums import (
    OrderStatus,
)
from reup_app.models.types import utcnow
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services.billing.tax import wholesale_tax
from reup_app.services.catalog.pricing import buyer_unit_prices
from reup_app.services.common import (
    ZERO,
    acting_user,
    begin_read_committed,
    check_idempotency_key,
    money_str,
    new_numbers,
    parse_int,
    q2,
    require_member,
)
from reup_app.services.inventory import lots as inventory
from reup_app.services.ordering.cart import (
    PUBLIC_STATES,
    _buyer_name,
    _check_quantity,
    _sellers_for,
    lock_cart,
)
from reup_app.services.ordering.checkout_licenses import _buyer_license, _license_parts, _seller_licenses
from reup_app.services.ordering.checkout_plans import _normalise_choices, _plan_seller, _SellerPlan
from reup_app.services.ordering.records import (
    OrderSummary,
    emit_order_event,
    record_event,
    summaries,
)

ORDER_NUMBER_PREFIX = "RU-"


@dataclass(frozen=True)
class SkippedSeller:
    seller_entity_id: int
    seller_name: str
    reason: str  # why nothing was ordered from this seller (its items stay in the cart)


@dataclass(frozen=True)
class CheckoutResult:
    orders: list[OrderSummary]
    replayed: bool  # True when this idempotency key had already checked out: nothing changed
    skipped: list[SkippedSeller] = field(default_factory=list)


def orders_placed_with(session: Session, entity_id: int, key: str) -> list[Order]:
    """The orders the business's checkout with this idempotency key submitted (none: not placed)."""
    ids = list(
        session.execute(
            select(col(Order.id))
            .join(OrderEvent, col(OrderEvent.order_id) == col(Order.id))
            .where(
                col(Order.buyer_entity_id) == entity_id,
                col(OrderEvent.kind) == "submitted",
                col(OrderEvent.idempotency_key) == key,
            )
            .order_by(col(Order.id))
        )
        .scalars()
        .unique()
    )
    if not ids:
        return []
    return list(session.execute(select(Order).where(col(Order.id).in_(ids)).order_by(col(Order.id))).scalars())


def checkout(
    session: Session,
    principal: Principal,
    *,
    buyer_license_id: int,
    choices: Mapping[Any, Mapping[str, Any]] | None = None,
    idempotency_key: str,
    seller_entity_ids: Iterable[int] | None = None,
) -> CheckoutResult:
    """Turn the principal's cart into one submitted order per seller, reserving their stock.

    `choices` maps seller entity id -> {payment_terms, delivery_preferences,
    requested_delivery_start, requested_delivery_end, notes, seller_license_id}; payment terms
    default to the seller's first offered term. `seller_entity_ids` limits checkout to those
    sellers' items (the rest stay in the cart). A seller whose part can't be ordered is listed in
    `skipped` with the reason and its items stay in the cart; when no seller's part can be
    ordered, the first seller's error is raised. Retrying with the same `idempotency_key` returns
    the orders already placed and changes nothing.
    """
    begin_read_committed(session)
    entity_id = require_member(principal)
    authorize(principal, "order.place", entity_id)
    key = check_idempotency_key(idempotency_key, required=True)
    # Lock this user's cart first: a concurrent double-submit waits here, then sees the orders.
    items = lock_cart(session, entity_id, acting_user(principal))
    done = orders_placed_with(session, entity_id, key)
    if done:
        return CheckoutResult(orders=summaries(session, done), replayed=True)
    buyer_name = _buyer_name(session, entity_id)
    buyer_license = _buyer_license(session, entity_id, buyer_license_id)
    if not items:
        raise ValidationError("Your cart is empty.")
    chosen = _normalise_choices(choices)
    # From here on the cart's products and their lots are locked (FOR UPDATE) until commit.
    stock = inventory.StockLock(session, [i.product_id for i in items])
    items = _items_for_sellers(items, stock.products, seller_entity_ids)
    seller_ids = sorted({stock.products[i.product_id].entity_id for i in items})
    sellers, holds, tiers = _sellers_for(session, entity_id, seller_ids)
    prices = buyer_unit_prices(session, entity_id, [stock.products[i.product_id] for i in items], tiers=tiers)
    licenses = _seller_licenses(session, seller_ids, buyer_license.state)
    ready, skipped, errors = _ready_parts(
        items, stock, sellers, holds, chosen, prices, licenses, buyer_license=buyer_license, entity_id=entity_id
    )
    if not ready:
        raise errors[0]
    order_lines = _build_orders(session, ready, stock, prices, buyer_license=buyer_license, principal=principal)
    _save_and_reserve(session, order_lines, stock)
    _record_submissions(session, principal, order_lines, key)
    placed = {part.plan.seller.id for part in ready}
    for item in items:
        if stock.products[item.product_id].entity_id in placed:
            session.delete(item)
    session.flush()
    return CheckoutResult(orders=_summaries_of(order_lines, buyer_name, sellers), replayed=False, skipped=skipped)


@dataclass(frozen=True)
class _ReadyPart:
    """One order to place: a seller's plan, the seller license it ships under, and its lines."""

    plan: _SellerPlan
    license: License
    lines: list[tuple[int, Decimal]]  # (product id, quantity)


def _ready_parts(
    items: list[CartItem],
    stock: inventory.StockLock,
    sellers: Mapping[int, Entity],
    holds: set[int],
    chosen: dict[int, dict[str, Any]],
    prices: Mapping[int, Decimal],
    licenses: Mapping[int, list[License]],
    *,
    buyer_license: License,
    entity_id: int,
) -> tuple[list[_ReadyPart], list[SkippedSeller], list[ServiceError]]:
    """Each seller's orders (one per seller license), or why that seller's part can't be ordered."""
    ready: list[_ReadyPart] = []
    skipped: list[SkippedSeller] = []
    errors: list[ServiceError] = []
    for seller_id in sorted(sellers):
        try:
            plan = _plan_seller(items, stock.products, sellers[seller_id], holds, chosen)
            _check_items_orderable(plan.items, stock.products, entity_id)
            _check_minimum(plan, prices)
            parts = _license_parts(plan, licenses.get(seller_id, []), buyer_license.state, stock)
        except ServiceError as err:
            errors.append(err)
            skipped.append(SkippedSeller(seller_id, sellers[seller_id].name, str(err)))
            continue
        ready.extend(_ReadyPart(plan, license, lines) for license, lines in parts)
    return ready, skipped, errors


def _check_minimum(plan: _SellerPlan, prices: Mapping[int, Decimal]) -> None:
    """The seller's minimum order applies to everything ordered from it in this checkout (also when
    its part is split over several of its licenses)."""
    subtotal = sum((q2(i.quantity * prices[i.product_id]) for i in plan.items), ZERO)
    if subtotal < plan.seller.min_order_amount:
        raise ValidationError(
            f"{plan.seller.name} has a minimum order of ${money_str(plan.seller.min_order_amount)}; your "
            f"order from them comes to ${money_str(subtotal)}.",
            "cart",
        )


def _build_orders(
    session: Session,
    parts: list[_ReadyPart],
    stock: inventory.StockLock,
    prices: Mapping[int, Decimal],
    *,
    buyer_license: License,
    principal: Principal,
) -> list[tuple[Order, list[OrderLine]]]:
    """One numbered, submitted order (with its lines) per seller license."""
    now = utcnow()
    numbers = new_numbers(session, Order.number, ORDER_NUMBER_PREFIX, len(parts))
    order_lines: list[tuple[Order, list[OrderLine]]] = []
    for part, number in zip(parts, numbers, strict=True):
        lines = _order_lines_for(part.lines, stock, prices)
        order = _new_order(
            part.plan,
            lines,
            number=number,
            buyer_entity_id=buyer_license.entity_id,
            license=part.license,
            buyer_license=buyer_license,
            principal=principal,
            now=now,
        )
        order_lines.append((order, lines))
    return order_lines


def _items_for_sellers(
    items: list[CartItem], products: Mapping[int, Product], seller_entity_ids: Iterable[int] | None
) -> list[CartItem]:
    """The cart items to check out: all of them, or only those from `seller_entity_ids`."""
    missing = next((i for i in items if i.product_id not in products), None)
    if missing is not None:
        raise NotFound("A product in your cart no longer exists; remove it from your cart.")
    if seller_entity_ids is None:
        return items
    wanted = {parse_int(s, "seller_entity_ids") for s in seller_entity_ids}
    items = [i for i in items if products[i.product_id].entity_id in wanted]
    if not items:
        raise ValidationError("Your cart has nothing from those sellers.")
    return items


def _check_items_orderable(items: list[CartItem], products: Mapping[int, Product], entity_id: int) -> None:
    """Each product is still listed, not the buyer's own, and ordered in a valid quantity."""
    for item in items:
        product = products[item.product_id]
        if product.listing_state not in PUBLIC_STATES:
            raise NotFound(f"{product.name} is no longer available; remove it from your cart.")
        if product.entity_id == entity_id:
            raise ValidationError("You can't order your own products.")
        _check_quantity(product, item.quantity, check_stock=False)


def _order_lines_for(
    lines: list[tuple[int, Decimal]], stock: inventory.StockLock, prices: Mapping[int, Decimal]
) -> list[OrderLine]:
    """The order lines of one order, at the buyer's unit prices."""
    out = []
    for product_id, quantity in lines:
        product = stock.products[product_id]
        price = prices[product.id]
        out.append(
            OrderLine(  # type: ignore[call-arg]  # order_id is set once the order is flushed (_save_and_reserve)
                product_id=product.id,
                sku=product.sku,
                product_name=product.name,
                quantity=quantity,
                unit_price=price,
                line_total=q2(quantity * price),
            )
        )
    return out


def _new_order(
    plan: _SellerPlan,
    lines: list[OrderLine],
    *,
    number: str,
    buyer_entity_id: int,
    license: License,
    buyer_license: License,
    principal: Principal,
    now: datetime,
) -> Order:
    """A submitted order for one seller license (minimum checked by `_check_minimum`); taxed by license state."""
    subtotal = sum((ln.line_total for ln in lines), ZERO)
    tax = wholesale_tax(subtotal, license.state)
    return Order(
        number=number,
        buyer_entity_id=buyer_entity_id,
        buyer_license_id=buyer_license.id,
        seller_entity_id=plan.seller.id,
        seller_license_id=license.id,
        status=str(OrderStatus.SUBMITTED),
        payment_terms=plan.terms,
        subtotal=subtotal,
        tax=tax,
        total=subtotal + tax,
        notes=plan.notes,
        delivery_preferences=plan.delivery_preferences,
        requested_delivery_start=plan.start,
        requested_delivery_end=plan.end,
        created_by_user_id=principal.user_id,
        submitted_at=now,
        created_at=now,
        updated_at=now,
    )


def _save_and_reserve(
    session: Session, order_lines: list[tuple[Order, list[OrderLine]]], stock: inventory.StockLock
) -> None:
    """Insert the orders and their lines, then reserve stock for every line."""
    session.add_all([order for order, _ in order_lines])
    session.flush()
    all_lines = []
    for order, lines in order_lines:
        for ln in lines:
            ln.order_id = order.id
        all_lines.extend(lines)
    session.add_all(all_lines)
    session.flush()
    for order, lines in order_lines:
        for ln in lines:
            stock.reserve_line(ln, order.seller_license_id)
    stock.settle()


def _record_submissions(
    session: Session, principal: Principal, order_lines: list[tuple[Order, list[OrderLine]]], key: str | None
) -> None:
    """Each order's "submitted" timeline entry and its order.submitted event."""
    for order, lines in order_lines:
        record_event(
            session,
            order,
            "submitted",
            principal,
            from_status=None,
            to_status=str(OrderStatus.SUBMITTED),
            detail={
                "source": "checkout",
                "lines": len(lines),
                "total": str(order.total),
                "payment_terms": order.payment_terms,
            },
            idempotency_key=key,
        )
        emit_order_event(session, "order.submitted", order, line_count=len(lines))


def _summaries_of(
    order_lines: list[tuple[Order, list[OrderLine]]], buyer_name: str, sellers: Mapping[int, Entity]
) -> list[OrderSummary]:
    return [
        OrderSummary(
            number=o.number,
            status=o.status,
            buyer_entity_id=o.buyer_entity_id,
            buyer_name=buyer_name,
            seller_entity_id=o.seller_entity_id,
            seller_name=sellers[o.seller_entity_id].name,
            payment_terms=o.payment_terms,
            subtotal=o.subtotal,
            tax=o.tax,
            total=o.total,
            line_count=len(lines),
            created_at=o.created_at,
            submitted_at=o.submitted_at,
            updated_at=o.updated_at,
        )
        for o, lines in order_lines
    ]
