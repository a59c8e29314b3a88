"""What the order page and the seller's deliveries board show of a delivery, and the buyer's report
of a problem (short or damaged) within `delivery_problem_window_hours` of the delivery."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import Session, col

from reup_app.errors import Conflict, NotFound, PermissionDenied, ValidationError
from reup_app.models import Delivery, Entity, Order
from reup_app.models.enums import DeliveryStatus
from reup_app.models.types import utcnow
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services.common import authorize_party, clean_text
from reup_app.services.logistics.delivery_cancel import may_cancel
from reup_app.services.logistics.delivery_timeline import DRIVER_CHANGED, driver_change_text, last_driver_change
from reup_app.services.logistics.fleetbase_events import emit_delivery_updated
from reup_app.services.logistics.route_map import route_svg
from reup_app.settings import get_settings

STATUS_LABELS = {
    "pending": "Waiting for Fleetbase",
    "scheduled": "Scheduled",
    "dispatched": "Dispatched",
    "in_transit": "On the way",
    "delivered": "Delivered",
    "failed": "Failed",
    "cancelled": "Cancelled",
}
STEP_LABELS = {
    "created": "Order created in Fleetbase",
    "dispatched": "Dispatched to the driver",
    "started": "Driver started",
    "enroute": "Driver en route",
    "completed": "Delivered",
    "canceled": "Cancelled",
    "failed": "Failed",
}
FINISHED = frozenset({str(DeliveryStatus.DELIVERED), str(DeliveryStatus.CANCELLED), str(DeliveryStatus.FAILED)})
PROBLEM_KINDS = {"short": "Short delivery", "damaged": "Damaged goods", "other": "Other problem"}


@dataclass(frozen=True)
class DeliveryView:
    order_number: str
    status: str
    status_label: str
    note: str | None  # "waiting for Fleetbase", not connected, refused
    tracking_number: str | None
    driver_name: str | None
    driver_phone: str | None
    vehicle: str | None
    eta: datetime | None
    scheduled_at: datetime | None
    delivered_at: datetime | None
    late: bool
    progress: float | None
    route_svg: str
    timeline: list[tuple[str, datetime | None]] = field(default_factory=list)  # (label, when)
    proof: dict[str, Any] | None = None
    problem: dict[str, Any] | None = None
    can_report_problem: bool = False
    can_cancel: bool = False  # the seller may still cancel it in Fleetbase (delivery_cancel.py's rule)
    driver_change: str | None = None  # "Driver changed to X at HH:MM UTC (was Y)": the newest change under way


def is_late(d: Delivery, now: datetime) -> bool:
    return d.status not in FINISHED and d.eta is not None and d.eta < now


def _step_label(t: dict[str, Any]) -> str:
    if t["status"] == DRIVER_CHANGED:
        was = f" (was {t['previous']})" if t.get("previous") else ""
        return f"Driver changed to {t.get('driver') or 'another driver'}{was}"
    return str(STEP_LABELS.get(t["status"], t["status"]))


def driver_change_note(d: Delivery) -> str | None:
    """The newest driver change Fleetbase made once the delivery was under way, as a sentence."""
    if not d.timeline or DRIVER_CHANGED not in d.timeline:
        return None
    last = last_driver_change(json.loads(d.timeline))
    return driver_change_text(last) if last else None


def _view(d: Delivery, order: Order, *, buyer: bool, now: datetime, can_cancel: bool = False) -> DeliveryView:
    route = json.loads(d.route) if d.route else {}
    entries = json.loads(d.timeline) if d.timeline else []
    timeline: list[tuple[str, datetime | None]] = [(_step_label(t), datetime.fromisoformat(t["at"])) for t in entries]
    last_change = last_driver_change(entries)
    window = timedelta(hours=get_settings().delivery_problem_window_hours)
    can_report = (
        buyer
        and d.status == DeliveryStatus.DELIVERED
        and d.problem_reported_at is None
        and (d.delivered_at or order.delivered_at or now) + window > now
    )
    return DeliveryView(
        order_number=order.number,
        status=d.status,
        status_label=STATUS_LABELS.get(d.status, d.status),
        note=d.last_error or (f"Cancelled by the seller: {d.cancel_reason}" if d.cancel_reason else None),
        tracking_number=d.tracking_number,
        driver_name=d.driver_name,
        driver_phone=d.driver_phone,
        vehicle=d.vehicle,
        eta=d.eta,
        scheduled_at=d.scheduled_at,
        delivered_at=d.delivered_at,
        late=is_late(d, now),
        progress=route.get("progress") if d.status != DeliveryStatus.DELIVERED else 100.0,
        route_svg=route_svg(
            route.get("pickup"),
            route.get("dropoff"),
            route.get("dropoff") if d.status == DeliveryStatus.DELIVERED else route.get("driver"),
        ),
        timeline=timeline,
        proof=json.loads(d.proof) if d.proof else None,
        problem=json.loads(d.problem_report) if d.problem_report else None,
        can_report_problem=bool(can_report),
        can_cancel=can_cancel,
        driver_change=driver_change_text(last_change) if last_change else None,
    )


def _party_delivery(session: Session, principal: Principal, order_number: Any, action: str):
    number = clean_text(order_number, "order_number", max_len=32, required=True, label="an order number")
    order = session.execute(select(Order).where(col(Order.number) == number)).scalars().first()
    owners = [order.buyer_entity_id, order.seller_entity_id] if order else []
    acting = authorize_party(principal, action, owners, f"Order {number} was not found.")
    assert order is not None
    d = session.execute(select(Delivery).where(col(Delivery.order_id) == order.id)).scalars().first()
    return order, d, acting == order.buyer_entity_id


def get_order_delivery(session: Session, principal: Principal, order_number: Any) -> DeliveryView | None:
    """The order's delivery (None before it ships), for the buyer or the seller only."""
    order, d, buyer = _party_delivery(session, principal, order_number, "order.view")
    if d is None:
        return None
    return _view(d, order, buyer=buyer, now=utcnow(), can_cancel=not buyer and may_cancel(principal, order, d))


def report_problem(session: Session, principal: Principal, order_number: Any, kind: Any, text: Any) -> DeliveryView:
    """The buyer reports a short or damaged delivery, once, within the window after delivery."""
    order, d, buyer = _party_delivery(session, principal, order_number, "order.message")
    if not buyer:
        raise PermissionDenied("Only the buyer can report a problem with a delivery.")
    if d is None or d.status != DeliveryStatus.DELIVERED:
        raise Conflict(f"Order {order.number} has not been delivered, so there is nothing to report yet.")
    if kind not in PROBLEM_KINDS:
        raise ValidationError("Choose what went wrong: short, damaged or other.", "kind")
    body = clean_text(text, "text", max_len=1000, required=True, label="what happened")
    now = utcnow()
    view = _view(d, order, buyer=True, now=now)
    if d.problem_reported_at is not None:
        raise Conflict("A problem was already reported for this delivery.")
    if not view.can_report_problem:
        hours = get_settings().delivery_problem_window_hours
        raise Conflict(f"Problems can be reported within {hours:g} hours of the delivery; message the seller instead.")
    d.problem_report = json.dumps({"kind": kind, "label": PROBLEM_KINDS[kind], "text": body, "by": principal.user_id})
    d.problem_reported_at, d.updated_at = now, now
    session.add(d)
    session.flush()
    emit_delivery_updated(session, d, order)
    return _view(d, order, buyer=True, now=now)


@dataclass(frozen=True)
class BoardRow:
    order_number: str
    buyer: str
    status: str
    status_label: str
    scheduled_at: datetime | None
    eta: datetime | None
    driver_name: str | None
    vehicle: str | None
    late: bool
    problem: bool
    driver_change: str | None = None  # as DeliveryView.driver_change


def seller_board(session: Session, principal: Principal, *, now: datetime | None = None) -> list[BoardRow]:
    """The seller's deliveries scheduled from today on or still open (oldest first)."""
    entity_id = principal.entity_id
    if entity_id is None:
        raise NotFound("Choose a business first.")
    authorize(principal, "order.view", entity_id)
    now = now or utcnow()
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    rows = session.execute(
        select(Delivery, Order, col(Entity.name))
        .join(Order, col(Order.id) == col(Delivery.order_id))
        .join(Entity, col(Entity.id) == col(Order.buyer_entity_id))
        .where(
            col(Order.seller_entity_id) == entity_id,
            or_(col(Delivery.scheduled_at) >= start, col(Delivery.status).not_in(list(FINISHED))),
        )
        .order_by(col(Delivery.scheduled_at), col(Delivery.id))
        .limit(500)
    ).all()
    return [
        BoardRow(
            order_number=o.number,
            buyer=buyer,
            status=d.status,
            status_label=STATUS_LABELS.get(d.status, d.status),
            scheduled_at=d.scheduled_at,
            eta=d.eta,
            driver_name=d.driver_name,
            vehicle=d.vehicle,
            late=is_late(d, now),
            problem=d.problem_reported_at is not None,
            driver_change=driver_change_note(d),
        )
        for d, o, buyer in rows
    ]
