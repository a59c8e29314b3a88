"""Orders list state (buyer and seller side), live-reloaded when a shown or new order changes."""

from __future__ import annotations

import reflex as rx

from reup_app import formatting as fmt
from reup_app.models.enums import OrderStatus
from reup_app.realtime.listeners import live_listener
from reup_app.services.ordering import order_views as order_views_service
from reup_app.services.ordering.records import OrderSummary
from reup_app.state.base import AppState, error_message

ALL = "all"
STATUS_FILTERS = [(ALL, "All statuses"), ("open", "Open")] + [
    (str(s), str(s).capitalize()) for s in OrderStatus if s != OrderStatus.DRAFT
]
SIDE_FILTERS = [(ALL, "Bought and sold"), ("buyer", "Orders I placed"), ("seller", "Orders I received")]
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
    _numbers: set[str] = set()

    async def _refresh(self) -> None:
        try:
            principal = await self._principal()
            result = await self._read(
                order_views_service.list_orders,
                principal=principal,
                role_side=None if self.side == ALL else self.side,
                status=None if self.status == ALL else self.status,
                search=self.search or None,
                page=self.page,
                page_size=PAGE_SIZE,
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
        await self._refresh()

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
