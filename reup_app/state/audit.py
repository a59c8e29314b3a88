"""/settings/audit (owners and admins: their business's trail) and the platform-wide trail."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import reflex as rx

from reup_app.errors import ServiceError
from reup_app.formatting import format_datetime
from reup_app.services.audit import log_listing as log_listing_service
from reup_app.services.audit.kinds import KINDS, kind_options
from reup_app.state.base import AppState, error_message, form_text

PAGE_SIZE = 50
# (value, label) of the "kind of record" list; "" = every kind
KIND_OPTIONS: list[list[str]] = [["all", "Every kind of record"]] + [[v, label] for v, label in kind_options()]


def _day(value: str, field: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as exc:
        raise ValueError(f"{field} must be a date like 2026-11-24.") from exc


class AuditState(AppState):
    entries: list[dict[str, str]] = []
    total: int = 0
    page: int = 1
    pages: int = 1
    kind: str = ""
    technical: bool = False  # show session, token and bookkeeping rows too
    action: str = ""
    since: str = ""
    until: str = ""
    everything: bool = False  # platform admin viewing all businesses
    error: str = ""

    async def _reload(self) -> None:
        try:
            since = _day(self.since, "From")
            until = _day(self.until, "To")
        except ValueError as err:
            self.error = str(err)
            return
        try:
            result = await self._call(
                log_listing_service.list_audit,
                kind=self.kind or None,
                technical=self.technical,
                action=self.action or None,
                since=since,
                until=until + timedelta(days=1) if until else None,
                page=self.page,
                page_size=PAGE_SIZE,
            )
        except ServiceError as err:
            self.error = error_message(err)
            return
        self.error = ""
        self.total, self.pages = result.total, result.pages
        self.entries = [
            {
                "id": str(e.id),
                "when": format_datetime(e.occurred_at),
                "summary": e.summary,
                "who": e.actor_name or e.actor_email or "ReUp (system)",
                "from": e.client_ip or "",
                "action": e.action,
                "table": e.table_name,
                "row": e.row_id,
                "changes": "; ".join(f"{k}: {json.dumps(v, default=str)}" for k, v in sorted(e.changes.items()))[:600],
            }
            for e in result.items
        ]

    @rx.event
    async def load(self):
        p = await self._principal()
        if (denied := await self._gate(None if p.is_platform_admin else "audit.view")) is not None:
            return denied
        self.everything = p.is_platform_admin and p.entity_id is None
        self.page = 1
        await self._reload()

    @rx.event
    async def apply_filters(self, form: dict):
        kind = form_text(form, "kind", 32)
        self.kind = kind if kind in KINDS else ""
        action = form_text(form, "action", 16)
        self.action = action if action in ("insert", "update", "delete") else ""
        self.since, self.until = form_text(form, "since", 10), form_text(form, "until", 10)
        self.page = 1
        await self._reload()

    @rx.event
    async def go_to(self, page: int):
        if not isinstance(page, int) or page < 1 or page > self.pages:
            return
        self.page = page
        await self._reload()

    @rx.event
    async def set_technical(self, value: bool):
        self.technical = bool(value)
        self.page = 1
        await self._reload()
