"""What each order transition does beyond the status: reserve, release, allocate or consume stock; invoice and shipment hooks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from reup_app.errors import (
    Conflict,
    ValidationError,
)
from reup_app.models import (
    Order,
)
from reup_app.models.types import utcnow
from reup_app.services.billing.invoices import create_invoice_for_order
from reup_app.services.common import (
    ZERO,
    clean_text,
    fmt_qty,
    parse_int,
    parse_quantity,
)
from reup_app.services.compliance import preship
from reup_app.services.inventory import lots as inventory
from reup_app.services.inventory import package_allocation as package_allocation_service
from reup_app.services.ordering import shipping
from reup_app.services.ordering.records import (
    _lines,
)
from reup_app.services.ordering.shipment_details import parse_shipment_details
from reup_app.services.ordering.transition import Transition
from reup_app.services.pos import pushes as pos_pushes


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
        allocations = package_allocation_service.allocate_for_fulfillment(session, order, lines, requested)
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
        details = parse_shipment_details(data, sorted({a.package_label for a in allocations}))
        shipping.get_shipping_hooks().order_shipped(session, order, details)
        detail["invoice_number"] = invoice.number
    elif t.action == "deliver":
        order.delivered_at = utcnow()
        shipping.get_shipping_hooks().order_delivered(session, order)
        pos_pushes.order_delivered(session, order)  # the store's draft receive in Dutchie, if connected
    if t.action == "accept":
        pos_pushes.order_accepted(session, order)  # or its purchase order, when the store chose that
    return detail
