"""Orders after checkout: the one state machine. Line edits, reads and reorder have their own modules.

The state machine is the TRANSITIONS table below; `transition()` is the only code that changes an
order's status. Each row says which side acts (buyer or seller), which permission
(security.permissions.ACTION_ROLES) that side's member needs, and whether the system principal
(background jobs, verified webhooks) may perform it.

    draft      --submit-->    submitted   buyer    order.place     reserves stock
    submitted  --accept-->    accepted    seller   order.accept
    submitted  --reject-->    rejected    seller   order.reject    releases stock
    submitted  --backorder--> backorder   seller   order.accept    keeps the reservation
    backorder  --accept-->    accepted    seller   order.accept
    backorder  --reject-->    rejected    seller   order.reject    releases stock
    submitted  --cancel-->    cancelled   buyer    order.cancel    releases stock
    accepted   --fulfill-->   fulfilled   seller   order.fulfill    confirms package labels per line
    fulfilled  --ship-->      shipped     seller   order.ship      consumes stock, invoice, manifest + delivery
    shipped    --deliver-->   delivered   seller   order.ship      (also the system: delivery webhooks)
    delivered  --complete-->  complete    seller   order.complete  (also the system)
    delivered  --complete-->  complete    buyer    order.complete

Every transition locks the order row (SELECT ... FOR UPDATE), appends an OrderEvent to the
timeline and emits "order.status_changed" to both parties after commit. Idempotency: a request
carrying an `idempotency_key` already recorded on that order applies nothing and reports the
current state; a request without a key that finds the order already where the action leads is a
no-op too (a double click), not an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from reup_app.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from reup_app.models import (
    Order,
    OrderEvent,
)
from reup_app.models.enums import OrderStatus
from reup_app.models.types import utcnow
from reup_app.security.permissions import authorize, is_allowed
from reup_app.security.principal import Principal
from reup_app.services.common import (
    authorize_party,
    begin_read_committed,
    check_idempotency_key,
    clean_text,
    require_member,
)
from reup_app.services.ordering.records import (
    emit_order_event,
    record_event,
)
from reup_app.services.ordering.shipment_details import SHIP_FIELDS
from reup_app.services.ordering.transition import Transition
from reup_app.services.ordering.transition_effects import _apply_effects

BUYER, SELLER = "buyer", "seller"
S = OrderStatus


TRANSITIONS: tuple[Transition, ...] = (
    Transition("submit", S.DRAFT, S.SUBMITTED, BUYER, "order.place"),
    Transition("accept", S.SUBMITTED, S.ACCEPTED, SELLER, "order.accept"),
    Transition("reject", S.SUBMITTED, S.REJECTED, SELLER, "order.reject"),
    Transition("backorder", S.SUBMITTED, S.BACKORDER, SELLER, "order.accept"),
    Transition("accept", S.BACKORDER, S.ACCEPTED, SELLER, "order.accept"),
    Transition("reject", S.BACKORDER, S.REJECTED, SELLER, "order.reject"),
    Transition("cancel", S.SUBMITTED, S.CANCELLED, BUYER, "order.cancel"),
    Transition("fulfill", S.ACCEPTED, S.FULFILLED, SELLER, "order.fulfill"),
    Transition("ship", S.FULFILLED, S.SHIPPED, SELLER, "order.ship"),
    Transition("deliver", S.SHIPPED, S.DELIVERED, SELLER, "order.ship", system_allowed=True),
    Transition("complete", S.DELIVERED, S.COMPLETE, SELLER, "order.complete", system_allowed=True),
    Transition("complete", S.DELIVERED, S.COMPLETE, BUYER, "order.complete"),
)

ACTIONS: frozenset[str] = frozenset(t.action for t in TRANSITIONS)
# (action, side) -> permission; one permission per pair by construction (checked at import).
PERMISSIONS: dict[tuple[str, str], str] = {}
for _t in TRANSITIONS:
    assert PERMISSIONS.setdefault((_t.action, _t.side), _t.permission) == _t.permission, _t
# The timeline kind an action records (the status it leads to).
EVENT_KIND: dict[str, str] = {t.action: str(t.target) for t in TRANSITIONS}
STATUS_TIMESTAMP: dict[str, str] = {
    S.SUBMITTED: "submitted_at",
    S.ACCEPTED: "accepted_at",
    S.FULFILLED: "fulfilled_at",
    S.SHIPPED: "shipped_at",
    S.DELIVERED: "delivered_at",
    S.COMPLETE: "completed_at",
    S.CANCELLED: "cancelled_at",
}
ACTION_DATA: dict[str, frozenset[str]] = {
    "submit": frozenset(),
    "accept": frozenset({"note"}),
    "backorder": frozenset({"note"}),
    "reject": frozenset({"reason"}),
    "cancel": frozenset({"reason"}),
    "fulfill": frozenset({"allocations", "note"}),
    "ship": SHIP_FIELDS,
    "deliver": frozenset({"note"}),
    "complete": frozenset({"note"}),
}
PAST = {
    "submit": "submitted",
    "accept": "accepted",
    "reject": "rejected",
    "backorder": "put on backorder",
    "cancel": "cancelled",
    "fulfill": "fulfilled",
    "ship": "shipped",
    "deliver": "marked delivered",
    "complete": "completed",
}
EDITABLE_STATUSES = frozenset({S.SUBMITTED, S.BACKORDER})
OPEN_STATUSES = tuple(str(s) for s in (S.SUBMITTED, S.BACKORDER, S.ACCEPTED, S.FULFILLED, S.SHIPPED, S.DELIVERED))


def find_transition(status: str, action: str, side: str) -> Transition | None:
    for t in TRANSITIONS:
        if t.source == status and t.action == action and t.side == side:
            return t
    return None


def transitions_from(status: str) -> list[Transition]:
    return [t for t in TRANSITIONS if t.source == status]


@dataclass(frozen=True)
class TransitionResult:
    number: str
    status: str  # the order's status now
    from_status: str  # its status when the request arrived
    applied: bool  # False for a replayed key or a double click: nothing changed
    event_id: int | None = None


# --------------------------------------------------------------------------------------------
# Loading and access
# --------------------------------------------------------------------------------------------


def _not_found(number: Any) -> str:
    return f"Order {str(number)[:32]} was not found."


def _get_locked(session: Session, number: Any) -> Order:
    """The order row, locked FOR UPDATE as the transaction's first statement.

    Locking first matters: under REPEATABLE READ the read snapshot starts at the first plain
    read, so every read after this one sees all that the previous holder of the lock committed
    (its lines, allocations, events). Everything that changes an order holds this lock.
    """
    text = clean_text(number, "order_number", max_len=32, required=True, label="an order number")
    order = (
        session.execute(
            select(Order).where(col(Order.number) == text).with_for_update().execution_options(populate_existing=True)
        )
        .scalars()
        .first()
    )
    if order is None:
        raise NotFound(_not_found(text))
    return order


def _side_of(principal: Principal, order: Order) -> str | None:
    if principal.entity_id is None:
        return None
    if principal.entity_id == order.seller_entity_id:
        return SELLER
    if principal.entity_id == order.buyer_entity_id:
        return BUYER
    return None


def load_order(
    session: Session, principal: Principal, number: Any, action: str = "order.view"
) -> tuple[Order, str | None]:
    """An order either party may see (NotFound for everyone else); returns (order, side)."""
    text = clean_text(number, "order_number", max_len=32, required=True, label="an order number")
    order = session.execute(select(Order).where(col(Order.number) == text)).scalars().first()
    authorize_party(
        principal, action, [order.buyer_entity_id, order.seller_entity_id] if order else [], _not_found(text)
    )
    assert order is not None  # authorize_party raised NotFound for a missing order
    return order, _side_of(principal, order)


def _acting_side(principal: Principal, order: Order, action: str) -> str:
    """Which side this principal acts for on this order; authorizes the action's permission."""
    if principal.is_system:
        t = next((t for t in TRANSITIONS if t.action == action and t.system_allowed), None)
        if t is None:
            raise PermissionDenied(f"Only a member of the business can {action} an order.")
        return t.side
    require_member(principal)
    if principal.entity_id not in (order.buyer_entity_id, order.seller_entity_id):
        if principal.is_platform_admin:
            raise PermissionDenied("Platform admins can view orders but not act on them.")
        raise NotFound(_not_found(order.number))
    sides = [
        s
        for s in (SELLER, BUYER)
        if principal.entity_id == (order.seller_entity_id if s == SELLER else order.buyer_entity_id)
    ]
    side = next((s for s in sides if (action, s) in PERMISSIONS), None)
    if side is None:
        other = BUYER if sides[0] == SELLER else SELLER
        raise PermissionDenied(f"Only the {other} can {action} this order.")
    authorize(
        principal, PERMISSIONS[(action, side)], order.seller_entity_id if side == SELLER else order.buyer_entity_id
    )
    return side


def available_actions(principal: Principal, order: Order) -> list[str]:
    """Transition actions (plus "edit_lines") this principal may perform on the order now."""
    if principal.is_system or principal.entity_id is None:
        return []
    out = []
    for t in transitions_from(order.status):
        entity = order.seller_entity_id if t.side == SELLER else order.buyer_entity_id
        if principal.entity_id == entity and is_allowed(principal, t.permission, entity) and t.action not in out:
            out.append(t.action)
    if (
        order.status in EDITABLE_STATUSES
        and principal.entity_id == order.seller_entity_id
        and is_allowed(principal, "order.edit_lines", order.seller_entity_id)
    ):
        out.append("edit_lines")
    return out


def _replayed(session: Session, order: Order, key: str | None, kind: str) -> OrderEvent | None:
    """The event already recorded with this key on this order (the order is locked, so this is current)."""
    if key is None:
        return None
    ev = (
        session.execute(
            select(OrderEvent).where(col(OrderEvent.order_id) == order.id, col(OrderEvent.idempotency_key) == key)
        )
        .scalars()
        .first()
    )
    if ev is not None and ev.kind != kind:
        raise Conflict(f"This request was already used to record '{ev.kind}' on order {order.number}.")
    return ev


# --------------------------------------------------------------------------------------------
# The state machine
# --------------------------------------------------------------------------------------------


def transition(
    session: Session,
    principal: Principal,
    order_number: str,
    action: str,
    *,
    idempotency_key: str | None = None,
    **data: Any,
) -> TransitionResult:
    """Move an order along the state machine (see the module docstring for the table).

    Extra keyword data by action: reject/cancel `reason`; accept/backorder/deliver/complete
    `note`; fulfill `allocations` ({line_id: [{"lot_id" or "package_label", "quantity"}]}, or
    omitted to keep/auto-pick first-expiring packages); ship `driver_name`, `driver_phone`,
    `vehicle`, `eta`.
    """
    begin_read_committed(session)
    if action not in ACTIONS:
        raise ValidationError(f"Unknown order action {str(action)[:32]!r}.", "action")
    key = check_idempotency_key(idempotency_key, required=False)
    unknown = set(data) - ACTION_DATA[action]
    if unknown:
        raise ValidationError(f"Unexpected field {sorted(unknown)[0]!r} for {action}.")
    order = _get_locked(session, order_number)
    side = _acting_side(principal, order, action)
    before = order.status
    kind = EVENT_KIND[action]
    replay = _replayed(session, order, key, kind)
    if replay is not None:
        return TransitionResult(order.number, order.status, before, applied=False, event_id=replay.id)
    t = find_transition(order.status, action, side)
    if t is None:
        if any(x.action == action and x.target == order.status for x in TRANSITIONS):
            return TransitionResult(order.number, order.status, before, applied=False)  # double click
        hint = " Message the seller to ask for a change." if action == "cancel" else ""
        raise Conflict(f"Order {order.number} is {order.status}, so it can't be {PAST[action]}.{hint}")
    detail = _apply_effects(session, order, t, data)
    now = utcnow()
    order.status = t.target
    stamp = STATUS_TIMESTAMP.get(t.target)
    if stamp and getattr(order, stamp) is None:
        setattr(order, stamp, now)
    order.updated_at = now
    session.add(order)
    ev = record_event(
        session,
        order,
        kind,
        principal,
        from_status=before,
        to_status=t.target,
        detail={"action": action, **detail},
        idempotency_key=key,
    )
    session.flush()
    emit_order_event(session, "order.status_changed", order, from_status=before, action=action)
    return TransitionResult(order.number, order.status, before, applied=True, event_id=ev.id)


# --------------------------------------------------------------------------------------------
# Seller edits before acceptance
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# Reads
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# Reorder
# --------------------------------------------------------------------------------------------
