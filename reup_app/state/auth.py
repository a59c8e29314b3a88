"""Sign-in state. Tokens live only in underscore (backend-only) vars; the browser sees display
values. Every event re-validates the principal on the server (`AppState._principal`)."""

from __future__ import annotations

import asyncio
import logging

import reflex as rx

from reup_app.db import unit_of_work
from reup_app.security.principal import ANONYMOUS, Principal
from reup_app.security.tokens import TokenExpired
from reup_app.services import auth as auth_service
from reup_app.services.errors import NotAuthenticated, ServiceError
from reup_app.state.base import AppState, error_message

log = logging.getLogger(__name__)

MAX_FIELD = 256


class AuthState(AppState):
    _access_token: str = ""
    _refresh_token: str = ""
    _challenge: str = ""
    _pending_email: str = ""

    signed_in: bool = False
    display_name: str = ""
    business_name: str = ""
    role: str = ""
    mfa_step: bool = False
    login_error: str = ""

    def _clear(self) -> None:
        self._access_token = self._refresh_token = self._challenge = ""
        self.signed_in = self.mfa_step = False
        self.display_name = self.business_name = self.role = ""

    def _accept(self, result: auth_service.LoginResult, email: str) -> None:
        self._access_token = result.access_token or ""
        self._refresh_token = result.refresh_token or ""
        self._challenge = ""
        self.mfa_step = False
        self.signed_in = True
        self.login_error = ""
        self.display_name = email
        current = next((e for e in result.entities if e.entity_id == result.entity_id), None)
        self.business_name = current.name if current else ("ReUp platform" if result.entity_id is None else "")
        self.role = current.role if current else ("platform admin" if result.entity_id is None else "")

    def _remember_live(self, principal: Principal | None) -> None:
        """Tell the push layer who this browser session now belongs to (None: nobody)."""
        from reup_app.state.notifications import remember_session

        remember_session(self.router.session.client_token or "", principal)

    async def _current_principal(self) -> Principal:
        """Resolve the access token; refresh it silently when it has expired."""
        if not self._access_token:
            return ANONYMOUS
        ip = self.router.session.client_ip or None
        try:
            return await asyncio.to_thread(auth_service.resolve_principal, None, self._access_token, client_ip=ip)
        except TokenExpired:
            pass
        except NotAuthenticated:
            self._clear()
            return ANONYMOUS
        raw = self._refresh_token

        def do_refresh():
            with unit_of_work(None) as s:
                return auth_service.refresh(s, raw, client_ip=ip)

        try:
            result = await asyncio.to_thread(do_refresh)
        except ServiceError:
            self._clear()
            return ANONYMOUS
        self._access_token = result.access_token or ""
        self._refresh_token = result.refresh_token or ""
        return result.principal or ANONYMOUS

    @rx.event
    async def login(self, form: dict):
        email = form.get("email") if isinstance(form, dict) else None
        password = form.get("password") if isinstance(form, dict) else None
        if not isinstance(email, str) or not isinstance(password, str) or not email.strip() or not password:
            self.login_error = "Enter your email and password."
            return
        email, ip = email.strip()[:MAX_FIELD], self.router.session.client_ip or None

        def do_login():
            with unit_of_work(None) as s:
                return auth_service.login(s, email=email, password=password[:MAX_FIELD], client_ip=ip)

        try:
            result = await asyncio.to_thread(do_login)
        except Exception as err:  # service errors are shown as they are
            if not isinstance(err, ServiceError):
                log.exception("login failed")
            self.login_error = error_message(err)
            return
        if result.status == "ok":
            self._accept(result, email)
            self._remember_live(result.principal)
            return rx.redirect("/marketplace")
        if result.status == "mfa_required":
            self._challenge = result.challenge or ""
            self._pending_email = email
            self.mfa_step = True
            self.login_error = ""
            return
        self.login_error = ("Your account must enrol an authenticator app before signing in; "
                            "enrolment in the browser is not available yet.")

    @rx.event
    async def submit_mfa(self, form: dict):
        code = form.get("code") if isinstance(form, dict) else None
        if not isinstance(code, str) or not code.strip() or not self._challenge:
            self.login_error = "Enter the code from your authenticator app."
            return
        challenge, ip = self._challenge, self.router.session.client_ip or None

        def do_mfa():
            with unit_of_work(None) as s:
                return auth_service.complete_mfa(s, challenge, code.strip()[:32], client_ip=ip)

        try:
            result = await asyncio.to_thread(do_mfa)
        except ServiceError as err:
            self.login_error = error_message(err)
            return
        self._accept(result, self._pending_email)
        self._remember_live(result.principal)
        return rx.redirect("/marketplace")

    @rx.event
    async def logout(self):
        principal = await self._current_principal()
        raw, access = self._refresh_token, self._access_token
        self._clear()
        self._remember_live(None)
        if principal.is_authenticated:

            def do_logout():
                with unit_of_work(principal) as s:
                    auth_service.logout(s, principal, raw or None, access_token=access or None)

            try:
                await asyncio.to_thread(do_logout)
            except ServiceError:
                log.info("logout of an already-ended session")
        return rx.redirect("/login")

    @rx.event
    async def check_session(self):
        """Periodic/page-load check: an ended session (logout elsewhere, disabled user) signs out."""
        if self.signed_in and not (await self._current_principal()).is_authenticated:
            self._clear()
            self._remember_live(None)
