"""Orders after checkout: the one state machine, line edits, reads, and reorder.

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

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from reup_app.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    ServiceError,
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
    OrderLine,
    OrderMessage,
    Product,
    User,
)
from reup_app.models.enums import OrderStatus
from reup_app.models.types import utcnow
from reup_app.security.permissions import authorize, is_allowed
from reup_app.security.principal import Principal
from reup_app.services.billing.invoices import balance_of, create_invoice_for_order
from reup_app.services.billing.tax import wholesale_tax
from reup_app.services.common import (
    ZERO,
    authorize_party,
    begin_read_committed,
    check_idempotency_key,
    clean_text,
    fmt_qty,
    from_json,
    parse_datetime,
    parse_int,
    parse_money,
    parse_quantity,
    q2,
    require_member,
)
from reup_app.services.compliance import preship
from reup_app.services.inventory import lots as inventory
from reup_app.services.ordering import cart, shipping
from reup_app.services.ordering.records import (
    AllocationDTO,
    MessageDTO,
    OrderDetail,
    OrderEventDTO,
    OrderLineDTO,
    OrderPage,
    emit_order_event,
    record_event,
    summary_from_row,
    summary_query,
)

BUYER, SELLER = "buyer", "seller"
S = OrderStatus


@dataclass(frozen=True)
class Transition:
    action: str
    source: str
    target: str
    side: str  # who acts: BUYER or SELLER
    permission: str  # a key of security.permissions.ACTION_ROLES, checked on that side's entity
    system_allowed: bool = False

    def __post_init__(self) -> None:  # store plain strings, not enum members
        object.__setattr__(self, "source", str(self.source))
        object.__setattr__(self, "target", str(self.target))


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
STATUS_TIMESTAMP = {
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
    "ship": frozenset({"driver_name", "driver_phone", "vehicle", "eta", "note"}),
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
            select(Order).where(Order.number == text).with_for_update().execution_options(populate_existing=True)
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
    order = session.execute(select(Order).where(Order.number == text)).scalars().first()
    authorize_party(
        principal, action, [order.buyer_entity_id, order.seller_entity_id] if order else [], _not_found(text)
    )
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
        session.execute(select(OrderEvent).where(OrderEvent.order_id == order.id, OrderEvent.idempotency_key == key))
        .scalars()
        .first()
    )
    if ev is not None and ev.kind != kind:
        raise Conflict(f"This request was already used to record '{ev.kind}' on order {order.number}.")
    return ev


# --------------------------------------------------------------------------------------------
# The state machine
# --------------------------------------------------------------------------------------------


def _parse_allocations(raw: Any) -> dict[int, list[tuple[int | None, str | None, Decimal]]] | None:
    """{line_id: [{lot_id|package_label, quantity}, ...]} or [{line_id, lot_id|package_label, quantity}, ...]."""
    if raw is None:
        return None
    rows: list[tuple[Any, Mapping]] = []
    if isinstance(raw, Mapping):
        for line_id, picks in raw.items():
            if not isinstance(picks, (list, tuple)):
                raise ValidationError("Invalid package allocation.", "allocations")
            rows += [(line_id, p) for p in picks]
    elif isinstance(raw, (list, tuple)):
        rows = [(p.get("line_id") if isinstance(p, Mapping) else None, p) for p in raw]
    else:
        raise ValidationError("Invalid package allocation.", "allocations")
    out: dict[int, list[tuple[int | None, str | None, Decimal]]] = defaultdict(list)
    for line_id, pick in rows:
        if not isinstance(pick, Mapping):
            raise ValidationError("Invalid package allocation.", "allocations")
        lot_id = pick.get("lot_id", pick.get("inventory_lot_id"))
        label = pick.get("package_label")
        if lot_id in (None, "") and not label:
            raise ValidationError("Each allocation needs a package.", "allocations")
        out[parse_int(line_id, "line_id")].append(
            (
                parse_int(lot_id, "lot_id") if lot_id not in (None, "") else None,
                clean_text(label, "package_label", max_len=32) if label else None,
                parse_quantity(pick.get("quantity"), "allocations"),
            )
        )
    return dict(out)


def _lines(session: Session, order: Order) -> list[OrderLine]:
    return list(
        session.execute(select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.id)).scalars()
    )


def _apply_effects(session: Session, order: Order, t: Transition, data: dict[str, Any]) -> dict[str, Any]:
    """Side effects of a transition; returns extra detail for the timeline."""
    detail: dict[str, Any] = {}
    for k in ("note", "reason"):
        text = clean_text(data.get(k), k, max_len=1000)
        if text:
            detail[k] = text
    if t.action == "submit":
        lines = _lines(session, order)
        if not lines:
            raise ValidationError(f"Order {order.number} has no lines to submit.")
        inventory.reserve_orders(session, [order], lines)
    elif t.action in ("reject", "cancel"):
        inventory.release(session, order)
    elif t.action == "fulfill":
        lines = _lines(session, order)
        requested = _parse_allocations(data.get("allocations"))
        allocations = inventory.allocate_for_fulfillment(session, order, lines, requested)
        detail["packages"] = [
            {"line_id": a.order_line_id, "package_label": a.package_label, "quantity": str(a.quantity)}
            for a in allocations
        ]
    elif t.action == "ship":
        lines = _lines(session, order)
        allocations = inventory.allocations_of(session, [ln.id for ln in lines])
        allocated: dict[int, Decimal] = defaultdict(lambda: ZERO)
        for a in allocations:
            allocated[a.order_line_id] += a.quantity
        for ln in lines:
            if allocated[ln.id] != ln.quantity:
                raise Conflict(
                    f"{ln.product_name} has {fmt_qty(allocated[ln.id])} of {fmt_qty(ln.quantity)} "
                    f"allocated to packages; fulfill the order again before shipping."
                )
        stock = inventory.StockLock(session, [ln.product_id for ln in lines])
        preship.enforce_preship_checks(session, order)  # with the lots locked, before stock moves
        stock.consume(allocations)
        stock.settle()
        order.shipped_at = utcnow()
        invoice = create_invoice_for_order(session, order)
        details = shipping.ShipmentDetails(
            driver_name=clean_text(data.get("driver_name"), "driver_name", max_len=128),
            driver_phone=clean_text(data.get("driver_phone"), "driver_phone", max_len=32),
            vehicle=clean_text(data.get("vehicle"), "vehicle", max_len=128),
            eta=parse_datetime(data.get("eta"), "eta"),
            package_labels=sorted({a.package_label for a in allocations}),
        )
        shipping.get_shipping_hooks().order_shipped(session, order, details)
        detail["invoice_number"] = invoice.number
    elif t.action == "deliver":
        order.delivered_at = utcnow()
        shipping.get_shipping_hooks().order_delivered(session, order)
    return detail


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


def edit_lines(
    session: Session,
    principal: Principal,
    order_number: str,
    changes: Sequence[Mapping[str, Any]],
    idempotency_key: str | None = None,
) -> OrderDetail:
    """The seller changes quantities or prices, or removes lines, before accepting the order.

    changes: [{"line_id": 12, "quantity": "4"}, {"line_id": 13, "unit_price": "9.50"},
    {"line_id": 14, "remove": True}]. Stock is re-reserved for changed quantities (Conflict if
    short), totals are recomputed, and the timeline gets a "lines_edited" event the buyer sees.
    """
    begin_read_committed(session)
    key = check_idempotency_key(idempotency_key, required=False)
    if not isinstance(changes, (list, tuple)) or not changes:
        raise ValidationError("Nothing to change.", "changes")
    order = _get_locked(session, order_number)
    if not principal.is_system and not principal.is_platform_admin:
        require_member(principal)
    if principal.is_system or principal.entity_id != order.seller_entity_id:
        if not principal.is_system and not principal.is_platform_admin and principal.entity_id != order.buyer_entity_id:
            raise NotFound(_not_found(order.number))
        raise PermissionDenied("Only the seller can edit an order's lines.")
    authorize(principal, "order.edit_lines", order.seller_entity_id)
    if _replayed(session, order, key, "lines_edited") is not None:
        return _detail(session, principal, order, SELLER)
    if order.status not in EDITABLE_STATUSES:
        raise Conflict(f"Order {order.number} is {order.status}; lines can only be edited before it is accepted.")
    lines = {ln.id: ln for ln in _lines(session, order)}
    parsed: dict[int, dict[str, Any]] = {}
    for change in changes:
        if not isinstance(change, Mapping):
            raise ValidationError("Invalid change.", "changes")
        unknown = set(change) - {"line_id", "quantity", "unit_price", "remove"}
        if unknown:
            raise ValidationError(f"Unexpected field {sorted(unknown)[0]!r} in a line change.", "changes")
        line_id = parse_int(change.get("line_id"), "line_id")
        if line_id not in lines:
            raise ValidationError(f"Line {line_id} is not on order {order.number}.", "changes")
        if line_id in parsed:
            raise ValidationError(f"Line {line_id} is changed twice.", "changes")
        entry: dict[str, Any] = {}
        if change.get("remove"):
            entry["remove"] = True
        else:
            if change.get("quantity") is not None:
                entry["quantity"] = parse_quantity(change["quantity"])
            if change.get("unit_price") is not None:
                entry["unit_price"] = parse_money(change["unit_price"], "unit_price", allow_zero=True)
        parsed[line_id] = entry
    if all(e.get("remove") for e in parsed.values()) and len(parsed) == len(lines):
        raise ValidationError("An order needs at least one line; reject the order instead.", "changes")
    restock = [
        lid
        for lid, e in parsed.items()
        if e.get("remove") or ("quantity" in e and e["quantity"] != lines[lid].quantity)
    ]
    stock = inventory.StockLock(session, [lines[lid].product_id for lid in restock])
    allocations = inventory.allocations_of(session, restock)
    stock.release(allocations)
    session.flush()  # allocation rows go before their lines
    log = []
    for lid, entry in parsed.items():
        line = lines[lid]
        before = {"quantity": str(line.quantity), "unit_price": str(line.unit_price)}
        if entry.get("remove"):
            session.delete(line)
            del lines[lid]
            log.append(
                {"line_id": lid, "sku": line.sku, "product_name": line.product_name, "removed": True, "before": before}
            )
            continue
        line.quantity = entry.get("quantity", line.quantity)
        line.unit_price = entry.get("unit_price", line.unit_price)
        line.line_total = q2(line.quantity * line.unit_price)
        session.add(line)
        after = {"quantity": str(line.quantity), "unit_price": str(line.unit_price)}
        if after != before:
            log.append(
                {"line_id": lid, "sku": line.sku, "product_name": line.product_name, "before": before, "after": after}
            )
        if lid in restock:
            stock.reserve_line(line, order.seller_license_id)
    stock.settle()
    if not log:
        raise ValidationError("Those changes leave the order as it is.", "changes")
    license = session.get(License, order.seller_license_id)
    total_before = order.total
    order.subtotal = sum((ln.line_total for ln in lines.values()), ZERO)
    order.tax = wholesale_tax(order.subtotal, license.state if license else None)
    order.total = order.subtotal + order.tax
    order.updated_at = utcnow()
    session.add(order)
    record_event(
        session,
        order,
        "lines_edited",
        principal,
        from_status=order.status,
        to_status=order.status,
        detail={"changes": log, "total_before": str(total_before), "total_after": str(order.total)},
        idempotency_key=key,
    )
    session.flush()
    emit_order_event(session, "order.lines_edited", order, changes=len(log))
    return _detail(session, principal, order, SELLER)


# --------------------------------------------------------------------------------------------
# Reads
# --------------------------------------------------------------------------------------------


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
        conds.append(Order.buyer_entity_id == entity_id)
    elif role_side == SELLER:
        conds.append(Order.seller_entity_id == entity_id)
    else:
        conds.append(or_(Order.buyer_entity_id == entity_id, Order.seller_entity_id == entity_id))
    if status:
        wanted = [status] if isinstance(status, str) else list(status)
        if wanted == ["open"]:
            wanted = [str(s) for s in OPEN_STATUSES]
        bad = [s for s in wanted if s not in set(OrderStatus)]
        if bad:
            raise ValidationError(f"Unknown order status {bad[0]!r}.", "status")
        conds.append(Order.status.in_(wanted))
    text = clean_text(search, "search", max_len=64)
    if text:
        like = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        other = seller_e.name if role_side == BUYER else buyer_e.name if role_side == SELLER else None
        name_conds = (
            [other.like(f"%{like}%")]
            if other is not None
            else [buyer_e.name.like(f"%{like}%"), seller_e.name.like(f"%{like}%")]
        )
        conds.append(or_(Order.number.like(f"{like}%"), Order.number.like(f"RU-{like}%"), *name_conds))
    total = session.execute(select(func.count()).select_from(stmt.where(*conds).subquery())).scalar_one()
    rows = session.execute(
        stmt.where(*conds)
        .order_by(Order.created_at.desc(), Order.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return OrderPage(items=[summary_from_row(*row) for row in rows], page=page, page_size=page_size, total=int(total))


def _detail(session: Session, principal: Principal, order: Order, side: str | None) -> OrderDetail:
    buyer, seller = session.get(Entity, order.buyer_entity_id), session.get(Entity, order.seller_entity_id)
    buyer_lic, seller_lic = session.get(License, order.buyer_license_id), session.get(License, order.seller_license_id)
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
    actor_entity = aliased(Entity)
    events = session.execute(
        select(OrderEvent, User.full_name, actor_entity.name)
        .outerjoin(User, User.id == OrderEvent.actor_user_id)
        .outerjoin(actor_entity, actor_entity.id == OrderEvent.actor_entity_id)
        .where(OrderEvent.order_id == order.id)
        .order_by(OrderEvent.created_at, OrderEvent.id)
    ).all()
    invoice = session.execute(select(Invoice).where(Invoice.order_id == order.id)).scalars().first()
    delivery = (
        session.execute(select(Delivery).where(Delivery.order_id == order.id).order_by(Delivery.id.desc()))
        .scalars()
        .first()
    )
    manifest = (
        session.execute(
            select(ComplianceManifest)
            .where(ComplianceManifest.order_id == order.id)
            .order_by(ComplianceManifest.id.desc())
        )
        .scalars()
        .first()
    )
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
        lines=[
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
        ],
        events=[
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
        ],
        messages=messages_of(session, order),
        invoice_number=invoice.number if invoice else None,
        invoice_status=invoice.status if invoice else None,
        invoice_balance=balance_of(invoice) if invoice else None,
        delivery_status=delivery.status if delivery else None,
        manifest_status=manifest.status if manifest else None,
        available_actions=available_actions(principal, order),
    )


def messages_of(session: Session, order: Order) -> list[MessageDTO]:
    author_entity = aliased(Entity)
    rows = session.execute(
        select(OrderMessage, User.full_name, author_entity.name)
        .join(User, User.id == OrderMessage.author_user_id)
        .join(author_entity, author_entity.id == OrderMessage.author_entity_id)
        .where(OrderMessage.order_id == order.id)
        .order_by(OrderMessage.created_at, OrderMessage.id)
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


# --------------------------------------------------------------------------------------------
# Reorder
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReorderResult:
    added: list[cart.CartItemDTO] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)  # {"sku", "name", "reason"}


def reorder(session: Session, principal: Principal, number: str) -> ReorderResult:
    """Put a past order's lines back in the principal's cart (the buyer's side only).

    Lines whose product is no longer sold are skipped with a reason; when less is in stock than
    was ordered, what is available is added (if that still meets the product's minimum).
    """
    begin_read_committed(session)
    order, side = load_order(session, principal, number)
    if side != BUYER:
        raise PermissionDenied("Only the buyer can reorder an order.")
    authorize(principal, "cart.manage", order.buyer_entity_id)
    result = ReorderResult()
    products = {
        p.id: p
        for p in session.execute(
            select(Product).where(Product.id.in_([ln.product_id for ln in _lines(session, order)]))
        ).scalars()
    }
    for line in _lines(session, order):
        product = products.get(line.product_id)
        qty = line.quantity
        if product is not None and qty > product.available_qty:
            qty = product.available_qty
            if product.unit_of_measure == "each":
                qty = qty.to_integral_value(rounding="ROUND_FLOOR")
        if qty <= 0:
            result.skipped.append({"sku": line.sku, "name": line.product_name, "reason": "Out of stock."})
            continue
        try:
            result.added.append(cart.add_to_cart(session, principal, line.product_id, qty))
        except ServiceError as err:
            result.skipped.append({"sku": line.sku, "name": line.product_name, "reason": str(err)})
    return result
