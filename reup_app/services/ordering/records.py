"""Order DTOs (what pages receive) and the order timeline writer shared by checkout and orders.

DTOs are plain frozen dataclasses: Decimals for money and quantities, aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Select, Table, func, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from reup_app.events.orders import emit_order_event as emit_order_event  # re-exported: moved below billing
from reup_app.events.orders import order_payload as order_payload
from reup_app.models import (
    Entity,
    Order,
    OrderEvent,
    OrderLine,
)
from reup_app.security.principal import Principal
from reup_app.services.common import (
    to_json,
)


@dataclass(frozen=True)
class OrderSummary:
    number: str
    status: str
    buyer_entity_id: int
    buyer_name: str
    seller_entity_id: int
    seller_name: str
    payment_terms: str
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    line_count: int
    created_at: datetime
    submitted_at: datetime | None
    updated_at: datetime


@dataclass(frozen=True)
class AllocationDTO:
    id: int
    order_line_id: int
    inventory_lot_id: int
    package_label: str
    quantity: Decimal
    # False while the order is not yet fulfilled: the package is reserved provisionally and the
    # seller may still pick another one at fulfillment.
    confirmed: bool


@dataclass(frozen=True)
class OrderLineDTO:
    id: int
    product_id: int
    sku: str
    product_name: str
    quantity: Decimal
    unit_price: Decimal
    line_total: Decimal
    allocations: list[AllocationDTO] = field(default_factory=list)


@dataclass(frozen=True)
class OrderEventDTO:
    id: int
    kind: str  # "submitted", "accepted", ..., "lines_edited"
    from_status: str | None
    to_status: str | None
    actor_user_id: int | None
    actor_name: str | None  # None for the system
    actor_entity_id: int | None
    actor_entity_name: str | None
    detail: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class MessageDTO:
    id: int
    order_number: str
    author_user_id: int
    author_name: str
    author_entity_id: int
    author_entity_name: str
    body: str
    created_at: datetime


@dataclass(frozen=True)
class OrderDetail:
    number: str
    status: str
    side: str | None  # "buyer" / "seller" for a party; None for a platform admin or the system
    buyer_entity_id: int
    buyer_name: str
    buyer_license_id: int
    buyer_license_number: str
    seller_entity_id: int
    seller_name: str
    seller_license_id: int
    seller_license_number: str
    payment_terms: str
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    notes: str | None
    delivery_preferences: str | None
    requested_delivery_start: datetime | None
    requested_delivery_end: datetime | None
    created_at: datetime
    submitted_at: datetime | None
    accepted_at: datetime | None
    fulfilled_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    updated_at: datetime
    lines: list[OrderLineDTO]
    events: list[OrderEventDTO]  # the timeline, oldest first
    messages: list[MessageDTO]  # oldest first
    invoice_number: str | None
    invoice_status: str | None
    invoice_balance: Decimal | None
    delivery_status: str | None
    manifest_status: str | None
    # Transition actions this principal may perform now (drives the page's buttons).
    available_actions: list[str]
    delivery_driver: str | None = None  # the latest delivery's driver and vehicle, as recorded
    delivery_vehicle: str | None = None


@dataclass(frozen=True)
class OrderPage:
    items: list[OrderSummary]
    page: int
    page_size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def _line_count() -> Any:
    return (
        select(func.count(col(OrderLine.id)))
        .where(col(OrderLine.order_id) == col(Order.id))
        .correlate(Order)
        .scalar_subquery()
    )


@lru_cache(maxsize=1)
def summary_query():
    """(select of (Order, buyer name, seller name, line count), buyer alias, seller alias). Built
    once (statements are immutable: callers add their filters to a copy)."""
    buyer, seller = aliased(Entity), aliased(Entity)
    stmt = (
        select(Order, col(buyer.name), col(seller.name), _line_count())
        .join(buyer, col(buyer.id) == col(Order.buyer_entity_id))
        .join(seller, col(seller.id) == col(Order.seller_entity_id))
    )
    return stmt, buyer, seller


@lru_cache(maxsize=1)
def summary_columns_query() -> tuple[Select[Any], Table]:
    """The same rows as `summary_query` with only the columns an `OrderSummary` shows, as a Core
    statement (no ORM entities or ORM execution: long lists such as the public API's feed), read by
    `summary_from_columns`; the first column is the order id. Returns (statement, the orders
    table): filter on the table's columns (`orders.c.status`, ...) to keep the statement Core."""
    orders = cast(Table, sa_inspect(Order).local_table)
    entities = cast(Table, sa_inspect(Entity).local_table)
    lines = cast(Table, sa_inspect(OrderLine).local_table)
    buyer, seller = entities.alias("buyer"), entities.alias("seller")
    line_count = select(func.count(lines.c.id)).where(lines.c.order_id == orders.c.id).correlate(orders)
    o = orders.c
    stmt = (
        select(
            o.id,
            o.number,
            o.status,
            o.buyer_entity_id,
            buyer.c.name,
            o.seller_entity_id,
            seller.c.name,
            o.payment_terms,
            o.subtotal,
            o.tax,
            o.total,
            line_count.scalar_subquery(),
            o.created_at,
            o.submitted_at,
            o.updated_at,
        )
        .join_from(orders, buyer, buyer.c.id == o.buyer_entity_id)
        .join(seller, seller.c.id == o.seller_entity_id)
    )
    return stmt, orders


def summary_from_columns(row: Sequence[Any]) -> OrderSummary:
    _id, number, status, buyer_id, buyer_name, seller_id, seller_name, terms, subtotal, tax, total, lines = row[:12]
    return OrderSummary(
        number=number,
        status=status,
        buyer_entity_id=buyer_id,
        buyer_name=buyer_name,
        seller_entity_id=seller_id,
        seller_name=seller_name,
        payment_terms=terms,
        subtotal=subtotal,
        tax=tax,
        total=total,
        line_count=int(lines or 0),
        created_at=row[12],
        submitted_at=row[13],
        updated_at=row[14],
    )


def summary_from_row(order: Order, buyer_name: str, seller_name: str, line_count: int) -> OrderSummary:
    return OrderSummary(
        number=order.number,
        status=order.status,
        buyer_entity_id=order.buyer_entity_id,
        buyer_name=buyer_name,
        seller_entity_id=order.seller_entity_id,
        seller_name=seller_name,
        payment_terms=order.payment_terms,
        subtotal=order.subtotal,
        tax=order.tax,
        total=order.total,
        line_count=int(line_count or 0),
        created_at=order.created_at,
        submitted_at=order.submitted_at,
        updated_at=order.updated_at,
    )


def summaries(session: Session, orders: Sequence[Order]) -> list[OrderSummary]:
    if not orders:
        return []
    stmt, _, _ = summary_query()
    rows = session.execute(stmt.where(col(Order.id).in_([o.id for o in orders]))).all()
    by_id = {row[0].id: summary_from_row(*row) for row in rows}
    return [by_id[o.id] for o in orders if o.id in by_id]


def record_event(
    session: Session,
    order: Order,
    kind: str,
    principal: Principal,
    *,
    from_status: str | None,
    to_status: str | None,
    detail: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> OrderEvent:
    """Append to the order's timeline (who, when, from/to, JSON detail)."""
    ev = OrderEvent(
        order_id=order.id,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        actor_user_id=principal.user_id if principal.is_authenticated else None,
        actor_entity_id=principal.entity_id if principal.is_authenticated else None,
        detail=to_json(detail) if detail else None,
        idempotency_key=idempotency_key,
    )
    session.add(ev)
    return ev


def _lines(session: Session, order: Order) -> list[OrderLine]:
    return list(
        session.execute(
            select(OrderLine).where(col(OrderLine.order_id) == order.id).order_by(col(OrderLine.id))
        ).scalars()
    )
