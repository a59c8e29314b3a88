"""Platform admin: the business approval queue."""

from __future__ import annotations

import reflex as rx

from reup_app.formatting import format_datetime
from reup_app.services import signup as signup_service
from reup_app.services.errors import ServiceError
from reup_app.state.base import AppState, error_message, form_text

STATUSES = ("pending", "approved", "suspended", "rejected")


class AdminBusinessesState(AppState):
    status: str = "pending"
    businesses: list[dict[str, str]] = []
    error: str = ""
    notice: str = ""

    async def _reload(self) -> None:
        rows = await self._call(signup_service.list_businesses, status=self.status)
        self.businesses = [{
            "id": str(b.entity_id), "name": b.name, "kind": b.kind, "status": b.status,
            "owner": f"{b.owner_name} <{b.owner_email}>", "licences": "; ".join(b.licences),
            "created": format_datetime(b.created_at), "reason": b.rejection_reason or "",
        } for b in rows]

    @rx.event
    async def load(self):
        if (denied := await self._gate(platform_admin=True)) is not None:
            return denied
        self.error = self.notice = ""
        await self._reload()

    @rx.event
    async def show(self, status: str):
        if status not in STATUSES:
            self.error = "Unknown status."
            return
        self.status = status
        await self._reload()

    async def _act(self, fn, entity_id, *args, done: str) -> None:
        try:
            ident = int(entity_id)
        except (TypeError, ValueError):
            self.error = "Unknown business."
            return
        try:
            entity = await self._call(fn, ident, *args)
        except ServiceError as err:
            self.error, self.notice = error_message(err), ""
            return
        self.error, self.notice = "", f"{entity.name} {done}."
        await self._reload()

    @rx.event
    async def approve(self, entity_id: str):
        await self._act(signup_service.approve_entity, entity_id, done="is approved; the owner was e-mailed")

    @rx.event
    async def reject(self, form: dict):
        await self._act(signup_service.reject_entity, form_text(form, "entity_id", 20), form_text(form, "reason", 500),
                        done="was rejected; the owner was e-mailed the reason")

    @rx.event
    async def suspend(self, form: dict):
        await self._act(signup_service.suspend_entity, form_text(form, "entity_id", 20),
                        form_text(form, "reason", 500) or None, done="is suspended")
