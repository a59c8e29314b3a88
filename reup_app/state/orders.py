"""Orders list state (buyer and seller side), live-reloaded when a shown or new order changes."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import reflex as rx

from reup_app import formatting as fmt
from reup_app.errors import ServiceError
from reup_app.models.enums import OrderStatus
from reup_app.realtime.listeners import live_listener
from reup_app.services.ordering import order_export as order_export_service
from reup_app.services.ordering import order_views as order_views_service
from reup_app.services.ordering.order_filters import OrderFilters
from reup_app.services.ordering.records import OrderSummary
from reup_app.state.base import AppState, error_message

ALL = "all"
STATUS_FILTERS = [(ALL, "All statuses"), ("open", "Open")] + [
    (str(s), str(s).capitalize()) for s in OrderStatus if s != OrderStatus.DRAFT
]
SIDE_FILTERS = [(ALL, "Bought and sold"), ("buyer", "Orders I placed"), ("seller", "Orders I received")]
SORT_OPTIONS = [("newest", "Newest first"), ("oldest", "Oldest first"), ("total_desc", "Largest total"),
                ("total_asc", "Smallest total")]  # fmt: skip
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
PAGE_SIZE = 25


def status_label(status: str) -> str:
    return "On backorder" if status == "backorder" else str(status).capitalize()


def when(dt) -> str:
    return dt.strftime("%Y-%m-%d %H:%M UTC") if dt else ""


def _row(o: OrderSummary, entity_id: int | None) -> dict[str, str]:
    sold = o.seller_entity_id == entity_id
    return {
        "number": o.number,
        "side": "Sold to" if sold else "Bought from",
        "counterparty": o.buyer_name if sold else o.seller_name,
        "status": o.status,
        "status_label": status_label(o.status),
        "total": fmt.money(o.total),
        "lines": str(o.line_count),
        "terms": o.payment_terms.replace("_", " ").upper(),
        "placed": when(o.submitted_at or o.created_at),
        "updated": when(o.updated_at),
    }


@live_listener
class OrdersState(AppState):
    rows: list[dict[str, str]] = []
    status: str = ALL
    side: str = ALL
    search: str = ""
    page: int = 1
    pages: int = 1
    total: int = 0
    error: str = ""
    loaded: bool = False
    placed_from: str = ""  # YYYY-MM-DD or ""
    placed_to: str = ""
    counterparty: str = ALL
    counterparties: list[dict[str, str]] = []  # {"value", "label"}
    sort: str = "newest"
    _numbers: set[str] = set()

    def _filters(self) -> dict:
        return {
            "role_side": None if self.side == ALL else self.side,
            "status": None if self.status == ALL else self.status,
            "search": self.search or None,
            "placed_from": self.placed_from or None,
            "placed_to": self.placed_to or None,
            "counterparty_id": None if self.counterparty == ALL else self.counterparty,
            "sort": self.sort,
        }

    async def _refresh(self) -> None:
        try:
            principal = await self._principal()
            result = await self._read(
                order_views_service.list_orders,
                principal=principal,
                page=self.page,
                page_size=PAGE_SIZE,
                **self._filters(),
            )
        except Exception as err:
            self.error = error_message(err, "order list")
            return
        self.error = ""
        self.rows = [_row(o, principal.entity_id) for o in result.items]
        self._numbers = {o.number for o in result.items}
        self.total, self.pages, self.page = result.total, result.pages, result.page
        self.loaded = True

    async def _on_domain_event(self, event) -> None:
        """Reload when an order on this page changed, or a new order arrived."""
        kind = getattr(event, "kind", "")
        if not kind.startswith("order.") or not self.loaded:
            return
        number = (getattr(event, "payload", None) or {}).get("order_number")
        if number in self._numbers or kind == "order.submitted":
            await self._refresh()

    @rx.event
    async def load(self):
        if (denied := await self._gate("order.view")) is not None:
            return denied
        params = self.router.url.query_parameters
        status = str(params.get("status", ALL))
        self.status = status if status in dict(STATUS_FILTERS) else ALL
        side = str(params.get("side", ALL))
        self.side = side if side in dict(SIDE_FILTERS) else ALL
        self.page = 1
        try:
            found = await self._call(order_views_service.order_counterparties)
        except ServiceError:
            found = []
        self.counterparties = [{"value": str(i), "label": name} for i, name in found]
        await self._refresh()

    @rx.event
    async def set_placed_from(self, value: str):
        await self._set_date("placed_from", value)

    @rx.event
    async def set_placed_to(self, value: str):
        await self._set_date("placed_to", value)

    async def _set_date(self, field: str, value: str) -> None:
        if not isinstance(value, str) or (value and not DATE_RE.match(value)):
            self.error = "Enter dates as YYYY-MM-DD."
            return
        setattr(self, field, value)
        self.page = 1
        await self._refresh()

    @rx.event
    async def set_counterparty(self, value: str):
        if value != ALL and value not in {c["value"] for c in self.counterparties}:
            self.error = "Unknown business."
            return
        self.counterparty, self.page = value, 1
        await self._refresh()

    @rx.event
    async def set_sort(self, value: str):
        if value not in dict(SORT_OPTIONS):
            self.error = "Unknown sort order."
            return
        self.sort, self.page = value, 1
        await self._refresh()

    @rx.event
    async def download_csv(self, kind: str):
        """CSV of the orders (or their lines) the filters show, through a one-time download ticket."""
        if kind not in ("orders", "lines"):
            self.error = "Export orders or lines."
            return
        try:
            filters = OrderFilters.parse(**self._filters())
            ticket = await self._call(order_export_service.create_export_ticket, kind, filters)
        except ServiceError as err:
            self.error = error_message(err)
            return
        query = urlencode({"f": filters.to_ref(), "ticket": ticket})
        return rx.download(url=f"/api/orders/export/{kind}.csv?{query}", filename=f"reup-{kind}.csv")

    @rx.event
    async def set_status(self, value: str):
        if value not in dict(STATUS_FILTERS):
            self.error = "Unknown status filter."
            return
        self.status, self.page = value, 1
        await self._refresh()

    @rx.event
    async def set_side(self, value: str):
        if value not in dict(SIDE_FILTERS):
            self.error = "Unknown filter."
            return
        self.side, self.page = value, 1
        await self._refresh()

    @rx.event
    async def set_search(self, value: str):
        if not isinstance(value, str):
            self.error = "Search text must be text."
            return
        self.search, self.page = value.strip()[:64], 1
        await self._refresh()

    @rx.event
    async def next_page(self):
        if self.page < self.pages:
            self.page += 1
            await self._refresh()

    @rx.event
    async def prev_page(self):
        if self.page > 1:
            self.page -= 1
            await self._refresh()
