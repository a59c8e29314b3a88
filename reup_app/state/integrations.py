"""/settings/integrations: each license's METRC connection (connect, test, sync now, disconnect) and
a live progress bar per running sync (`integration.sync_progress` events).

The user API key arrives in the connect form's submission and goes straight to the service; it is
never kept in a state var. Rows hold display text only."""

from __future__ import annotations

import asyncio

import reflex as rx

from reup_app.errors import ServiceError
from reup_app.events.kinds import SYNC_PROGRESS
from reup_app.formatting import format_datetime
from reup_app.realtime.listeners import live_listener
from reup_app.security.permissions import is_allowed
from reup_app.services.integrations import connection_check
from reup_app.services.integrations import connections as svc
from reup_app.state.base import AppState, error_message, form_text
from reup_app.state.inputs import parse_id

STATUS_LABELS = {
    "not_connected": "Not connected",
    svc.OK: "Connected",
    svc.ERROR: "Error",
    svc.QUEUED: "Sync queued",
    svc.DISCONNECTED: "Disconnected",
}


def _last_sync_text(view: svc.ConnectionView) -> str:
    last = view.last_sync
    if last is None:
        return "Never synced"
    took = f" in {last.duration_seconds:.1f} s" if last.duration_seconds is not None else ""
    outcome = "failed" if last.status == "failed" else f"{last.items_seen} seen, {last.items_changed} changed"
    return f"{format_datetime(last.finished_at or last.started_at)}: {outcome}{took}"


def row_of(view: svc.ConnectionView) -> dict[str, str]:
    status = "running" if view.running else view.status
    last_error = view.last_error or (view.last_sync.error if view.last_sync else "")
    return {
        "license_id": str(view.license_id),
        "connection_id": str(view.connection_id or ""),
        "license": view.license_number,
        "state": view.state,
        "premises": view.premises_name,
        "status": status,
        "status_label": "Syncing" if view.running else STATUS_LABELS.get(view.status, view.status),
        "connected": "1" if view.connected else "",
        "last_sync": _last_sync_text(view),
        "last_error": last_error[:500],
        "running": "1" if view.running else "",
    }


@live_listener(kinds={SYNC_PROGRESS})
class IntegrationsState(AppState):
    rows: list[dict[str, str]] = []
    # connection id -> {"done", "total", "percent", "label"} of the sync running now
    progress: dict[str, dict[str, str]] = {}
    has_licenses: bool = False
    connect_for: str = ""  # license id whose connect form is open
    confirm_disconnect: str = ""  # license id awaiting confirmation
    error: str = ""
    notice: str = ""
    _entity_id: int | None = None

    async def _reload(self) -> None:
        views = await self._call(svc.list_connections)
        self.rows = [row_of(v) for v in views]
        self.has_licenses = bool(views)
        running = {r["connection_id"] for r in self.rows if r["running"]}
        self.progress = {k: v for k, v in self.progress.items() if k in running}

    def _result(self, err: Exception | None, notice: str = "") -> None:
        self.error, self.notice = (error_message(err, "integration action"), "") if err else ("", notice)

    @rx.event
    async def load(self):
        if (denied := await self._gate("integration.manage")) is not None:
            return denied
        self._entity_id = (await self._principal()).entity_id
        self.error = self.notice = self.connect_for = self.confirm_disconnect = ""
        self.progress = {}
        self.rows, self.has_licenses = [], False
        if self._entity_id is None:  # a platform admin outside any business: nothing of its own to connect
            return
        await self._reload()

    @rx.event
    def open_connect(self, license_id: str):
        self.connect_for = str(parse_id(license_id) or "")
        self.confirm_disconnect = ""

    @rx.event
    def cancel(self):
        self.connect_for = self.confirm_disconnect = ""

    async def _act(self, fn, raw_id, notice: str) -> None:
        ident = parse_id(raw_id)
        if ident is None:
            self.error, self.notice = "Unknown license.", ""
            return
        try:
            await self._call(fn, ident)
        except ServiceError as err:
            self._result(err)
            return
        self._result(None, notice)
        await self._reload()

    @rx.event
    async def connect(self, form: dict):
        ident = parse_id(form.get("license_id") if isinstance(form, dict) else None)
        user_key = form_text(form, "user_key", 300)
        base_url = form_text(form, "base_url", 300)
        if ident is None:
            self.error, self.notice = "Unknown license.", ""
            return
        try:
            view = await self._call(svc.connect_license, ident, user_key, base_url or None)
        except ServiceError as err:
            self._result(err)
            return
        self.connect_for = ""
        self._result(None, f"License {view.license_number} is connected to METRC; the first sync starts shortly.")
        await self._reload()

    @rx.event
    async def test_connection(self, license_id: str):
        ident = parse_id(license_id)
        if ident is None:
            self.error, self.notice = "Unknown license.", ""
            return
        principal = await self._principal()
        try:
            result = await asyncio.to_thread(connection_check.test_connection, principal, ident)
        except ServiceError as err:
            self._result(err)
            return
        self.error, self.notice = ("", result.message) if result.ok else (result.message, "")
        await self._reload()

    @rx.event
    async def sync_now(self, license_id: str):
        await self._act(svc.sync_now, license_id, "Sync queued: the worker starts it within 15 seconds.")

    @rx.event
    def ask_disconnect(self, license_id: str):
        self.confirm_disconnect = str(parse_id(license_id) or "")
        self.connect_for = ""

    @rx.event
    async def disconnect(self, license_id: str):
        if not self.confirm_disconnect or self.confirm_disconnect != str(parse_id(license_id) or ""):
            self.error, self.notice = "Confirm the disconnect first.", ""
            return
        self.confirm_disconnect = ""
        await self._act(svc.disconnect, license_id, "Disconnected: the stored METRC key is erased.")

    async def _on_domain_event(self, event) -> None:
        """A sync of one of this page's connections moved on: update its bar; reload at the end."""
        if self._entity_id is None or self._entity_id not in (event.entity_ids or ()):
            return
        conn_id = str(event.payload.get("connection_id", ""))
        row = next((r for r in self.rows if r["connection_id"] == conn_id and conn_id), None)
        if row is None:
            return
        principal = await self._principal()
        if principal.entity_id != self._entity_id or not is_allowed(principal, "integration.manage", self._entity_id):
            return
        done, total = int(event.payload.get("done") or 0), int(event.payload.get("total") or 0)
        if event.payload.get("finished"):
            self.progress = {k: v for k, v in self.progress.items() if k != conn_id}
            await self._reload()
            return
        percent = int(100 * done / total) if total else 0
        resource = str(event.payload.get("resource", ""))[:64]
        self.progress = {
            **self.progress,
            conn_id: {
                "done": str(done),
                "total": str(total),
                "percent": str(percent),
                "label": f"{resource}: {done} of {total} pages/windows",
            },
        }
        if not row["running"]:
            self.rows = [
                {**r, "running": "1", "status": "running", "status_label": "Syncing"}
                if r["connection_id"] == conn_id
                else r
                for r in self.rows
            ]
