"""The base state every page state inherits: principal resolution and service calls."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import reflex as rx

from reup_app.db import run_in_unit_of_work
from reup_app.errors import ServiceError
from reup_app.security.permissions import is_allowed
from reup_app.security.principal import Principal
from reup_app.state.arg_guard import guard_class_handlers

T = TypeVar("T")
log = logging.getLogger(__name__)


class AppState(rx.State):
    """Holds nothing secret; subclasses get `_principal()` and `_call()`, and every public handler
    they define has its arguments type-checked (`reup_app.state.arg_guard`)."""

    def __init_subclass__(cls, **kwargs):
        guard_class_handlers(cls)
        super().__init_subclass__(**kwargs)

    async def _principal(self) -> Principal:
        """The acting principal, re-validated on the server for every event."""
        from reup_app.state.auth import AuthState

        auth = self if isinstance(self, AuthState) else await self.get_state(AuthState)
        return await auth._current_principal()

    async def _call(self, fn: Callable[..., T], *args: Any, principal: Principal | None = None, **kw: Any) -> T:
        """Run a service function in a unit of work on a worker thread (DB calls block)."""
        p = principal if principal is not None else await self._principal()
        return await run_in_unit_of_work(p, fn, p, *args, **kw)

    async def _gate(self, action: str | None = None, *, kind: str | None = None, platform_admin: bool = False) -> Any:
        """The one page guard (call first in a protected page's on_load; return what it returns
        when not None). Signed out: try to restore the session from the cookie, else go to sign-in.
        Signed in without the right: the "not allowed" page. `action` is checked against the
        principal's own entity; `kind` limits the page to retailers or wholesalers."""
        from reup_app.services.identity.profile import business_kind
        from reup_app.state.auth import RESTORE_SCRIPT, AuthState  # imported here: auth imports this module

        p = await self._principal()
        if not p.is_authenticated:
            return rx.call_script(RESTORE_SCRIPT, callback=AuthState.finish_restore_required)
        if platform_admin and not p.is_platform_admin:
            return rx.redirect("/not-allowed")
        if action is not None and not is_allowed(p, action, p.entity_id):
            return rx.redirect("/not-allowed")
        if kind is not None:
            if await self._call(business_kind, principal=p) not in (kind, "both"):
                return rx.redirect("/not-allowed")
        return None


def form_text(form: Any, name: str, max_len: int, *, strip: bool = True) -> str:
    """A text field of a submitted form ("" when missing or not text), trimmed and capped."""
    value = form.get(name) if isinstance(form, dict) else None
    if not isinstance(value, str):
        return ""
    value = value.strip() if strip else value
    return value[:max_len]


def error_message(err: Exception, failed: str | None = None) -> str:
    """The text shown to a user for a failed action: service errors verbatim, others generic.

    With `failed` (what was being done, e.g. "checkout"), an error that is not a service error
    (a bug, an outage) is also logged with its traceback; call it inside the `except` block.
    """
    if isinstance(err, ServiceError):
        return str(err)
    if failed:
        log.exception("%s failed", failed)
    return "Something went wrong on our side. Please try again."
