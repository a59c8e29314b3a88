"""/settings: the signed-in user's profile, password and two-factor authentication."""

from __future__ import annotations

import reflex as rx

from reup_app.errors import NotAuthenticated, ServiceError
from reup_app.security.ticket_links import mfa_setup_url, recovery_codes_urls
from reup_app.services.identity import mfa_settings as mfa_settings_service
from reup_app.services.identity import password_reset as password_reset_service
from reup_app.services.identity import profile as profile_service
from reup_app.state.auth import AuthState
from reup_app.state.base import AppState, error_message, form_text


class SettingsState(AppState):
    """One state for the three personal settings pages (they share the profile summary)."""

    full_name: str = ""
    email: str = ""
    phone: str = ""
    mfa_enabled: bool = False
    mfa_required: bool = False
    recovery_codes_remaining: int = 0
    error: str = ""
    notice: str = ""
    # two-factor set-up in progress: "", "enrol" (picture shown) or "codes" (recovery codes shown)
    mfa_step: str = ""
    enrol_image_url: str = ""
    recovery_image_url: str = ""
    recovery_download_url: str = ""

    def _show(self, p: profile_service.Profile) -> None:
        self.full_name, self.email, self.phone = p.full_name, p.email, p.phone
        self.mfa_enabled, self.mfa_required = p.mfa_enabled, p.mfa_required
        self.recovery_codes_remaining = p.recovery_codes_remaining

    def _done(self, notice: str) -> None:
        self.error, self.notice = "", notice

    def _failed(self, err: Exception) -> None:
        self.error, self.notice = error_message(err), ""

    @rx.event
    async def load(self):
        if (denied := await self._gate()) is not None:
            return denied
        self.error = self.notice = ""
        self.mfa_step = self.enrol_image_url = self.recovery_image_url = self.recovery_download_url = ""
        self._show(await self._call(profile_service.get_profile))

    @rx.event
    async def save_profile(self, form: dict):
        try:
            p = await self._call(
                profile_service.update_profile,
                full_name=form_text(form, "full_name", 255),
                phone=form_text(form, "phone", 32),
            )
        except ServiceError as err:
            self._failed(err)
            return
        self._show(p)
        self._done("Your profile is saved.")

    @rx.event
    async def change_password(self, form: dict):
        current = form_text(form, "current_password", 256, strip=False)
        new, again = (
            form_text(form, "new_password", 256, strip=False),
            form_text(form, "new_password_again", 256, strip=False),
        )
        if not current or not new:
            self.error, self.notice = "Enter your current password and the new one.", ""
            return
        if new != again:
            self.error, self.notice = "The two new passwords do not match.", ""
            return
        auth = await self.get_state(AuthState)
        ip = self.router.session.client_ip or None
        try:
            result = await self._call(password_reset_service.change_password, current, new, client_ip=ip)
        except ServiceError as err:
            self._failed(err)
            return
        self._done("Your password is changed. Your other sessions were signed out.")
        return auth._accept(result)  # this tab's new tokens, and a new session cookie

    async def _browser_session(self) -> str:
        """This tab's browser-session binding (display tickets need a cookie of that session);
        NotAuthenticated before any secret is made if the tab does not know its session."""
        binding = (await self._session())._browser_session
        if not binding:
            raise NotAuthenticated("This browser's session could not be confirmed. Please sign in again.")
        return binding

    @rx.event
    async def start_mfa(self):
        try:
            binding = await self._browser_session()
            await self._call(mfa_settings_service.begin_mfa_enrolment)
        except ServiceError as err:
            self._failed(err)
            return
        self.enrol_image_url = mfa_setup_url((await self._principal()).user_id, session=binding)
        self.mfa_step = "enrol"
        self.error = self.notice = ""

    @rx.event
    async def confirm_mfa(self, form: dict):
        code = form_text(form, "code", 32)
        if not code:
            self.error = "Enter the 6-digit code your authenticator app shows for ReUp."
            return
        try:
            binding = await self._browser_session()
            codes = await self._call(mfa_settings_service.confirm_mfa_enrolment, code)
        except ServiceError as err:
            self._failed(err)
            return
        await self._reveal(codes, binding)
        self._show(await self._call(profile_service.get_profile))
        self._done("Two-factor authentication is on.")

    async def _reveal(self, codes: list[str], binding: str) -> None:
        uid = (await self._principal()).user_id
        self.recovery_image_url, self.recovery_download_url = recovery_codes_urls(uid, codes, session=binding)
        self.enrol_image_url = ""
        self.mfa_step = "codes"

    @rx.event
    async def regenerate_codes(self, form: dict):
        password = form_text(form, "password", 256, strip=False)
        if not password:
            self.error = "Enter your password to make new recovery codes."
            return
        try:
            binding = await self._browser_session()
            codes = await self._call(mfa_settings_service.regenerate_recovery_codes, password=password)
        except ServiceError as err:
            self._failed(err)
            return
        await self._reveal(codes, binding)
        self._show(await self._call(profile_service.get_profile))
        self._done("New recovery codes are ready; the old ones no longer work.")

    @rx.event
    async def disable_mfa(self, form: dict):
        password = form_text(form, "password", 256, strip=False)
        if not password:
            self.error = "Enter your password to turn two-factor authentication off."
            return
        try:
            await self._call(mfa_settings_service.disable_mfa, password=password)
        except ServiceError as err:
            self._failed(err)
            return
        self._show(await self._call(profile_service.get_profile))
        self._done("Two-factor authentication is off.")

    @rx.event
    def close_codes(self):
        self.mfa_step = self.recovery_image_url = self.recovery_download_url = ""
