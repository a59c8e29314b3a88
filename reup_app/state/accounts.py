"""Anonymous account flows: business sign-up, forgotten password, password reset, invitations."""

from __future__ import annotations

import reflex as rx

from reup_app.db import run_in_unit_of_work
from reup_app.errors import ServiceError
from reup_app.services.documents import business_documents as docs_service
from reup_app.services.identity import password_reset as password_reset_service
from reup_app.services.identity import signup as signup_service
from reup_app.services.identity import signup_checks
from reup_app.services.identity import team as team_service
from reup_app.services.identity.signup_checks import LICENSE_TYPE_CHOICES, STATE_CHOICES  # noqa: F401  (the page's choices)
from reup_app.state.base import AppState, error_message, form_text
from reup_app.state.documents import SignupDocumentsState
from reup_app.state.route_args import route_arg

MAX_LICENSES_ON_FORM = 3


class SignupState(AppState):
    error: str = ""
    errors: dict[str, str] = {}  # field -> message, every problem of the last submit at once
    submitted_business: str = ""

    @rx.event
    async def submit(self, form: dict):
        licenses = []
        for i in range(1, MAX_LICENSES_ON_FORM + 1):
            number = form_text(form, f"license_number_{i}", 64)
            if not number and i > 1:
                continue
            licenses.append(
                {
                    "number": number,
                    "state": form_text(form, f"license_state_{i}", 2),
                    "license_type": form_text(form, f"license_type_{i}", 64),
                    "expires_on": form_text(form, f"license_expires_{i}", 10) or None,
                }
            )
        values = {
            "business_name": form_text(form, "business_name", 255),
            "kind": form_text(form, "kind", 16),
            "email": form_text(form, "email", 255),
            "full_name": form_text(form, "full_name", 255),
            "password": form_text(form, "password", 256, strip=False),
        }
        checked = {**values, "password_again": form_text(form, "password_again", 256, strip=False)}
        self.errors = await run_in_unit_of_work(None, signup_checks.signup_field_errors, checked, licenses)
        if self.errors:
            n = len(self.errors)
            self.error = f"Please correct the {n} field{'s' if n > 1 else ''} marked below."
            return
        ip = self.router.session.client_ip or None
        try:
            result = await run_in_unit_of_work(
                None, signup_service.signup_business, licenses=licenses, client_ip=ip, **values
            )
        except ServiceError as err:
            self.error = error_message(err)
            return
        self.error = ""
        self.submitted_business = values["business_name"]
        documents = await self.get_state(SignupDocumentsState)  # the upload step that follows
        await documents._begin(docs_service.signup_grant(result.entity_id, result.user_id))

    @rx.event
    async def start_over(self):
        self.error = self.submitted_business = ""
        self.errors = {}
        documents = await self.get_state(SignupDocumentsState)
        documents._forget()


class PasswordResetState(AppState):
    error: str = ""
    notice: str = ""
    done: bool = False
    invalid: str = ""  # the reset link is bad, expired or used: said before anything is typed

    @rx.event
    def load(self):
        self.error = self.notice = self.invalid = ""
        self.done = False

    @rx.event
    async def load_reset(self):
        """/reset-password/<code>: check the link first, as the invite page does."""
        self.error = self.notice = self.invalid = ""
        self.done = False
        code = route_arg(self.router.url.path, "reset-password")
        try:
            await run_in_unit_of_work(None, password_reset_service.check_reset_code, code)
        except ServiceError as err:
            self.invalid = error_message(err)

    @rx.event
    async def request_reset(self, form: dict):
        email = form_text(form, "email", 255)
        if not email:
            self.error = "Enter the e-mail address you sign in with."
            return
        ip = self.router.session.client_ip or None
        try:
            await run_in_unit_of_work(None, password_reset_service.request_password_reset, email, client_ip=ip)
        except ServiceError as err:
            self.error = error_message(err)
            return
        self.error = ""
        # The same answer whether or not the address has an account.
        self.notice = "If that address has a ReUp account, we have e-mailed it a link to choose a new password."

    @rx.event
    async def set_new_password(self, form: dict):
        code = route_arg(self.router.url.path, "reset-password")
        new, again = (
            form_text(form, "new_password", 256, strip=False),
            form_text(form, "new_password_again", 256, strip=False),
        )
        if not new or new != again:
            self.error = "Enter the new password twice, the same both times."
            return
        try:
            await run_in_unit_of_work(None, password_reset_service.reset_password, code, new)
        except ServiceError as err:
            self.error = error_message(err)
            return
        self.error = ""
        self.done = True


class InviteState(AppState):
    business: str = ""
    role: str = ""
    existing_user: bool = False
    invalid: str = ""
    error: str = ""
    joined: bool = False

    def _code(self) -> str:
        return route_arg(self.router.url.path, "invite")

    @rx.event
    async def load(self):
        self.error = self.invalid = ""
        self.joined = False
        code = self._code()
        try:
            info = await run_in_unit_of_work(None, team_service.describe_invite, code)
        except ServiceError as err:
            self.invalid = error_message(err)
            return
        self.business, self.role, self.existing_user = info.entity_name, info.role, bool(info.existing_user)

    @rx.event
    async def accept(self, form: dict):
        code, ip = self._code(), self.router.session.client_ip or None
        name, password = form_text(form, "full_name", 255), form_text(form, "password", 256, strip=False)
        if not password:
            self.error = "Enter a password."
            return
        try:
            await run_in_unit_of_work(None, team_service.accept_invite, code, name or None, password, client_ip=ip)
        except ServiceError as err:
            self.error = error_message(err)
            return
        self.error = ""
        self.joined = True
