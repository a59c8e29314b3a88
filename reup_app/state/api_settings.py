"""/settings/api: a business's API keys and outgoing webhook endpoints (owners and admins).

New secrets (an API key, a webhook signing secret) are never kept in state: the handler gets the
secret from the service and turns it at once into one-time ticket URLs bound to this browser session
(`security.ticket_links.api_secret_urls`, served by api/secret_display.py). Rows hold display text."""

from __future__ import annotations

import reflex as rx

from reup_app.errors import NotAuthenticated, ServiceError
from reup_app.formatting import format_datetime
from reup_app.models.enums import Role
from reup_app.security.ticket_links import api_secret_urls
from reup_app.services.public_api import keys as keys_svc
from reup_app.services.public_api import webhooks as hooks_svc
from reup_app.state.base import AppState, error_message, form_text
from reup_app.state.inputs import parse_id

ROLES = [str(r) for r in Role]
WEBHOOK_KINDS = list(hooks_svc.WEBHOOK_KINDS)


def _when(value) -> str:
    return format_datetime(value) if value else "—"


class ApiSettingsState(AppState):
    keys: list[dict[str, str]] = []
    endpoints: list[dict[str, str]] = []
    deliveries: list[dict[str, str]] = []
    deliveries_for: str = ""
    secret_image_url: str = ""
    secret_text_url: str = ""
    error: str = ""
    notice: str = ""

    async def _reload(self) -> None:
        views = await self._call(keys_svc.list_keys)
        self.keys = [
            {
                "id": str(v.id),
                "name": v.name,
                "role": v.role,
                "prefix": v.prefix + "…",
                "last_used": _when(v.last_used_at),
                "expires": _when(v.expires_at),
                "status": "active" if v.active else ("revoked" if v.revoked_at else "expired"),
            }
            for v in views
        ]
        eps = await self._call(hooks_svc.list_endpoints)
        self.endpoints = [
            {
                "id": str(e.id),
                "url": e.url,
                "kinds": ", ".join(e.event_kinds),
                "enabled": "1" if e.enabled else "",
                "state": "enabled" if e.enabled else (e.disabled_reason or "disabled"),
            }
            for e in eps
        ]

    def _failed(self, err: Exception) -> None:
        self.error, self.notice = error_message(err, "API settings action"), ""

    async def _binding(self) -> str:
        binding = (await self._session())._browser_session
        if not binding:
            raise NotAuthenticated("This browser's session could not be confirmed. Please sign in again.")
        return binding

    async def _reveal(self, secret: str, binding: str) -> None:
        uid = (await self._principal()).user_id
        self.secret_image_url, self.secret_text_url = api_secret_urls(uid, secret, session=binding)

    @rx.event
    async def load(self):
        if (denied := await self._gate("team.manage")) is not None:
            return denied
        self.error = self.notice = self.secret_image_url = self.secret_text_url = ""
        self.deliveries, self.deliveries_for = [], ""
        await self._reload()

    @rx.event
    async def create_key(self, form: dict):
        try:
            binding = await self._binding()
            made = await self._call(
                keys_svc.create_key,
                name=form_text(form, "name", 80),
                role=form_text(form, "role", 16),
                expires_in_days=form_text(form, "expires_in_days", 8) or None,
            )
            await self._reveal(made.secret, binding)
        except ServiceError as err:
            self._failed(err)
            return
        self.error, self.notice = "", f"Key {made.key.name} created. Copy it now: it is shown only once."
        await self._reload()

    @rx.event
    async def revoke_key(self, key_id: str):
        try:
            await self._call(keys_svc.revoke_key, parse_id(key_id))
        except ServiceError as err:
            self._failed(err)
            return
        self.error, self.notice = "", "The key is revoked."
        await self._reload()

    @rx.event
    async def create_endpoint(self, form: dict):
        kinds = [k for k in WEBHOOK_KINDS if form.get(f"kind_{k}")] if isinstance(form, dict) else []
        try:
            binding = await self._binding()
            _view, secret = await self._call(
                hooks_svc.create_endpoint, url=form_text(form, "url", 500), event_kinds=kinds
            )
            await self._reveal(secret, binding)
        except ServiceError as err:
            self._failed(err)
            return
        self.error, self.notice = "", "Endpoint added. Copy its signing secret now: it is shown only once."
        await self._reload()

    @rx.event
    async def toggle_endpoint(self, endpoint_id: str, enable: bool):
        try:
            await self._call(hooks_svc.set_enabled, parse_id(endpoint_id), bool(enable))
        except ServiceError as err:
            self._failed(err)
            return
        await self._reload()

    @rx.event
    async def delete_endpoint(self, endpoint_id: str):
        try:
            await self._call(hooks_svc.delete_endpoint, parse_id(endpoint_id))
        except ServiceError as err:
            self._failed(err)
            return
        self.deliveries, self.deliveries_for = [], ""
        await self._reload()

    @rx.event
    async def show_deliveries(self, endpoint_id: str):
        await self._load_deliveries(endpoint_id)

    async def _load_deliveries(self, endpoint_id: str) -> None:
        try:
            views = await self._call(hooks_svc.list_deliveries, parse_id(endpoint_id))
        except ServiceError as err:
            self._failed(err)
            return
        self.deliveries_for = str(parse_id(endpoint_id) or "")
        self.deliveries = [
            {
                "id": str(d.id),
                "kind": d.kind,
                "status": d.status,
                "attempts": str(d.attempts),
                "code": str(d.last_status_code or "—"),
                "ms": f"{d.last_duration_ms} ms" if d.last_duration_ms is not None else "—",
                "when": _when(d.last_attempt_at or d.created_at),
            }
            for d in views
        ]

    @rx.event
    async def send_test(self, endpoint_id: str):
        try:
            await self._call(hooks_svc.send_test_event, parse_id(endpoint_id))
        except ServiceError as err:
            self._failed(err)
            return
        self.error, self.notice = "", "Test event queued; it shows in the delivery log below."
        await self._load_deliveries(endpoint_id)

    @rx.event
    async def resend(self, delivery_id: str):
        try:
            await self._call(hooks_svc.resend, parse_id(delivery_id))
        except ServiceError as err:
            self._failed(err)
            return
        self.notice = "Queued for sending again."
        if self.deliveries_for:
            await self._load_deliveries(self.deliveries_for)
