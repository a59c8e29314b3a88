"""/dashboard state: the wholesaler's queues and sales charts, the retailer's orders and spend.

Which halves are shown follows the signed-in business's kind ("both" gets both). Chart series use
fixed keys ("s0".."s4", "other") whose display names are in `*_series`, so the chart components
are static and only their data and names change.
"""

from __future__ import annotations

import logging
from typing import Any

import reflex as rx

from reup_app import formatting as fmt
from reup_app.errors import ServiceError
from reup_app.realtime.listeners import live_listener
from reup_app.services.reporting import dashboards
from reup_app.state.auth import AuthState
from reup_app.state.base import AppState, error_message

log = logging.getLogger(__name__)

PERIODS = {"7": ("day", "Last 7 days"), "30": ("day", "Last 30 days"), "90": ("week", "Last 90 days (weekly)")}
TOP = 5
SERIES_KEYS = [f"s{i}" for i in range(TOP)] + ["other"]


def _order_view(o) -> dict[str, str]:
    return {
        "number": o.number,
        "buyer": o.buyer_name,
        "seller": o.seller_name,
        "status": o.status,
        "total": fmt.money(o.total),
        "lines": str(o.line_count),
        "submitted": o.submitted_at.strftime("%b %d, %H:%M") if o.submitted_at else "",
    }


def _series(report: dashboards.SalesReport, dimension: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Stacked-chart rows with fixed keys, and the display name of each key (blank: unused)."""
    totals = report.product_totals if dimension == "product" else report.customer_totals
    points = report.by_product if dimension == "product" else report.by_customer
    key_of = {t.key: SERIES_KEYS[i] for i, t in enumerate(totals[:TOP])}
    names = [t.label for t in totals[:TOP]] + [""] * (TOP - len(totals[:TOP]))
    names.append("Other" if len(totals) > TOP else "")
    rows: dict[Any, dict[str, Any]] = {
        b: {"bucket": b.strftime("%b %d"), **{k: 0.0 for k in SERIES_KEYS}} for b in report.buckets
    }
    for p in points:
        row = rows.get(p.bucket)
        if row is not None:
            key = key_of.get(p.key, "other")
            row[key] = round(row[key] + float(p.amount), 2)
    return [rows[b] for b in report.buckets], names


def _totals_view(totals: list[dashboards.SalesTotal]) -> list[dict[str, str]]:
    return [
        {"label": t.label, "amount": fmt.money(t.amount), "quantity": fmt.quantity(t.quantity), "orders": str(t.orders)}
        for t in totals[:10]
    ]


# Pushed events that change what a dashboard shows (queues, sales, money).
REFRESH_ON = (
    "order.submitted",
    "order.status_changed",
    "order.lines_edited",
    "invoice.created",
    "invoice.payment_recorded",
)


@live_listener
class DashboardState(AppState):
    period: str = "30"
    error: str = ""
    loaded: bool = False
    show_seller: bool = False
    show_buyer: bool = False

    # wholesaler
    queue_counts: dict[str, str] = {"incoming": "0", "backorder": "0", "fulfillment": "0", "shipment": "0"}
    incoming: list[dict[str, str]] = []
    fulfillment: list[dict[str, str]] = []
    shipment: list[dict[str, str]] = []
    backorder: list[dict[str, str]] = []
    sales_total: str = ""
    sales_orders: str = ""
    receivables: str = ""
    receivables_note: str = ""
    sales_over_time: list[dict[str, Any]] = []
    product_chart: list[dict[str, Any]] = []
    product_series: list[str] = [""] * (TOP + 1)
    customer_chart: list[dict[str, Any]] = []
    customer_series: list[str] = [""] * (TOP + 1)
    top_products: list[dict[str, str]] = []
    top_customers: list[dict[str, str]] = []

    # retailer
    open_orders: list[dict[str, str]] = []
    open_count: str = "0"
    spend_chart: list[dict[str, Any]] = []
    spend_total: str = ""
    recently_ordered: list[dict[str, str]] = []
    payables: str = ""
    payables_note: str = ""

    async def _entity_kind(self) -> str:
        return (await self.get_state(AuthState)).entity_kind

    async def _refresh(self) -> None:
        kind = await self._entity_kind()
        self.show_seller = kind in ("wholesaler", "both")
        self.show_buyer = kind in ("retailer", "both")
        days = int(self.period)
        try:
            if self.show_seller:
                self._show_wholesaler(
                    await self._read(dashboards.wholesaler_dashboard, days=days, granularity=PERIODS[self.period][0])
                )
            if self.show_buyer:
                self._show_retailer(await self._read(dashboards.retailer_dashboard, days=days))
        except Exception as err:
            if not isinstance(err, ServiceError):
                log.exception("dashboard failed")
            self.error = error_message(err)
            return
        self.error = ""
        self.loaded = True

    def _show_wholesaler(self, d: dashboards.WholesalerDashboard) -> None:
        self.queue_counts = {q.name: str(q.count) for q in (d.incoming, d.backorder, d.fulfillment, d.shipment)}
        self.incoming = [_order_view(o) for o in d.incoming.orders]
        self.backorder = [_order_view(o) for o in d.backorder.orders]
        self.fulfillment = [_order_view(o) for o in d.fulfillment.orders]
        self.shipment = [_order_view(o) for o in d.shipment.orders]
        s = d.sales
        self.sales_total, self.sales_orders = fmt.money(s.total_amount), str(s.order_count)
        r = d.receivables
        self.receivables = fmt.money(r.open_total)
        self.receivables_note = f"{r.open_count} open invoices" + (
            f", {fmt.money(r.overdue_total)} overdue ({r.overdue_count})" if r.overdue_count else ""
        )
        self.sales_over_time = [
            {"bucket": b.strftime("%b %d"), "sales": float(v)}
            for b, v in zip(s.buckets, s.totals_by_bucket, strict=True)
        ]
        self.product_chart, self.product_series = _series(s, "product")
        self.customer_chart, self.customer_series = _series(s, "customer")
        self.top_products = _totals_view(s.product_totals)
        self.top_customers = _totals_view(s.customer_totals)

    def _show_retailer(self, d: dashboards.RetailerDashboard) -> None:
        self.open_orders = [_order_view(o) for o in d.open_orders.orders]
        self.open_count = str(d.open_orders.count)
        self.spend_chart = [
            {"vendor": v["seller_name"], "amount": float(v["amount"]), "orders": v["orders"]} for v in d.spend_by_vendor
        ]
        self.spend_total = fmt.money(sum((v["amount"] for v in d.spend_by_vendor), start=0))
        self.recently_ordered = [
            {
                "product_id": str(r["product_id"]),
                "name": r["name"],
                "sku": r["sku"],
                "seller": r["seller_name"],
                "order_number": r["order_number"],
                "quantity": fmt.quantity(r["last_quantity"]),
                "price": fmt.money(r["last_unit_price"]),
                "when": r["last_ordered_at"].strftime("%b %d") if r["last_ordered_at"] else "",
                "orderable": "yes" if r["orderable"] else "no",
            }
            for r in d.recently_ordered
        ]
        p = d.payables
        self.payables = fmt.money(p.open_total)
        self.payables_note = f"{p.open_count} open invoices" + (
            f", {fmt.money(p.overdue_total)} overdue ({p.overdue_count})" if p.overdue_count else ""
        )

    async def _on_domain_event(self, event) -> None:
        """An order or invoice of this business changed: reload (the services re-authorize)."""
        if self.loaded and event.kind in REFRESH_ON:
            await self._refresh()

    @rx.event
    async def load(self):
        if (denied := await self._gate("dashboard.view")) is not None:
            return denied
        period = str(self.router.url.query_parameters.get("days", self.period))
        self.period = period if period in PERIODS else "30"
        await self._refresh()

    @rx.event
    async def set_period(self, value: str):
        if value not in PERIODS:
            self.error = "Choose 7, 30 or 90 days."
            return
        self.period = value
        await self._refresh()
