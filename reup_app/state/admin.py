"""Platform admin: the business approval queue."""

from __future__ import annotations

from datetime import datetime

import reflex as rx

from reup_app.errors import ServiceError
from reup_app.formatting import format_datetime
from reup_app.services.documents import business_documents, license_review
from reup_app.services.identity import admin_users
from reup_app.services.identity import admin_users as admin_users_service
from reup_app.services.identity import signup as signup_service
from reup_app.services.notifications import email_admin
from reup_app.state.admin_rows import admin_load, retry_row
from reup_app.state.attempt import attempt
from reup_app.state.base import AppState, error_message, form_text
from reup_app.state.documents import document_dicts, license_dicts
from reup_app.state.inputs import parse_id

STATUSES = ("pending", "approved", "suspended", "rejected")


class AdminBusinessesState(AppState):
    status: str = "pending"
    businesses: list[dict[str, str]] = []
    # each business's licences and documents, flat (entity_id / license_id name the parent)
    review_licenses: list[dict[str, str]] = []
    review_documents: list[dict[str, str]] = []
    error: str = ""
    notice: str = ""

    async def _reload(self) -> None:
        rows = await self._call(signup_service.list_businesses, status=self.status)
        details = await self._call(license_review.review_details, [b.entity_id for b in rows])
        self.review_licenses = [
            {**lic, "entity_id": str(eid), "reason": item.review_reason or ""}
            for eid, review in details.items()
            for item in review.licenses
            for lic in license_dicts([item.license])
        ]
        self.review_documents = [
            {**doc, "entity_id": str(eid)}
            for eid, review in details.items()
            for doc in document_dicts(
                [d for item in review.licenses for d in item.documents] + list(review.other_documents)
            )
        ]
        self.businesses = [
            {
                "id": str(b.entity_id),
                "name": b.name,
                "kind": b.kind,
                "status": b.status,
                "owner": f"{b.owner_name} <{b.owner_email}>",
                "licenses": "; ".join(b.licenses),
                "created": format_datetime(b.created_at) if isinstance(b.created_at, datetime) else "",
                "reason": b.rejection_reason or "",
            }
            for b in rows
        ]

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
        ident = parse_id(entity_id)
        if ident is None:
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
        await self._act(
            signup_service.reject_entity,
            form_text(form, "entity_id", 20),
            form_text(form, "reason", 500),
            done="was rejected; the owner was e-mailed the reason",
        )

    async def _review(self, license_id, decision: str, reason: str) -> None:
        ident = parse_id(license_id)
        if ident is None:
            self.error = "Unknown licence."
            return
        lic, message = await attempt(self, license_review.review_license, ident, decision, reason)
        if message:
            self.error, self.notice = message, ""
            return
        done = "approved" if decision == "approve" else "rejected; the owner was e-mailed the reason"
        self.error, self.notice = "", f"Licence {lic.state} {lic.number} {done}."
        await self._reload()

    @rx.event
    async def approve_license(self, license_id: str):
        await self._review(license_id, "approve", "")

    @rx.event
    async def reject_license(self, form: dict):
        await self._review(form_text(form, "license_id", 20), "reject", form_text(form, "reason", 255))

    @rx.event
    async def download_document(self, document_id: str):
        ident = parse_id(document_id)
        if ident is None:
            return
        ticket, message = await attempt(self, business_documents.create_download_ticket, ident)
        if message:
            self.error = message
            return
        return rx.download(url=f"/api/documents/{ident}?ticket={ticket}")

    @rx.event
    async def suspend(self, form: dict):
        await self._act(
            signup_service.suspend_entity,
            form_text(form, "entity_id", 20),
            form_text(form, "reason", 500) or None,
            done="is suspended",
        )


class AdminUsersState(AppState):
    """/admin/users: find an account; disable it (every tab loses access within about 45 s),
    re-enable it, or reset its two-factor authentication."""

    query: str = ""
    users: list[dict[str, str]] = []
    error: str = ""
    notice: str = ""

    @rx.event
    async def load(self):
        if (denied := await self._gate(platform_admin=True)) is not None:
            return denied
        self.error = self.notice = ""
        self.query = ""
        await self._search()  # an empty query: the most recent accounts

    async def _search(self) -> None:
        try:
            found = await self._call(admin_users.search_users, self.query)
        except ServiceError as err:
            self.error, self.users = error_message(err), []
            return
        self.error = ""
        self.users = [
            {
                "id": str(u.user_id),
                "email": u.email,
                "name": u.full_name,
                "status": "active" if u.is_active else "disabled",
                "mfa": "on" if u.mfa_enabled else "off",
                "businesses": "; ".join(u.businesses) or ("platform admin" if u.is_platform_admin else "—"),
            }
            for u in found
        ]

    @rx.event
    async def search(self, form: dict):
        self.query, self.notice = form_text(form, "query", 255), ""
        await self._search()

    async def _act(self, fn, user_id, done: str) -> None:
        ident = parse_id(user_id)
        if ident is None:
            self.error = "Unknown user."
            return
        try:
            await self._call(fn, ident)
        except ServiceError as err:
            self.error, self.notice = error_message(err), ""
            return
        await self._search()
        self.notice = done

    @rx.event
    async def disable(self, user_id: str):
        await self._act(
            admin_users_service.disable_user, user_id, "Account disabled; its sessions end within a minute."
        )

    @rx.event
    async def enable(self, user_id: str):
        await self._act(admin_users_service.enable_user, user_id, "Account re-enabled.")

    @rx.event
    async def reset_mfa(self, user_id: str):
        await self._act(
            admin_users_service.admin_reset_mfa,
            user_id,
            "Two-factor authentication reset; the user sets it up again at next sign-in.",
        )


class AdminEmailsState(AppState):
    """/admin/emails: e-mails the sender gave up on (retry budget spent or refused), with retry."""

    failed: list[dict[str, str]] = []
    error: str = ""
    notice: str = ""

    async def _reload(self) -> None:
        rows = await self._call(email_admin.list_failed_emails)
        self.failed = [
            {
                "id": str(r.id),
                "to": r.to_address,
                "subject": r.subject,
                "attempts": str(r.attempts),
                "error": r.last_error[:300],
                "created": format_datetime(r.created_at),
            }
            for r in rows
        ]

    @rx.event
    async def load(self):
        return await admin_load(self)

    @rx.event
    async def retry(self, email_id: str):
        await retry_row(
            self,
            email_admin.retry_email,
            email_id,
            "Unknown e-mail.",
            lambda row: f"The e-mail to {row.to_address} will be sent again within a minute.",
        )
