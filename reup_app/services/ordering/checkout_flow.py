"""Checkout: turn the buyer's cart into one submitted order per seller.

Checkout splits the cart into one order per seller (Nabis/LeafLink style), each with its own
payment terms, delivery preferences and notes, places them straight in "submitted", and reserves
their stock in the same transaction. Call `checkout` in its own unit of work.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from reup_app.errors import (
    NotFound,
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
    _lock_cart,
    _sellers_for,
)
from reup_app.services.ordering.checkout_licenses import _buyer_license, _seller_license, _seller_licenses
from reup_app.services.ordering.checkout_plans import _normalise_choices, _plan_sellers, _SellerPlan
from reup_app.services.ordering.records import (
    OrderSummary,
    emit_order_event,
    record_event,
    summaries,
)

ORDER_NUMBER_PREFIX = "RU-"


@dataclass(frozen=True)
class CheckoutResult:
    orders: list[OrderSummary]
    replayed: bool  # True when this idempotency key had already checked out: nothing changed


def _replay(session: Session, entity_id: int, key: str) -> list[Order]:
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
    sellers' items (the rest stay in the cart). Refused as a whole, with a message naming the
    seller or product, when any order can't be placed. Retrying with the same `idempotency_key`
    returns the orders already placed and changes nothing.
    """
    begin_read_committed(session)
    entity_id = require_member(principal)
    authorize(principal, "order.place", entity_id)
    key = check_idempotency_key(idempotency_key, required=True)
    # Lock this user's cart first: a concurrent double-submit waits here, then sees the orders.
    items = _lock_cart(session, entity_id, acting_user(principal))
    done = _replay(session, entity_id, key)
    if done:
        return CheckoutResult(orders=summaries(session, done), replayed=True)
    buyer_name = _buyer_name(session, entity_id)
    buyer_license = _buyer_license(session, entity_id, buyer_license_id)
    if not items:
        raise ValidationError("Your cart is empty.")
    # From here on the cart's products and their lots are locked (FOR UPDATE) until commit.
    stock = inventory.StockLock(session, [i.product_id for i in items])
    items = _items_for_sellers(items, stock.products, seller_entity_ids)
    seller_ids = sorted({stock.products[i.product_id].entity_id for i in items})
    sellers, holds, tiers = _sellers_for(session, entity_id, seller_ids)
    plans = _plan_sellers(items, stock.products, sellers, holds, seller_ids, _normalise_choices(choices))
    _check_items_orderable(items, stock.products, entity_id)
    prices = buyer_unit_prices(session, entity_id, [stock.products[i.product_id] for i in items], tiers=tiers)
    licenses = _seller_licenses(session, seller_ids, buyer_license.state)

    order_lines = _build_orders(
        session, plans, licenses, stock, prices, buyer_license=buyer_license, principal=principal
    )
    _save_and_reserve(session, order_lines, stock)
    _record_submissions(session, principal, order_lines, key)
    for item in items:
        session.delete(item)
    session.flush()
    return CheckoutResult(orders=_summaries_of(order_lines, buyer_name, sellers), replayed=False)


def _build_orders(
    session: Session,
    plans: list[_SellerPlan],
    licenses: Mapping[int, list[License]],
    stock: inventory.StockLock,
    prices: Mapping[int, Decimal],
    *,
    buyer_license: License,
    principal: Principal,
) -> list[tuple[Order, list[OrderLine]]]:
    """One numbered, submitted order (with its lines) per seller plan, under the chosen seller license."""
    now = utcnow()
    numbers = new_numbers(session, Order.number, ORDER_NUMBER_PREFIX, len(plans))
    order_lines: list[tuple[Order, list[OrderLine]]] = []
    for plan, number in zip(plans, numbers, strict=True):
        license = _seller_license(plan, licenses.get(plan.seller.id, []), buyer_license.state, stock)
        lines = _order_lines_for(plan, stock, prices)
        order = _new_order(
            plan,
            lines,
            number=number,
            buyer_entity_id=buyer_license.entity_id,
            license=license,
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


def _order_lines_for(plan: _SellerPlan, stock: inventory.StockLock, prices: Mapping[int, Decimal]) -> list[OrderLine]:
    """The order lines for one seller's items, at the buyer's unit prices."""
    lines = []
    for item in plan.items:
        product = stock.products[item.product_id]
        price = prices[product.id]
        lines.append(
            OrderLine(  # type: ignore[call-arg]  # order_id is set once the order is flushed (_save_and_reserve)
                product_id=product.id,
                sku=product.sku,
                product_name=product.name,
                quantity=item.quantity,
                unit_price=price,
                line_total=q2(item.quantity * price),
            )
        )
    return lines


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
    """A submitted order for one seller, after checking the seller's minimum order; taxed by license state."""
    subtotal = sum((ln.line_total for ln in lines), ZERO)
    if subtotal < plan.seller.min_order_amount:
        raise ValidationError(
            f"{plan.seller.name} has a minimum order of ${money_str(plan.seller.min_order_amount)}; your "
            f"order from them comes to ${money_str(subtotal)}.",
            "cart",
        )
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
