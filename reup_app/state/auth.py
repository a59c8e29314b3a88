"""Sign-in state. Tokens live only in underscore (backend-only) vars; the browser sees display
values. Every event re-validates the principal on the server (`AppState._principal`).

Sessions: each tab holds its own access/refresh pair in backend-only vars. After a sign-in the
server issues a one-time grant that the page trades for an HttpOnly cookie (see
reup_app/api/auth_routes.py); a new tab restores its session from that cookie through a one-time
restore code. A heartbeat (`check_session`, every 30 s while signed in) signs a tab out once its
session has ended elsewhere (sign-out, password change, disabled account).
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import quote

import reflex as rx
from reflex.event import EventSpec

from reup_app.db import run_in_unit_of_work
from reup_app.errors import NotAuthenticated, ServiceError
from reup_app.realtime.registry import remember_session
from reup_app.security import tickets
from reup_app.security.permissions import is_allowed
from reup_app.security.principal import ANONYMOUS, Principal, support_view
from reup_app.security.ticket_links import (
    GRANT_PURPOSE,
    RESTORE_PURPOSE,
    SESSION_FLAG_COOKIE,
    challenge_grant,
    mfa_setup_url,
    new_browser_session,
    seal_codes,
    sealed_codes_urls,
)
from reup_app.security.tokens import TokenExpired
from reup_app.services.identity import auth as auth_service
from reup_app.services.identity import browser_sessions as browser_sessions_service
from reup_app.services.identity import sign_in as sign_in_service
from reup_app.services.identity import support_view as support_service
from reup_app.state.base import AppState, error_message, form_text, session_state

log = logging.getLogger(__name__)

MAX_FIELD = 256
HEARTBEAT_MS = 30_000

_AUTH_FETCH = (
    "{method: 'POST', credentials: 'same-origin', headers: {'X-ReUp-Auth': '1', 'Content-Type': 'application/json'}%s}"
)

# Web Locks serialize restores across tabs, so two tabs opening at once never present the same
# cookie token twice (which reuse detection would treat as theft).
# Only when the session cookie's presence flag is there (the session cookie itself is HttpOnly):
# a signed-out page load makes no request, so no 401 in the console.
RESTORE_SCRIPT = (
    "(async () => { if (!document.cookie.split('; ').some(c => c.startsWith('"
    + SESSION_FLAG_COOKIE
    + "='))) return ''; const run = async () => { try { const r = await fetch('/api/auth/restore', "
    + _AUTH_FETCH % ""
    + "); if (!r.ok) return ''; const j = await r.json(); return j.code || ''; } catch (e) { return ''; } };"
    " return navigator.locks ? await navigator.locks.request('reup-auth', run) : await run(); })()"
)
# Reload once no restore holds the lock the restores take: a reload during a restore's request
# could drop its rotated cookie, and the old one presented again reads as reuse (the family ends).
RELOAD_SCRIPT = (
    "navigator.locks ? navigator.locks.request('reup-auth', () => window.location.reload()) : window.location.reload()"
)
LOGOUT_SCRIPT = "fetch('/api/auth/logout', " + _AUTH_FETCH % "" + ").catch(() => null)"


def grant_script(path: str, grant: str) -> str:
    """POST a one-time grant to an /api/auth route; the callback receives the HTTP status."""
    return (
        f"fetch('{path}', "
        + _AUTH_FETCH % f", body: JSON.stringify({{grant: '{grant}'}})"
        + ").then(r => String(r.status)).catch(() => 'failed')"
    )


CODES_NOT_SHOWN = (
    "Two-factor authentication is on, but this browser could not be given your recovery codes. "
    "Make new ones under Settings → Security."
)


def safe_next(value: object, default: str = "") -> str:
    """A same-site path to return to after sign-in (never another origin)."""
    if (
        isinstance(value, str)
        and value.startswith("/")
        and not value.startswith("//")
        and "\\" not in value
        and len(value) <= 512
        and not value.startswith("/login")
    ):
        return value
    return default


def login_redirect(path: str) -> EventSpec:
    nxt = safe_next(path)
    return rx.redirect(f"/login?next={quote(nxt)}" if nxt else "/login")


# Actions navigation links depend on (components/shell.py NAV_LINKS, settings sections).
NAV_ACTIONS = (
    "order.view",
    "dashboard.view",
    "cart.manage",
    "catalog.manage",
    "inventory.manage",
    "pricing.manage",
    "integration.manage",
    "team.view",
    "audit.view",
    "platform.jobs.manage",
)


def nav_actions_for(p: Principal) -> list[str]:
    """The NAV_ACTIONS `p` may perform on its own business (security.permissions decides); a platform
    admin signed in for no business gets only the console's."""
    actions = [a for a in NAV_ACTIONS if p.entity_id is not None or a.startswith("platform.")]
    return [a for a in actions if p.is_authenticated and is_allowed(p, a, p.entity_id)]


@session_state
class AuthState(AppState):
    _access_token: str = ""
    _refresh_token: str = ""
    _challenge: str = ""
    _pending_email: str = ""
    _next: str = ""
    _restore_tried: bool = False
    _go_next: bool = False  # redirect once the session cookie is set (see cookie_set)
    # forced enrolment at sign-in: the hash of this browser's challenge-cookie nonce and the user,
    # until the cookie is set (challenge_set); then the new recovery codes, sealed, until the
    # session cookie is set (cookie_set). Display tickets are issued only in those callbacks.
    _challenge_hash: str = ""
    _enrol_user_id: int = 0
    _codes_sealed: str = ""
    # this tab's browser session: the hash of its session cookie's family id (ticket_links.session_binding);
    # display tickets issued from this tab need a cookie of that family
    _browser_session: str = ""
    # support view ("view as business"): the viewed entity (0: none); see start_support_view
    _support_entity: int = 0
    support_view_of: str = ""  # the viewed business's name, shown in the header banner
    # the NAV_ACTIONS the principal may perform on its own business (security.permissions decides);
    # navigation shows a link only when its action is here. Display only: every page still gates.
    allowed_actions: list[str] = []

    signed_in: bool = False
    display_name: str = ""  # the e-mail address signed in with
    user_name: str = ""  # the person's full name (header)
    business_name: str = ""
    role: str = ""
    # "wholesaler" / "retailer" / "both" for the business acted for ("" signed out or platform admin);
    # display only (navigation): services authorize every action themselves.
    entity_kind: str = ""
    is_platform_admin: bool = False
    # sign-in steps: "password" | "mfa" | "enrol" | "recovery_codes"
    step: str = "password"
    login_error: str = ""
    enrol_image_url: str = ""  # ticket URL of the QR + key picture (never the key itself)
    recovery_image_url: str = ""
    recovery_download_url: str = ""

    @rx.var
    def mfa_step(self) -> bool:
        return self.step == "mfa"

    @rx.var
    def home_path(self) -> str:
        if self.is_platform_admin and not self.entity_kind:
            return "/admin/businesses"
        return "/marketplace"

    def _clear(self) -> None:
        self._access_token = self._refresh_token = self._challenge = self._pending_email = ""
        self._challenge_hash = self._codes_sealed = self._browser_session = ""
        self._enrol_user_id = self._support_entity = 0
        self.support_view_of = ""
        self.allowed_actions = []
        self.signed_in = self.is_platform_admin = False
        self.display_name = self.user_name = self.business_name = self.role = self.entity_kind = ""
        self.step = "password"
        self.enrol_image_url = self.recovery_image_url = self.recovery_download_url = ""

    def _accept(
        self, result: auth_service.LoginResult, *, cookie: bool = True, then_redirect: bool = False
    ) -> EventSpec | None:
        """Keep the tab's tokens; with `cookie`, answer the script that turns a one-time grant into
        the session cookie (and, with `then_redirect`, leave the sign-in page once it is set, so
        navigating away cannot cancel the request)."""
        self._access_token = result.access_token or ""
        self._refresh_token = result.refresh_token or ""
        self._challenge = self._pending_email = ""
        self.step = "password"
        self.signed_in = True
        self.login_error = ""
        self.display_name = result.email or ""
        self.user_name = result.full_name or result.email or ""
        self.entity_kind = result.entity_kind or ""
        self.is_platform_admin = bool(result.principal and result.principal.is_platform_admin)
        current = next((e for e in result.entities if e.entity_id == result.entity_id), None)
        self.business_name = current.name if current else ("ReUp platform" if result.entity_id is None else "")
        self.role = current.role if current else ("platform admin" if result.entity_id is None else "")
        p = result.principal
        self._set_allowed(p)
        self._remember_live(p)
        if not cookie or p is None:
            return None
        family_id, self._browser_session = new_browser_session()
        grant = tickets.issue(
            GRANT_PURPOSE, {"user_id": p.user_id, "entity_id": p.entity_id, "tv": p.token_version, "sid": family_id}
        )
        self._go_next = then_redirect
        return rx.call_script(grant_script("/api/auth/session", grant), callback=AuthState.cookie_set)

    @rx.event
    def cookie_set(self, status: str = ""):
        """Callback of the cookie request made after a sign-in: show recovery codes waiting for the
        cookie (their tickets need it), or leave the sign-in page."""
        if self._codes_sealed:
            sealed, owner, self._codes_sealed, self._enrol_user_id = self._codes_sealed, self._enrol_user_id, "", 0
            if status == "200" and self.signed_in and owner:
                self.recovery_image_url, self.recovery_download_url = sealed_codes_urls(
                    owner, sealed, session=self._browser_session
                )
            else:
                self.login_error = CODES_NOT_SHOWN
            return
        if self._go_next and self.signed_in:
            self._go_next = False
            return self._after_sign_in()

    def _after_sign_in(self) -> EventSpec:
        return rx.redirect(safe_next(self._next, self.home_path))

    def _ip(self) -> str | None:
        # the session part of the router data alone (`self.router` assembles the whole view)
        return self.rx_router_session.client_ip or None

    def _remember_live(self, principal: Principal | None) -> None:
        """Tell the push layer who this browser session now belongs to (None: nobody)."""
        remember_session(self.router.session.client_token or "", principal)

    async def _current_principal(self) -> Principal:
        """The acting principal: the signed-in user's, or in a support view ("view as business",
        platform admins only) its read-only principal for the viewed business."""
        principal = await self._base_principal()
        if self._support_entity and principal.is_platform_admin and principal.entity_id is None:
            return support_view(principal, self._support_entity)
        if self._support_entity:
            self._support_entity, self.support_view_of = 0, ""
        return principal

    def _set_allowed(self, principal: Principal | None) -> None:
        """What navigation shows: the NAV_ACTIONS `principal` may perform on its own business."""
        self.allowed_actions = nav_actions_for(principal if principal is not None else ANONYMOUS)

    async def _end_support(self) -> None:
        """Leave a support view: back to the platform admin's own principal (the row is closed)."""
        base = await self._base_principal()
        self._support_entity, self.support_view_of = 0, ""
        self.entity_kind, self.role, self.business_name = "", "platform admin", "ReUp platform"
        self._set_allowed(base)
        if base.is_platform_admin:
            await run_in_unit_of_work(base, support_service.end_support_view, base)

    @rx.event
    async def end_support_view(self):
        await self._end_support()
        return rx.redirect("/admin/support")

    async def _base_principal(self) -> Principal:
        """Resolve the access token; refresh it silently when it has expired."""
        if not self._access_token:
            return ANONYMOUS
        ip = self._ip()
        try:
            # within a second of the last check of this user and token: no I/O, no thread hop
            principal = auth_service.resolve_principal_cached(self._access_token, client_ip=ip)
            if principal is not None:
                return principal
            return await asyncio.to_thread(auth_service.resolve_principal, None, self._access_token, client_ip=ip)
        except TokenExpired:
            pass
        except NotAuthenticated:
            self._clear()
            return ANONYMOUS
        try:
            result = await run_in_unit_of_work(None, auth_service.refresh, self._refresh_token, client_ip=ip)
        except ServiceError:
            self._clear()
            return ANONYMOUS
        self._access_token = result.access_token or ""
        self._refresh_token = result.refresh_token or ""
        return result.principal or ANONYMOUS

    # -- sign-in page -------------------------------------------------------------------------

    @rx.event
    def load_login(self):
        """/login: remember where to go afterwards; an already signed-in tab goes straight there."""
        self._next = safe_next(self.router.url.query_parameters.get("next"))
        self.login_error = ""
        if self.signed_in:
            return self._after_sign_in()
        if self.step != "password" and not self._challenge:
            self.step = "password"

    @rx.event
    async def login(self, form: dict):
        email, password = form_text(form, "email", MAX_FIELD), form_text(form, "password", MAX_FIELD, strip=False)
        if not email or not password:
            self.login_error = "Enter your email and password."
            return
        ip = self._ip()
        try:
            unlock = self.router.url.query_parameters.get("unlock")  # the e-mailed sign-in link
            result = await run_in_unit_of_work(
                None,
                sign_in_service.login,
                email=email,
                password=password,
                client_ip=ip,
                unlock=unlock if isinstance(unlock, str) else None,
            )
        except Exception as err:  # service errors are shown as they are
            if not isinstance(err, ServiceError):
                log.exception("login failed")
            self.login_error = error_message(err)
            return
        self.login_error = ""
        if result.status == "ok":
            return self._accept(result, then_redirect=True)
        self._challenge = result.challenge or ""
        self._pending_email = email
        if result.status == "mfa_required":
            self.step = "mfa"
            return
        challenge = self._challenge
        try:
            await run_in_unit_of_work(None, sign_in_service.begin_mfa_enrolment_with_challenge, challenge)
        except ServiceError as err:
            self.login_error = error_message(err)
            return
        self.step = "enrol"
        self.enrol_image_url = ""
        self._enrol_user_id = int(result.user_id or 0)
        grant, self._challenge_hash = challenge_grant()
        return rx.call_script(grant_script("/api/auth/challenge", grant), callback=AuthState.challenge_set)

    @rx.event
    def challenge_set(self, status: str = ""):
        """Callback of the challenge-cookie request: the enrolment picture, bound to that cookie."""
        if self.step != "enrol" or not self._challenge or not self._challenge_hash or not self._enrol_user_id:
            return
        if status != "200":
            self.login_error = "This browser could not start the set-up. Start over to try again."
            return
        self.enrol_image_url = mfa_setup_url(self._enrol_user_id, challenge=self._challenge_hash)

    @rx.event
    async def submit_mfa(self, form: dict):
        code = form_text(form, "code", 32)
        if not code or not self._challenge:
            self.login_error = "Enter the code from your authenticator app."
            return
        challenge, ip = self._challenge, self._ip()
        try:
            result = await run_in_unit_of_work(None, sign_in_service.complete_mfa, challenge, code, client_ip=ip)
        except ServiceError as err:
            self.login_error = error_message(err)
            return
        return self._accept(result, then_redirect=True)

    @rx.event
    async def confirm_enrolment(self, form: dict):
        """Forced enrolment at sign-in: the first code turns MFA on and signs in."""
        code = form_text(form, "code", 32)
        if not code or not self._challenge:
            self.login_error = "Enter the 6-digit code your authenticator app shows for ReUp."
            return
        challenge, ip = self._challenge, self._ip()
        try:
            result = await run_in_unit_of_work(
                None, sign_in_service.confirm_mfa_enrolment_with_challenge, challenge, code, client_ip=ip
            )
        except ServiceError as err:
            self.login_error = error_message(err)
            return
        cookie = self._accept(result)
        self._challenge_hash = ""
        self._enrol_user_id = int(result.user_id or 0)
        self._codes_sealed = seal_codes(result.user_id, list(result.recovery_codes))
        self.enrol_image_url = self.recovery_image_url = self.recovery_download_url = ""
        self.step = "recovery_codes"
        return cookie  # cookie_set issues the recovery-code tickets once the session cookie is set

    @rx.event
    def finish_sign_in(self):
        """After the recovery codes were shown."""
        self.step = "password"
        self.recovery_image_url = self.recovery_download_url = self.login_error = ""
        return self._after_sign_in() if self.signed_in else rx.redirect("/login")

    @rx.event
    def restart_sign_in(self):
        self._clear()
        self.login_error = ""

    # -- session lifetime ---------------------------------------------------------------------

    @rx.event
    async def logout(self):
        """Sign out everywhere: every tab of this user loses access within the heartbeat period."""
        principal = await self._base_principal()
        raw, access = self._refresh_token, self._access_token
        self._clear()
        self._remember_live(None)  # this tab is a visitor's now: public pushes only
        if principal.is_authenticated:
            try:
                await run_in_unit_of_work(
                    principal, auth_service.logout, principal, raw or None, everywhere=True, access_token=access or None
                )
            except ServiceError:
                log.info("logout of an already-ended session")
        return [rx.call_script(LOGOUT_SCRIPT), rx.redirect("/login")]

    @rx.event
    async def check_session(self, _tick: str = ""):
        """Heartbeat and page mount: an ended session signs out; a fresh tab tries the cookie once."""
        if self.signed_in:
            if not (await self._current_principal()).is_authenticated:
                self._clear()
                self._remember_live(None)
                return [rx.call_script(LOGOUT_SCRIPT), login_redirect(self.router.url.path)]
            return
        if not self._restore_tried:
            self._restore_tried = True
            return rx.call_script(RESTORE_SCRIPT, callback=AuthState.finish_restore)

    async def _restore(self, code: object) -> bool:
        payload = tickets.take(RESTORE_PURPOSE, code)
        if payload is None:
            return False
        ip = self._ip()
        try:
            result = await run_in_unit_of_work(
                None,
                browser_sessions_service.issue_tab_session,
                user_id=payload["user_id"],
                entity_id=payload["entity_id"],
                token_version=payload["tv"],
                client_ip=ip,
            )
        except ServiceError:
            return False
        self._accept(result, cookie=False)  # the cookie exists and was just rotated
        sid = payload.get("sid")
        self._browser_session = sid if isinstance(sid, str) else ""
        return True

    @rx.event
    async def finish_restore(self, code: str = ""):
        """Callback of RESTORE_SCRIPT on a public page: signed in if the cookie holds, else nothing."""
        if not self.signed_in:
            await self._restore(code)

    @rx.event
    async def finish_restore_after_loss(self, code: str = ""):
        """Callback of RESTORE_SCRIPT after this tab's server state was lost (state/lost_state.py):
        signed in again from the cookie if it holds, then the page reloads (its on_load decides)."""
        if not self.signed_in:
            await self._restore(code)
        return rx.call_script(RELOAD_SCRIPT)

    def _restore_required(self) -> EventSpec:
        """What a protected page returns for a signed-out tab (`AppState._gate`): try the cookie."""
        return rx.call_script(RESTORE_SCRIPT, callback=AuthState.finish_restore_required)

    @rx.event
    async def finish_restore_required(self, code: str = ""):
        """Callback of RESTORE_SCRIPT on a protected page: reload it signed in, or go to sign-in."""
        if self.signed_in or await self._restore(code):
            return rx.call_script(RELOAD_SCRIPT)
        return login_redirect(self.router.url.path)
