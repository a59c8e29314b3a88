"""Seller line edits on a submitted or backordered order: change quantities, drop lines, re-total."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlmodel import Session

from reup_app.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from reup_app.models import (
    License,
    Order,
    OrderLine,
)
from reup_app.models.types import utcnow
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services.billing.tax import wholesale_tax
from reup_app.services.common import (
    ZERO,
    begin_read_committed,
    check_idempotency_key,
    parse_int,
    parse_money,
    parse_quantity,
    q2,
    require_member,
)
from reup_app.services.inventory import lots as inventory
from reup_app.services.ordering.order_views import _detail
from reup_app.services.ordering.orders import EDITABLE_STATUSES, SELLER, _get_locked, _not_found, _replayed
from reup_app.services.ordering.records import (
    OrderDetail,
    _lines,
    emit_order_event,
    record_event,
)


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
    order = _lock_for_seller_edit(session, principal, order_number)
    if _replayed(session, order, key, "lines_edited") is not None:
        return _detail(session, principal, order, SELLER)
    if order.status not in EDITABLE_STATUSES:
        raise Conflict(f"Order {order.number} is {order.status}; lines can only be edited before it is accepted.")
    lines = {ln.id: ln for ln in _lines(session, order)}
    parsed = _parse_line_changes(changes, lines, order)
    log = _apply_line_changes(session, order, lines, parsed)
    if not log:
        raise ValidationError("Those changes leave the order as it is.", "changes")
    total_before = order.total
    _retotal(session, order, lines.values())
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


def _lock_for_seller_edit(session: Session, principal: Principal, order_number: str) -> Order:
    """The order, locked, if the principal's business is its seller (NotFound to strangers)."""
    order = _get_locked(session, order_number)
    if not principal.is_system and not principal.is_platform_admin:
        require_member(principal)
    if principal.is_system or principal.entity_id != order.seller_entity_id:
        if not principal.is_system and not principal.is_platform_admin and principal.entity_id != order.buyer_entity_id:
            raise NotFound(_not_found(order.number))
        raise PermissionDenied("Only the seller can edit an order's lines.")
    authorize(principal, "order.edit_lines", order.seller_entity_id)
    return order


def _parse_line_changes(
    changes: Sequence[Mapping[str, Any]], lines: Mapping[int, OrderLine], order: Order
) -> dict[int, dict[str, Any]]:
    """{line_id: {"remove": True} | {"quantity": Decimal, "unit_price": Decimal}}, validated."""
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
    return parsed


def _apply_line_changes(
    session: Session, order: Order, lines: dict[int, OrderLine], parsed: dict[int, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Change or delete the lines, re-reserving stock for changed quantities; returns the change log.

    Removed lines are also dropped from `lines`.
    """
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
    return log


def _retotal(session: Session, order: Order, lines: Iterable[OrderLine]) -> None:
    """Recompute the order's subtotal, tax (by the seller license's state) and total."""
    license = session.get(License, order.seller_license_id)
    order.subtotal = sum((ln.line_total for ln in lines), ZERO)
    order.tax = wholesale_tax(order.subtotal, license.state if license else None)
    order.total = order.subtotal + order.tax
    order.updated_at = utcnow()
    session.add(order)
