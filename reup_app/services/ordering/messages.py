"""Buyer-seller messages scoped to one order (change requests, delivery questions, disputes)."""

from __future__ import annotations

from sqlmodel import Session

from reup_app.errors import PermissionDenied
from reup_app.models import Entity, OrderMessage, User
from reup_app.models.types import utcnow
from reup_app.security.principal import Principal
from reup_app.services.common import acting_user, clean_text, require_member
from reup_app.services.ordering.order_views import messages_of
from reup_app.services.ordering.orders import load_order
from reup_app.services.ordering.records import MessageDTO, emit_order_event

MAX_MESSAGE_LENGTH = 4000
PREVIEW_LENGTH = 140


def post_message(session: Session, principal: Principal, order_number: str, body: str) -> MessageDTO:
    """Post a message on an order as a member of the buyer or the seller.

    The body is stripped; it must be non-empty and at most 4000 characters. Both parties are
    told through an "order.message" event.
    """
    text = clean_text(body, "body", max_len=MAX_MESSAGE_LENGTH, required=True, label="a message")
    order, side = load_order(session, principal, order_number, "order.message")
    if side is None:  # a platform admin's oversight or the system: they don't take part
        raise PermissionDenied("Only the buyer and the seller can post messages on an order.")
    now = utcnow()
    msg = OrderMessage(
        order_id=order.id,
        author_user_id=acting_user(principal),
        author_entity_id=require_member(principal),
        body=text,
        created_at=now,
    )
    session.add(msg)
    session.flush()
    user, entity = session.get(User, principal.user_id), session.get(Entity, principal.entity_id)
    emit_order_event(
        session,
        "order.message",
        order,
        message_id=msg.id,
        author_entity_id=principal.entity_id,
        author_name=user.full_name if user else "",
        preview=text[:PREVIEW_LENGTH],
    )
    return MessageDTO(
        id=msg.id,
        order_number=order.number,
        author_user_id=msg.author_user_id,
        author_name=user.full_name if user else "",
        author_entity_id=msg.author_entity_id,
        author_entity_name=entity.name if entity else "",
        body=msg.body,
        created_at=msg.created_at,
    )


def list_messages(session: Session, principal: Principal, order_number: str) -> list[MessageDTO]:
    """An order's messages, oldest first (either party; platform admins for oversight)."""
    order, _side = load_order(session, principal, order_number)
    return messages_of(session, order)
