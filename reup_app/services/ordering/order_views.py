"""Reading orders: the lists for each side, one order's detail, and its messages."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from reup_app.models import (
    ComplianceManifest,
    Delivery,
    Entity,
    Invoice,
    License,
    Order,
    OrderEvent,
    OrderMessage,
    User,
)
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services.billing.invoices import balance_of
from reup_app.services.common import (
    from_json,
    get_row,
    parse_int,
    require_member,
)
from reup_app.services.inventory import lots as inventory
from reup_app.services.ordering.order_filters import SORTS, OrderFilters, counterparties
from reup_app.services.ordering.orders import S, available_actions, load_order
from reup_app.services.ordering.records import (
    AllocationDTO,
    MessageDTO,
    OrderDetail,
    OrderEventDTO,
    OrderLineDTO,
    OrderPage,
    _lines,
    summary_from_row,
    summary_query,
)


def list_orders(
    session: Session,
    principal: Principal,
    *,
    role_side: str | None = None,
    status: str | Iterable[str] | None = None,
    search: str | None = None,
    page: int = 1,
    page_size: int = 25,
    placed_from: Any = None,
    placed_to: Any = None,
    counterparty_id: Any = None,
    sort: str | None = None,
) -> OrderPage:
    """The principal's entity's orders (newest first unless `sort` says otherwise).

    role_side: "buyer" (orders it placed), "seller" (orders it received) or None (both).
    status: one status, several, or "open" (anything not draft/complete/rejected/cancelled).
    search: an order number (or its start) or part of the counterparty's name.
    placed_from / placed_to: dates (UTC, both included); counterparty_id: the other business;
    sort: newest, oldest, total_desc, total_asc (see `order_filters`).
    """
    entity_id = require_member(principal)
    authorize(principal, "order.view", entity_id)
    filters = OrderFilters.parse(
        role_side=role_side,
        status=status,
        search=search,
        placed_from=placed_from,
        placed_to=placed_to,
        counterparty_id=counterparty_id,
        sort=sort,
    )
    page = max(1, parse_int(page, "page"))
    page_size = min(100, max(1, parse_int(page_size, "page_size")))
    stmt, buyer_e, seller_e = summary_query()
    conds = filters.conditions(entity_id, buyer_e, seller_e)
    total = session.execute(select(func.count()).select_from(stmt.where(*conds).subquery())).scalar_one()
    rows = session.execute(
        stmt.where(*conds).order_by(*SORTS[filters.sort]).offset((page - 1) * page_size).limit(page_size)
    ).all()
    return OrderPage(items=[summary_from_row(*row) for row in rows], page=page, page_size=page_size, total=int(total))


def order_counterparties(session: Session, principal: Principal) -> list[tuple[int, str]]:
    """The businesses the principal's entity has orders with (the order list's counterparty filter)."""
    entity_id = require_member(principal)
    authorize(principal, "order.view", entity_id)
    return counterparties(session, entity_id)


def _detail(session: Session, principal: Principal, order: Order, side: str | None) -> OrderDetail:
    buyer, seller = get_row(session, Entity, order.buyer_entity_id), get_row(session, Entity, order.seller_entity_id)
    buyer_lic, seller_lic = session.get(License, order.buyer_license_id), session.get(License, order.seller_license_id)
    invoice, delivery, manifest = _paperwork(session, order)
    return OrderDetail(
        number=order.number,
        status=order.status,
        side=side,
        buyer_entity_id=order.buyer_entity_id,
        buyer_name=buyer.name,
        buyer_license_id=order.buyer_license_id,
        buyer_license_number=buyer_lic.number if buyer_lic else "",
        seller_entity_id=order.seller_entity_id,
        seller_name=seller.name,
        seller_license_id=order.seller_license_id,
        seller_license_number=seller_lic.number if seller_lic else "",
        payment_terms=order.payment_terms,
        subtotal=order.subtotal,
        tax=order.tax,
        total=order.total,
        notes=order.notes,
        delivery_preferences=order.delivery_preferences,
        requested_delivery_start=order.requested_delivery_start,
        requested_delivery_end=order.requested_delivery_end,
        created_at=order.created_at,
        submitted_at=order.submitted_at,
        accepted_at=order.accepted_at,
        fulfilled_at=order.fulfilled_at,
        shipped_at=order.shipped_at,
        delivered_at=order.delivered_at,
        completed_at=order.completed_at,
        cancelled_at=order.cancelled_at,
        updated_at=order.updated_at,
        lines=_line_dtos(session, order),
        events=_event_dtos(session, order),
        messages=messages_of(session, order),
        invoice_number=invoice.number if invoice else None,
        invoice_status=invoice.status if invoice else None,
        invoice_balance=balance_of(invoice) if invoice else None,
        delivery_status=delivery.status if delivery else None,
        manifest_status=manifest.status if manifest else None,
        available_actions=available_actions(principal, order),
        delivery_driver=delivery.driver_name if delivery else None,
        delivery_vehicle=delivery.vehicle if delivery else None,
    )


def _line_dtos(session: Session, order: Order) -> list[OrderLineDTO]:
    """The order's lines with their package allocations (confirmed once the order is fulfilled)."""
    lines = _lines(session, order)
    allocs = inventory.allocations_of(session, [ln.id for ln in lines])
    confirmed = order.status in (S.FULFILLED, S.SHIPPED, S.DELIVERED, S.COMPLETE)
    by_line: dict[int, list[AllocationDTO]] = defaultdict(list)
    for a in allocs:
        by_line[a.order_line_id].append(
            AllocationDTO(
                id=a.id,
                order_line_id=a.order_line_id,
                inventory_lot_id=a.inventory_lot_id,
                package_label=a.package_label,
                quantity=a.quantity,
                confirmed=confirmed,
            )
        )
    return [
        OrderLineDTO(
            id=ln.id,
            product_id=ln.product_id,
            sku=ln.sku,
            product_name=ln.product_name,
            quantity=ln.quantity,
            unit_price=ln.unit_price,
            line_total=ln.line_total,
            allocations=by_line.get(ln.id, []),
        )
        for ln in lines
    ]


def _event_dtos(session: Session, order: Order) -> list[OrderEventDTO]:
    """The order's timeline, oldest first, with who acted."""
    actor_entity = aliased(Entity)
    events = session.execute(
        select(OrderEvent, col(User.full_name), col(actor_entity.name))
        .outerjoin(User, col(User.id) == col(OrderEvent.actor_user_id))
        .outerjoin(actor_entity, col(actor_entity.id) == col(OrderEvent.actor_entity_id))
        .where(col(OrderEvent.order_id) == order.id)
        .order_by(col(OrderEvent.created_at), col(OrderEvent.id))
    ).all()
    return [
        OrderEventDTO(
            id=e.id,
            kind=e.kind,
            from_status=e.from_status,
            to_status=e.to_status,
            actor_user_id=e.actor_user_id,
            actor_name=name,
            actor_entity_id=e.actor_entity_id,
            actor_entity_name=ename,
            detail=from_json(e.detail),
            created_at=e.created_at,
        )
        for e, name, ename in events
    ]


def _paperwork(session: Session, order: Order) -> tuple[Invoice | None, Delivery | None, ComplianceManifest | None]:
    """The order's invoice, latest delivery and latest compliance manifest, if any."""
    invoice = session.execute(select(Invoice).where(col(Invoice.order_id) == order.id)).scalars().first()
    delivery = (
        session.execute(select(Delivery).where(col(Delivery.order_id) == order.id).order_by(col(Delivery.id).desc()))
        .scalars()
        .first()
    )
    manifest = (
        session.execute(
            select(ComplianceManifest)
            .where(col(ComplianceManifest.order_id) == order.id)
            .order_by(col(ComplianceManifest.id).desc())
        )
        .scalars()
        .first()
    )
    return invoice, delivery, manifest


def messages_query(order: Order) -> Any:
    """The order's messages with their authors' names, oldest first (a statement to run or page)."""
    author_entity = aliased(Entity)
    return (
        select(OrderMessage, col(User.full_name), col(author_entity.name))
        .join(User, col(User.id) == col(OrderMessage.author_user_id))
        .join(author_entity, col(author_entity.id) == col(OrderMessage.author_entity_id))
        .where(col(OrderMessage.order_id) == order.id)
        .order_by(col(OrderMessage.created_at), col(OrderMessage.id))
    )


def message_dtos(order: Order, rows: Iterable[Any]) -> list[MessageDTO]:
    """Rows of `messages_query` as MessageDTOs."""
    return [
        MessageDTO(
            id=m.id,
            order_number=order.number,
            author_user_id=m.author_user_id,
            author_name=name,
            author_entity_id=m.author_entity_id,
            author_entity_name=ename,
            body=m.body,
            created_at=m.created_at,
        )
        for m, name, ename in rows
    ]


def messages_of(session: Session, order: Order) -> list[MessageDTO]:
    return message_dtos(order, session.execute(messages_query(order)).all())


def get_order(session: Session, principal: Principal, number: str) -> OrderDetail:
    """The order with lines, package allocations, timeline, messages and totals.

    NotFound for an order the principal's entity is not party to (existence is not revealed).
    """
    order, side = load_order(session, principal, number)
    return _detail(session, principal, order, side)


def order_lines(session: Session, principal: Principal, number: str) -> list[OrderLineDTO]:
    """The order's lines with their package allocations, as in `get_order` (either party; NotFound
    for everyone else)."""
    order, _side = load_order(session, principal, number)
    return _line_dtos(session, order)
