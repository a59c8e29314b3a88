"""Reading orders: the lists for each side, one order's detail, and its messages."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from reup_app.errors import (
    ValidationError,
)
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
from reup_app.models.enums import OrderStatus
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services.billing.invoices import balance_of
from reup_app.services.common import (
    clean_text,
    from_json,
    get_row,
    parse_int,
    require_member,
)
from reup_app.services.inventory import lots as inventory
from reup_app.services.ordering.orders import BUYER, OPEN_STATUSES, SELLER, S, available_actions, load_order
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
) -> OrderPage:
    """The principal's entity's orders, newest first.

    role_side: "buyer" (orders it placed), "seller" (orders it received) or None (both).
    status: one status, several, or "open" (anything not draft/complete/rejected/cancelled).
    search: an order number (or its start) or part of the counterparty's name.
    """
    entity_id = require_member(principal)
    authorize(principal, "order.view", entity_id)
    if role_side not in (None, BUYER, SELLER):
        raise ValidationError("role_side must be buyer or seller.", "role_side")
    page = max(1, parse_int(page, "page"))
    page_size = min(100, max(1, parse_int(page_size, "page_size")))
    stmt, buyer_e, seller_e = summary_query()
    conds = []
    if role_side == BUYER:
        conds.append(col(Order.buyer_entity_id) == entity_id)
    elif role_side == SELLER:
        conds.append(col(Order.seller_entity_id) == entity_id)
    else:
        conds.append(or_(col(Order.buyer_entity_id) == entity_id, col(Order.seller_entity_id) == entity_id))
    if status:
        wanted = [status] if isinstance(status, str) else list(status)
        if wanted == ["open"]:
            wanted = [str(s) for s in OPEN_STATUSES]
        bad = [s for s in wanted if s not in set(OrderStatus)]
        if bad:
            raise ValidationError(f"Unknown order status {bad[0]!r}.", "status")
        conds.append(col(Order.status).in_(wanted))
    text = clean_text(search, "search", max_len=64)
    if text:
        like = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        other = seller_e.name if role_side == BUYER else buyer_e.name if role_side == SELLER else None
        name_conds = (
            [other.like(f"%{like}%")]
            if other is not None
            else [buyer_e.name.like(f"%{like}%"), seller_e.name.like(f"%{like}%")]
        )
        conds.append(or_(col(Order.number).like(f"{like}%"), col(Order.number).like(f"RU-{like}%"), *name_conds))
    total = session.execute(select(func.count()).select_from(stmt.where(*conds).subquery())).scalar_one()
    rows = session.execute(
        stmt.where(*conds)
        .order_by(col(Order.created_at).desc(), col(Order.id).desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return OrderPage(items=[summary_from_row(*row) for row in rows], page=page, page_size=page_size, total=int(total))


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


def messages_of(session: Session, order: Order) -> list[MessageDTO]:
    author_entity = aliased(Entity)
    rows = session.execute(
        select(OrderMessage, col(User.full_name), col(author_entity.name))
        .join(User, col(User.id) == col(OrderMessage.author_user_id))
        .join(author_entity, col(author_entity.id) == col(OrderMessage.author_entity_id))
        .where(col(OrderMessage.order_id) == order.id)
        .order_by(col(OrderMessage.created_at), col(OrderMessage.id))
    ).all()
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


def get_order(session: Session, principal: Principal, number: str) -> OrderDetail:
    """The order with lines, package allocations, timeline, messages and totals.

    NotFound for an order the principal's entity is not party to (existence is not revealed).
    """
    order, side = load_order(session, principal, number)
    return _detail(session, principal, order, side)
