"""Platform admin: the jobs error queue (dead outbox messages, failing sync runs, dead webhooks) with Retry."""

from __future__ import annotations

import reflex as rx

from reup_app.formatting import format_datetime
from reup_app.services.integrations import error_queue
from reup_app.state.admin_rows import admin_load, retry_row
from reup_app.state.base import AppState


class AdminJobsState(AppState):
    messages: list[dict[str, str]] = []
    runs: list[dict[str, str]] = []
    unmatched: list[dict[str, str]] = []  # vendor webhooks for orders ReUp does not know
    dead_webhooks: list[dict[str, str]] = []  # vendor webhooks whose processing spent its retries
    error: str = ""
    notice: str = ""

    async def _reload(self) -> None:
        dead = await self._call(error_queue.dead_messages)
        failing = await self._call(error_queue.failing_runs)
        self.messages = [
            {
                "id": str(m.id),
                "kind": m.kind,
                "reference": m.reference,
                "target": m.target,
                "attempts": str(m.attempts),
                "error": m.last_error[:300],
                "when": format_datetime(m.updated_at),
            }
            for m in dead
        ]
        self.runs = [
            {
                "id": str(r.id),
                "connection": f"{r.provider} #{r.connection_id}",
                "resource": r.resource,
                "error": r.error[:300],
                "when": format_datetime(r.started_at),
            }
            for r in failing
        ]
        self.dead_webhooks = [
            {
                "id": str(w.id),
                "event_id": w.event_id,
                "event": f"{w.provider} {w.event_type} ({w.event_id})",
                "attempts": str(w.attempts),
                "error": w.error[:300],
                "when": format_datetime(w.received_at),
            }
            for w in await self._call(error_queue.dead_webhooks)
        ]
        self.unmatched = [
            {
                "event": f"{w.provider} {w.event_type} ({w.event_id})",
                "error": w.error[:300],
                "when": format_datetime(w.received_at),
            }
            for w in await self._call(error_queue.unmatched_webhooks)
        ]

    @rx.event
    async def load(self):
        return await admin_load(self)

    async def _retry(self, fn, raw_id, done: str) -> None:
        await retry_row(self, fn, raw_id, "Unknown item.", done)

    @rx.event
    async def retry_message(self, message_id: str):
        await self._retry(error_queue.retry_message, message_id, "Queued again; the worker sends it within seconds.")

    @rx.event
    async def retry_sync(self, run_id: str):
        await self._retry(error_queue.retry_sync, run_id, "The connection syncs again within seconds.")

    @rx.event
    async def retry_webhook(self, receipt_id: str):
        await self._retry(error_queue.retry_webhook, receipt_id, "Queued again; it is processed within seconds.")
