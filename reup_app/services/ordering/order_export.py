"""CSV export of a business's orders, or of their lines, for either side, with the list's filters.

Downloads go through the file-ticket pattern (`services/file_tickets.py`): the page asks
`create_export_ticket` (authorized here) and sends the browser to
`/api/orders/export/<orders|lines>.csv?f=<filters>&ticket=<t>`; the ticket is bound to the user,
business, kind and the exact filter string, and redeemed once by the route.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlmodel import Session, col

from reup_app.errors import ValidationError
from reup_app.models import Order, OrderLine
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services.common import require_member
from reup_app.services.file_tickets import issue_ticket
from reup_app.services.ordering.order_filters import SORTS, OrderFilters
from reup_app.services.ordering.records import summary_query

KINDS = ("orders", "lines")
MAX_ORDERS = 10_000
ORDER_HEADER = ["Order", "Side", "Counterparty", "Status", "Placed (UTC)", "Terms", "Lines", "Subtotal", "Tax", "Total"]
LINE_HEADER = ["Order", "Side", "Counterparty", "Status", "Placed (UTC)", "SKU", "Product", "Quantity", "Unit price",
               "Line total"]  # fmt: skip


def _kind(kind: object) -> str:
    if kind not in KINDS:
        raise ValidationError("Export orders or lines.", "kind")
    return str(kind)


def create_export_ticket(session: Session, principal: Principal, kind: str, filters: OrderFilters) -> str:
    """A single-use ticket for one CSV download (`kind` orders or lines) of these filters."""
    entity_id = require_member(principal)
    authorize(principal, "order.view", entity_id)
    return issue_ticket(principal, "orders_csv", f"{_kind(kind)}?{filters.to_ref()}")


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet won't run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return out.getvalue().encode("utf-8")


def export_csv(session: Session, principal: Principal, kind: str, filters: OrderFilters) -> bytes:
    """The CSV of the principal's entity's orders (one row each) or their lines (one row per line)."""
    entity_id = require_member(principal)
    authorize(principal, "order.view", entity_id)
    kind = _kind(kind)
    stmt, buyer_e, seller_e = summary_query()
    rows = session.execute(
        stmt.where(*filters.conditions(entity_id, buyer_e, seller_e)).order_by(*SORTS[filters.sort]).limit(MAX_ORDERS)
    ).all()

    def head(order: Order, buyer: str, seller: str) -> list[object]:
        sold = order.seller_entity_id == entity_id
        placed = order.submitted_at or order.created_at
        return [order.number, "sold" if sold else "bought", buyer if sold else seller, order.status,
                placed.strftime("%Y-%m-%d %H:%M") if placed else ""]  # fmt: skip

    if kind == "orders":
        return _csv(
            ORDER_HEADER,
            (head(o, b, s) + [o.payment_terms, n, o.subtotal, o.tax, o.total] for o, b, s, n in rows),
        )
    by_order: dict[int, list[OrderLine]] = {}
    ids = [o.id for o, *_ in rows]
    for i in range(0, len(ids), 1000):
        for ln in session.execute(
            select(OrderLine).where(col(OrderLine.order_id).in_(ids[i : i + 1000])).order_by(col(OrderLine.id))
        ).scalars():
            by_order.setdefault(ln.order_id, []).append(ln)
    return _csv(
        LINE_HEADER,
        (
            head(o, b, s) + [ln.sku, ln.product_name, ln.quantity, ln.unit_price, ln.line_total]
            for o, b, s, _n in rows
            for ln in by_order.get(o.id, [])
        ),
    )
