"""The audit trail in the business's words: "Dana Reyes shipped order RU-… (invoice INV-…)".

`describe_entries` turns a page of raw audit rows (table, row id, field changes) into one sentence
each. Numbers and names are looked up in one query per table for the whole page.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from reup_app.models import Invoice, Order, Product
from reup_app.services.audit.kinds import noun

# order status -> the verb of the change that led there
STATUS_VERBS = {
    "submitted": "placed",
    "accepted": "accepted",
    "rejected": "rejected",
    "backorder": "put on backorder",
    "cancelled": "cancelled",
    "fulfilled": "fulfilled",
    "shipped": "shipped",
    "delivered": "delivered",
    "complete": "completed",
}
INVOICE_VERBS = {"paid": "marked as paid", "void": "voided", "partially_paid": "recorded a part payment on"}
ACTION_VERBS = {"insert": "added", "update": "changed", "delete": "removed"}
_HIDDEN_FIELDS = {"id", "created_at", "updated_at", "search_text"}


class _Lookups:
    """Order numbers, invoice numbers (by order and by id) and product names for one page."""

    def __init__(self, session: Session, rows: list[Any]) -> None:
        order_ids: set[int] = set()
        invoice_ids: set[int] = set()
        product_ids: set[int] = set()
        for r in rows:
            rid = _int(r.row_id)
            if r.table_name == "orders" and rid:
                order_ids.add(rid)
            elif r.table_name == "invoices" and rid:
                invoice_ids.add(rid)
            elif r.table_name == "products" and rid:
                product_ids.add(rid)
            for fk, bucket in (("order_id", order_ids), ("invoice_id", invoice_ids), ("product_id", product_ids)):
                if (v := _int(_value(r.changes, fk))) is not None:
                    bucket.add(v)
        self.invoice_by_order: dict[int, str] = {}
        self.invoice: dict[int, tuple[str, int]] = {}
        if invoice_ids or order_ids:
            q = select(col(Invoice.id), col(Invoice.number), col(Invoice.order_id)).where(
                col(Invoice.id).in_(invoice_ids or {0}) | col(Invoice.order_id).in_(order_ids or {0})
            )
            for iid, number, oid in session.execute(q).all():
                self.invoice[iid] = (number, oid)
                self.invoice_by_order[oid] = number
                order_ids.add(oid)
        self.order: dict[int, str] = {}
        if order_ids:
            q2 = select(col(Order.id), col(Order.number)).where(col(Order.id).in_(order_ids))
            self.order = {oid: number for oid, number in session.execute(q2).all()}
        self.product: dict[int, str] = {}
        if product_ids:
            q3 = select(col(Product.id), col(Product.name)).where(col(Product.id).in_(product_ids))
            self.product = {pid: name for pid, name in session.execute(q3).all()}

    def order_text(self, order_id: int | None) -> str:
        number = self.order.get(order_id or 0)
        if number is None:
            return f"order #{order_id}"
        invoice = self.invoice_by_order.get(order_id or 0)
        return f"order {number}" + (f" (invoice {invoice})" if invoice else "")


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _value(changes: dict[str, Any], name: str) -> Any:
    """The field's value after the change (before it, for a delete)."""
    pair = changes.get(name)
    if not isinstance(pair, list) or len(pair) != 2:
        return None
    return pair[1] if pair[1] is not None else pair[0]


def _fields(changes: dict[str, Any]) -> str:
    names = [k.replace("_", " ") for k in sorted(changes) if k not in _HIDDEN_FIELDS and not k.startswith("_")]
    if not names:
        return ""
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return f" ({shown})"


def _order_sentence(action: str, changes: dict[str, Any], order_id: int | None, look: _Lookups) -> str:
    what = look.order_text(order_id)
    if action == "insert":
        return f"placed {what}"
    status = changes.get("status")
    if action == "update" and isinstance(status, list) and status[1] in STATUS_VERBS:
        return f"{STATUS_VERBS[status[1]]} {what}"
    return f"{ACTION_VERBS.get(action, action)} {what}{_fields(changes)}"


def _invoice_sentence(action: str, changes: dict[str, Any], invoice_id: int | None, look: _Lookups) -> str:
    number, order_id = look.invoice.get(invoice_id or 0, (f"#{invoice_id}", None))
    order = f" for order {look.order[order_id]}" if order_id in look.order else ""
    if action == "insert":
        return f"issued invoice {number}{order}"
    status = changes.get("status")
    if action == "update" and isinstance(status, list) and status[1] in INVOICE_VERBS:
        return f"{INVOICE_VERBS[status[1]]} invoice {number}{order}"
    return f"{ACTION_VERBS.get(action, action)} invoice {number}{_fields(changes)}"


def sentence(row: Any, look: _Lookups) -> str:
    """What happened, without the actor ("shipped order RU-1 (invoice INV-1)")."""
    table, action, changes = row.table_name, row.action, row.changes
    if row.row_id == "*":
        return f"{ACTION_VERBS.get(action, action)} several {noun(table)} rows at once"
    if table == "orders":
        return _order_sentence(action, changes, _int(row.row_id), look)
    if table == "invoices":
        return _invoice_sentence(action, changes, _int(row.row_id), look)
    if table == "payments":
        amount = _value(changes, "amount")
        inv = look.invoice.get(_int(_value(changes, "invoice_id")) or 0)
        on = f" on invoice {inv[0]}" if inv else ""
        verb = "recorded a payment" if action == "insert" else f"{ACTION_VERBS.get(action, action)} a payment"
        return f"{verb}{f' of ${amount}' if amount else ''}{on}"
    if table == "products":
        name = look.product.get(_int(row.row_id) or 0) or _value(changes, "name") or f"#{row.row_id}"
        return f"{ACTION_VERBS.get(action, action)} product {name}{_fields(changes) if action == 'update' else ''}"
    if table == "support_views" and action == "insert":
        return f"opened a read-only support view (ReUp support): {_value(changes, 'reason') or ''}".rstrip(": ")
    if table in ("order_lines", "order_messages", "deliveries", "compliance_manifests"):
        order_id = _int(_value(changes, "order_id"))
        if order_id in look.order:
            return f"{ACTION_VERBS.get(action, action)} {noun(table)} on {look.order_text(order_id)}"
    detail = _fields(changes) if action == "update" else ""
    return f"{ACTION_VERBS.get(action, action)} {noun(table)} #{row.row_id}{detail}"


def lookups(session: Session, rows: list[Any]) -> _Lookups:
    return _Lookups(session, rows)
