"""Order events: the payload every order.* event carries, and the emitter both ordering and billing use.

It sits in the events package (below the services) so that billing can tell an order's parties
about its invoice without importing the ordering services, which import billing.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from reup_app.events.core import emit
from reup_app.models import Order


def order_payload(order: Order, **extra: Any) -> dict[str, Any]:
    payload = {
        "order_number": order.number,
        "status": order.status,
        "buyer_entity_id": order.buyer_entity_id,
        "seller_entity_id": order.seller_entity_id,
        "subtotal": str(order.subtotal),
        "tax": str(order.tax),
        "total": str(order.total),
    }
    payload.update(extra)
    return payload


def emit_order_event(session: Session, kind: str, order: Order, **extra: Any) -> None:
    """A domain event whose audience is the order's two parties."""
    emit(
        session, kind, entity_ids=[order.buyer_entity_id, order.seller_entity_id], payload=order_payload(order, **extra)
    )
