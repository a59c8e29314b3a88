"""The seller cancels a Fleetbase delivery, while it still can be cancelled.

The rule: only before the driver sets off. Fleetbase's transport flow is created -> dispatched ->
started -> enroute -> completed; once the driver has started, the goods are in the van and the trip
has to be finished (or failed) by the driver, so ReUp offers Cancel only while the Fleetbase order
is `created` or `dispatched` (and exists there: a delivery still waiting for Fleetbase has nothing
to cancel yet).

`cancel_delivery` authorizes the seller's entity (a seller member who may ship), records the
reason, and enqueues "fleetbase.cancel_order" (reference `fleetbase-cancel:<order number>`) in the
same transaction; the job (`jobs/fleetbase_updates.py`) calls Fleetbase's cancel after commit, and
its answer (or the order.canceled webhook, whichever comes first) marks the delivery cancelled. The
order itself stays shipped: the seller decides what happens next.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from reup_app.errors import Conflict, PermissionDenied
from reup_app.models import Delivery, Order
from reup_app.models.enums import DeliveryStatus, Provider
from reup_app.models.types import utcnow
from reup_app.security.permissions import authorize, is_allowed
from reup_app.security.principal import Principal
from reup_app.services.common import authorize_party, clean_text
from reup_app.services.integrations.outbox import enqueue
from reup_app.services.logistics.fleetbase_events import emit_delivery_updated

CANCEL_ORDER = "fleetbase.cancel_order"
CANCELLABLE = frozenset({"created", "dispatched"})  # Fleetbase statuses before the driver starts
FINISHED = frozenset({str(DeliveryStatus.DELIVERED), str(DeliveryStatus.CANCELLED), str(DeliveryStatus.FAILED)})


def reference(order_number: str) -> str:
    return f"fleetbase-cancel:{order_number}"


def cancellable(d: Delivery) -> bool:
    return (
        d.provider == str(Provider.FLEETBASE)
        and bool(d.external_id)
        and d.vendor_status in CANCELLABLE
        and d.status not in FINISHED
        and d.cancel_requested_at is None
    )


def may_cancel(principal: Principal, order: Order, d: Delivery) -> bool:
    """Whether the delivery panel offers Cancel to this principal (the service checks again)."""
    return (
        principal.entity_id == order.seller_entity_id
        and is_allowed(principal, "order.ship", order.seller_entity_id)
        and cancellable(d)
    )


def cancel_delivery(session: Session, principal: Principal, order_number: Any, reason: Any) -> None:
    """Ask Fleetbase to cancel the order's delivery (seller only, before the driver starts)."""
    number = clean_text(order_number, "order_number", max_len=32, required=True, label="an order number")
    why = clean_text(reason, "reason", max_len=500, required=True, label="why the delivery is cancelled")
    order = session.execute(select(Order).where(col(Order.number) == number).with_for_update()).scalars().first()
    owners = [order.buyer_entity_id, order.seller_entity_id] if order else []
    acting = authorize_party(principal, "order.view", owners, f"Order {number} was not found.")
    assert order is not None
    if acting is None or acting != order.seller_entity_id:
        raise PermissionDenied("Only the seller can cancel the delivery.")
    authorize(principal, "order.ship", order.seller_entity_id)
    d = session.execute(select(Delivery).where(col(Delivery.order_id) == order.id).with_for_update()).scalars().first()
    if d is None or d.provider != str(Provider.FLEETBASE) or not d.external_id:
        raise Conflict(f"Order {number} has no Fleetbase delivery to cancel yet.")
    if d.cancel_requested_at is not None:
        raise Conflict("Cancelling this delivery was already asked; Fleetbase confirms it within moments.")
    if not cancellable(d):
        raise Conflict(
            f"The delivery is {d.vendor_status or d.status}; it can be cancelled only before the driver starts."
        )
    now = utcnow()
    d.cancel_reason, d.cancel_requested_at, d.updated_at = why, now, now
    d.last_error = f"Cancelling in Fleetbase (asked by the seller): {why}"[:2000]
    session.add(d)
    session.flush()
    enqueue(
        session,
        CANCEL_ORDER,
        target_table="deliveries",
        target_id=d.id,
        payload={"delivery_id": d.id, "order_number": number, "order_id": d.external_id, "reason": why},
        reference=reference(number),
    )
    emit_delivery_updated(session, d, order)
