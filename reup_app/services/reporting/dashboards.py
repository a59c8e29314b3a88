"""Dashboards: the wholesaler's work queues and sales, the retailer's open orders and spend.

Definitions (kept here so every chart means the same thing):
- A *sale* is an order line of an order the seller has accepted (status accepted, fulfilled,
  shipped, delivered or complete), dated by when the buyer submitted the order, valued at its
  line total (before tax). Submitted, backordered, rejected and cancelled orders are not sales.
- Buckets are UTC calendar days, or ISO weeks (labelled by their Monday), covering the last
  `days` days up to and including today; empty buckets are present with zero.
- Spend (retailer) is the same thing seen from the buyer: order totals (with tax) by seller.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from reup_app.errors import ValidationError
from reup_app.models import Entity, Invoice, Order, OrderLine, Product
from reup_app.models.enums import PUBLIC_LISTING_STATES, InvoiceStatus, OrderStatus
from reup_app.models.types import utcnow
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services.billing.overdue import overdue_clause
from reup_app.services.common import ZERO, parse_int, require_member
from reup_app.services.ordering.orders import OPEN_STATUSES
from reup_app.services.ordering.records import (
    OrderSummary,
    summary_from_row,
    summary_query,
)

S = OrderStatus
SALES_STATUSES = (S.ACCEPTED, S.FULFILLED, S.SHIPPED, S.DELIVERED, S.COMPLETE)
GRANULARITIES = ("day", "week")
MAX_DAYS = 366


@dataclass(frozen=True)
class OrderQueue:
    name: str
    statuses: list[str]
    count: int
    orders: list[OrderSummary]  # the most recent `limit` of them


@dataclass(frozen=True)
class SalesPoint:
    bucket: date
    key: int  # product id or buyer entity id
    label: str
    amount: Decimal
    quantity: Decimal
    orders: int


@dataclass(frozen=True)
class SalesTotal:
    key: int
    label: str
    amount: Decimal
    quantity: Decimal
    orders: int


@dataclass(frozen=True)
class SalesReport:
    granularity: str
    start: date
    end: date
    buckets: list[date]
    totals_by_bucket: list[Decimal]  # parallel to `buckets`
    by_product: list[SalesPoint]
    by_customer: list[SalesPoint]
    product_totals: list[SalesTotal]  # largest first
    customer_totals: list[SalesTotal]  # largest first
    total_amount: Decimal
    order_count: int

    def chart_data(self, dimension: str = "product", top: int = 5) -> list[dict[str, Any]]:
        """Rows for a stacked chart: [{"bucket": "2026-01-05", "<label>": 12.5, ..., "Other": 3.0}].

        Values are floats (chart libraries want numbers); use the Decimal fields for money.
        """
        points = self.by_product if dimension == "product" else self.by_customer
        totals = self.product_totals if dimension == "product" else self.customer_totals
        keep = {t.key: t.label for t in totals[:top]}
        rows: dict[date, dict[str, str | float]] = {b: {"bucket": b.isoformat()} for b in self.buckets}
        for p in points:
            label = keep.get(p.key, "Other")
            row = rows[p.bucket]
            row[label] = round(float(row.get(label, 0.0)) + float(p.amount), 2)
        return [rows[b] for b in self.buckets]


@dataclass(frozen=True)
class MoneySummary:
    open_count: int
    open_total: Decimal  # balance still due
    overdue_count: int
    overdue_total: Decimal


@dataclass(frozen=True)
class WholesalerDashboard:
    incoming: OrderQueue  # submitted: accept / reject / backorder
    backorder: OrderQueue
    fulfillment: OrderQueue  # accepted: pick, pack, assign packages
    shipment: OrderQueue  # fulfilled: ready to ship
    sales: SalesReport
    receivables: MoneySummary


@dataclass(frozen=True)
class RetailerDashboard:
    open_orders: OrderQueue
    spend_by_vendor: list[dict[str, Any]]  # {"seller_entity_id", "seller_name", "amount", "orders"}
    recently_ordered: list[dict[str, Any]]
    payables: MoneySummary


def _member(principal: Principal) -> int:
    entity_id = require_member(principal)
    authorize(principal, "dashboard.view", entity_id)
    return entity_id


def _window(days: int, granularity: str, now: datetime | None) -> tuple[date, date, list[date], datetime, datetime]:
    days = parse_int(days, "days")
    if not 1 <= days <= MAX_DAYS:
        raise ValidationError(f"Choose between 1 and {MAX_DAYS} days.", "days")
    if granularity not in GRANULARITIES:
        raise ValidationError("Granularity must be day or week.", "granularity")
    today = (now or utcnow()).astimezone(UTC).date()
    start = today - timedelta(days=days - 1)
    first = _bucket(start, granularity)
    buckets, b = [], first
    step = timedelta(days=1 if granularity == "day" else 7)
    while b <= today:
        buckets.append(b)
        b += step
    lo = datetime.combine(start, time.min, tzinfo=UTC)
    hi = datetime.combine(today + timedelta(days=1), time.min, tzinfo=UTC)
    return start, today, buckets, lo, hi


def _bucket(d: date, granularity: str) -> date:
    return d - timedelta(days=d.weekday()) if granularity == "week" else d


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _fold(rows, granularity: str) -> tuple[list[SalesPoint], list[SalesTotal]]:
    """rows of (day, key, label, amount, quantity, orders) -> bucketed points and totals."""
    points: dict[tuple[date, int], list] = {}
    totals: dict[int, list] = {}
    for day, key, label, amount, qty, orders in rows:
        b = _bucket(_as_date(day), granularity)
        amount, qty = Decimal(amount or 0), Decimal(qty or 0)
        p = points.setdefault((b, key), [label, ZERO, ZERO, 0])
        p[1] += amount
        p[2] += qty
        p[3] += int(orders or 0)
        t = totals.setdefault(key, [label, ZERO, ZERO, 0])
        t[1] += amount
        t[2] += qty
        t[3] += int(orders or 0)
    pts = [
        SalesPoint(bucket=b, key=k, label=v[0], amount=v[1], quantity=v[2], orders=v[3])
        for (b, k), v in sorted(points.items(), key=lambda kv: (kv[0][0], -kv[1][1], kv[0][1]))
    ]
    tots = [
        SalesTotal(key=k, label=v[0], amount=v[1], quantity=v[2], orders=v[3])
        for k, v in sorted(totals.items(), key=lambda kv: (-kv[1][1], kv[1][0], kv[0]))
    ]
    return pts, tots


def sales_report(
    session: Session, principal: Principal, *, days: int = 30, granularity: str = "day", now: datetime | None = None
) -> SalesReport:
    """The principal's entity's sales by product and by customer, bucketed by day or week."""
    entity_id = _member(principal)
    start, end, buckets, lo, hi = _window(days, granularity, now)
    day = func.date(Order.submitted_at)
    base = (
        col(Order.seller_entity_id) == entity_id,
        col(Order.status).in_([str(s) for s in SALES_STATUSES]),
        col(Order.submitted_at) >= lo,
        col(Order.submitted_at) < hi,
    )
    product_rows = session.execute(
        select(
            day,
            col(OrderLine.product_id),
            func.max(col(OrderLine.product_name)),
            func.sum(col(OrderLine.line_total)),
            func.sum(col(OrderLine.quantity)),
            func.count(func.distinct(col(Order.id))),
        )
        .join(Order, col(Order.id) == col(OrderLine.order_id))
        .where(*base)
        .group_by(day, col(OrderLine.product_id))
    ).all()
    customer_rows = session.execute(
        select(
            day,
            col(Order.buyer_entity_id),
            func.max(col(Entity.name)),
            func.sum(col(OrderLine.line_total)),
            func.sum(col(OrderLine.quantity)),
            func.count(func.distinct(col(Order.id))),
        )
        .join(Order, col(Order.id) == col(OrderLine.order_id))
        .join(Entity, col(Entity.id) == col(Order.buyer_entity_id))
        .where(*base)
        .group_by(day, col(Order.buyer_entity_id))
    ).all()
    by_product, product_totals = _fold(product_rows, granularity)
    by_customer, customer_totals = _fold(customer_rows, granularity)
    per_bucket: dict[date, Decimal] = defaultdict(lambda: ZERO)
    for p in by_customer:
        per_bucket[p.bucket] += p.amount
    return SalesReport(
        granularity=granularity,
        start=start,
        end=end,
        buckets=buckets,
        totals_by_bucket=[per_bucket[b] for b in buckets],
        by_product=by_product,
        by_customer=by_customer,
        product_totals=product_totals,
        customer_totals=customer_totals,
        total_amount=sum((t.amount for t in customer_totals), ZERO),
        order_count=sum(t.orders for t in customer_totals),
    )


def _queue(session: Session, name: str, statuses: tuple[str, ...], side_cond, limit: int) -> OrderQueue:
    stmt, _, _ = summary_query()
    conds = (side_cond, col(Order.status).in_([str(s) for s in statuses]))
    count = session.execute(select(func.count(col(Order.id))).where(*conds)).scalar_one()
    newest = (col(Order.submitted_at).desc(), col(Order.id).desc())
    rows = session.execute(stmt.where(*conds).order_by(*newest).limit(limit)).all() if count else []
    return OrderQueue(
        name=name, statuses=[str(s) for s in statuses], count=int(count), orders=[summary_from_row(*r) for r in rows]
    )


def _money(session: Session, side_cond, now: datetime) -> MoneySummary:
    balance = col(Invoice.total) - col(Invoice.amount_paid)
    open_conds = (side_cond, col(Invoice.status) == InvoiceStatus.OPEN, balance > 0)
    overdue = overdue_clause(now)  # the invoices' rule: past the due date in the license's calendar
    open_count, open_total = session.execute(
        select(func.count(col(Invoice.id)), func.coalesce(func.sum(balance), 0)).where(*open_conds)
    ).one()
    over_count, over_total = session.execute(
        select(func.count(col(Invoice.id)), func.coalesce(func.sum(balance), 0)).where(*open_conds, overdue)
    ).one()
    return MoneySummary(
        open_count=int(open_count),
        open_total=Decimal(open_total or 0),
        overdue_count=int(over_count),
        overdue_total=Decimal(over_total or 0),
    )


def wholesaler_dashboard(
    session: Session,
    principal: Principal,
    *,
    days: int = 30,
    granularity: str = "day",
    queue_limit: int = 10,
    now: datetime | None = None,
) -> WholesalerDashboard:
    entity_id = _member(principal)
    limit = min(100, max(1, parse_int(queue_limit, "queue_limit")))
    mine = Order.seller_entity_id == entity_id
    return WholesalerDashboard(
        incoming=_queue(session, "incoming", (S.SUBMITTED,), mine, limit),
        backorder=_queue(session, "backorder", (S.BACKORDER,), mine, limit),
        fulfillment=_queue(session, "fulfillment", (S.ACCEPTED,), mine, limit),
        shipment=_queue(session, "shipment", (S.FULFILLED,), mine, limit),
        sales=sales_report(session, principal, days=days, granularity=granularity, now=now),
        receivables=_money(session, Invoice.seller_entity_id == entity_id, now or utcnow()),
    )


def retailer_dashboard(
    session: Session,
    principal: Principal,
    *,
    days: int = 30,
    recent_limit: int = 10,
    queue_limit: int = 10,
    now: datetime | None = None,
) -> RetailerDashboard:
    entity_id = _member(principal)
    now = now or utcnow()
    limit = min(100, max(1, parse_int(queue_limit, "queue_limit")))
    recent_limit = min(50, max(1, parse_int(recent_limit, "recent_limit")))
    _start, _end, _buckets, lo, hi = _window(days, "day", now)
    mine, submitted = col(Order.buyer_entity_id) == entity_id, col(Order.submitted_at)
    spend_rows = session.execute(
        select(col(Order.seller_entity_id), func.max(Entity.name), func.sum(Order.total), func.count(col(Order.id)))
        .join(Entity, col(Entity.id) == col(Order.seller_entity_id))
        .where(mine, col(Order.status).in_([str(s) for s in SALES_STATUSES]), submitted >= lo, submitted < hi)
        .group_by(col(Order.seller_entity_id))
    ).all()
    spend = sorted(
        (
            {"seller_entity_id": sid, "seller_name": name, "amount": Decimal(amount or 0), "orders": int(n)}
            for sid, name, amount, n in spend_rows
        ),
        key=lambda d: (-d["amount"], d["seller_name"]),
    )
    return RetailerDashboard(
        open_orders=_queue(session, "open", OPEN_STATUSES, mine, limit),
        spend_by_vendor=spend,
        recently_ordered=_recently_ordered(session, entity_id, recent_limit),
        payables=_money(session, col(Invoice.buyer_entity_id) == entity_id, now),
    )


def _recently_ordered(session: Session, entity_id: int, limit: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(
            OrderLine,
            col(Order.number),
            col(Order.submitted_at),
            col(Order.seller_entity_id),
            col(Entity.name),
            Product,
        )
        .join(Order, col(Order.id) == col(OrderLine.order_id))
        .join(Entity, col(Entity.id) == col(Order.seller_entity_id))
        .join(Product, col(Product.id) == col(OrderLine.product_id))
        .where(
            col(Order.buyer_entity_id) == entity_id,
            col(Order.submitted_at).is_not(None),
            col(Order.status).not_in([S.DRAFT, S.CANCELLED, S.REJECTED]),
        )
        .order_by(col(Order.submitted_at).desc(), col(OrderLine.id))
        .limit(limit * 20)
    ).all()
    public = {str(s) for s in PUBLIC_LISTING_STATES}
    out, seen = [], set()
    for line, number, submitted_at, seller_id, seller_name, product in rows:
        if line.product_id in seen:
            continue
        seen.add(line.product_id)
        out.append(
            {
                "product_id": line.product_id,
                "sku": line.sku,
                "name": product.name,
                "seller_entity_id": seller_id,
                "seller_name": seller_name,
                "order_number": number,
                "last_ordered_at": submitted_at,
                "last_quantity": line.quantity,
                "last_unit_price": line.unit_price,
                "available_qty": product.available_qty,
                "orderable": product.listing_state in public and product.available_qty > 0,
            }
        )
        if len(out) >= limit:
            break
    return out


__all__ = [
    "MoneySummary",
    "OrderQueue",
    "RetailerDashboard",
    "SalesPoint",
    "SalesReport",
    "SalesTotal",
    "WholesalerDashboard",
    "retailer_dashboard",
    "sales_report",
    "wholesaler_dashboard",
]
