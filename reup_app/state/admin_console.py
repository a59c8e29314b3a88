"""Platform admin console: read-only "view as business" (support), platform metrics with
charts, integration health of every connection."""

from __future__ import annotations

import reflex as rx

from reup_app.errors import ServiceError
from reup_app.formatting import format_datetime, money
from reup_app.security.principal import support_view
from reup_app.services.identity import signup as signup_service
from reup_app.services.identity import support_view as support_service
from reup_app.services.integrations import health as health_service
from reup_app.services.reporting import platform_metrics as metrics_service
from reup_app.state.admin_rows import admin_load, retry_row
from reup_app.state.auth import AuthState
from reup_app.state.base import AppState, error_message, form_text
from reup_app.state.inputs import parse_id


class AdminSupportState(AppState):
    """/admin/support: pick a business and a reason; the tab then acts read-only for it."""

    businesses: list[list[str]] = []  # [id, "name (kind, status)"]
    error: str = ""

    @rx.event
    async def load(self):
        if (denied := await self._gate(platform_admin=True)) is not None:
            return denied
        self.error = ""
        auth = await self.get_state(AuthState)
        if auth._support_entity:  # on the console again: the support view ends
            await auth._end_support()
        rows = await self._call(signup_service.list_businesses, status=None, limit=500)
        self.businesses = [[str(b.entity_id), f"{b.name} ({b.kind}, {b.status})"] for b in rows]

    @rx.event
    async def start(self, form: dict):
        ident = parse_id(form_text(form, "entity_id", 20))
        if ident is None:
            self.error = "Choose a business."
            return
        auth = await self.get_state(AuthState)
        base = await auth._base_principal()
        try:
            started = await self._call(
                support_service.start_support_view, ident, form_text(form, "reason", 255), principal=base
            )
        except ServiceError as err:
            self.error = error_message(err)
            return
        self.error = ""
        auth._support_entity = started.entity_id
        auth.support_view_of = started.name
        auth.entity_kind, auth.role = started.kind, "viewer"
        auth.business_name = f"{started.name} (support view)"
        auth._set_allowed(support_view(base, started.entity_id))
        return rx.redirect("/orders")

    @rx.event
    async def end(self):
        await (await self.get_state(AuthState))._end_support()
        return rx.redirect("/admin/support")


class AdminMetricsState(AppState):
    """/admin/metrics: GMV, orders per day, active businesses, order funnel (last `days` days)."""

    days: int = 30
    gmv: str = ""
    orders: int = 0
    active_businesses: int = 0
    series: list[dict[str, str | int | float]] = []
    funnel: list[dict[str, str | int]] = []
    error: str = ""

    @rx.event
    async def load(self):
        if (denied := await self._gate(platform_admin=True)) is not None:
            return denied
        await self._reload()

    async def _reload(self) -> None:
        try:
            m = await self._call(metrics_service.platform_metrics, days=self.days)
        except ServiceError as err:
            self.error = error_message(err)
            return
        self.error = ""
        self.gmv = money(m.gmv)
        self.orders, self.active_businesses = m.orders, m.active_businesses
        self.series = [
            {"day": p.day.isoformat()[5:], "orders": p.orders, "gmv": float(p.gmv), "active": p.active_businesses}
            for p in m.series
        ]
        self.funnel = [{"stage": name, "orders": count} for name, count in m.funnel]

    @rx.event
    async def set_days(self, value: str):
        self.days = {"7": 7, "30": 30, "90": 90}.get(value, 30)
        await self._reload()


class AdminIntegrationsState(AppState):
    """/admin/integrations: every connection's health, with retry."""

    connections: list[dict[str, str]] = []
    error: str = ""
    notice: str = ""

    async def _reload(self) -> None:
        rows = await self._call(health_service.connection_health)
        self.connections = [
            {
                "id": str(c.connection_id),
                "business": c.business,
                "license": c.license_number,
                "provider": c.provider.upper(),
                "status": c.status if c.enabled else "disabled",
                "last_sync": (format_datetime(c.last_sync_at) + " · " + c.last_sync_status)
                if c.last_sync_at
                else "never",
                "failed": str(c.failed_runs_week),
                "error": c.last_error,
            }
            for c in rows
        ]

    @rx.event
    async def load(self):
        return await admin_load(self)

    @rx.event
    async def retry(self, connection_id: str):
        await retry_row(
            self,
            health_service.retry_connection,
            connection_id,
            "Unknown connection.",
            "Sync queued; it runs within 15 seconds.",
        )
