"""The base state every page state inherits: principal resolution and service calls."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import reflex as rx

from reup_app.db import run_in_unit_of_work, run_read_only
from reup_app.errors import ServiceError
from reup_app.security.events import bind_principal, current_request_id
from reup_app.security.permissions import is_allowed
from reup_app.security.principal import Principal
from reup_app.state.arg_guard import guard_class_handlers, install_payload_patch

T = TypeVar("T")
S = TypeVar("S", bound="AppState")
log = logging.getLogger(__name__)
install_payload_patch()  # malformed form data reaches the argument guard instead of crashing Reflex

# The state class that holds the session's tokens: AuthState, a subclass of AppState defined in
# reup_app/state/auth.py, which names itself here with `@session_state` (a base never imports its
# subclass). One per app.
_session_state_cls: list[type[AppState]] = []


def session_state(cls: type[S]) -> type[S]:
    """Class decorator: `cls` resolves the principal of every page state (see `AppState._principal`)."""
    if _session_state_cls and _session_state_cls[0] is not cls:
        raise RuntimeError(f"{_session_state_cls[0].__name__} is already the session state")
    _session_state_cls[:] = [cls]
    return cls


class AppState(rx.State):
    """Holds nothing secret; subclasses get `_principal()` and `_call()`, and every public handler
    they define has its arguments type-checked (`reup_app.state.arg_guard`)."""

    _tab_hydrated: bool = False  # set at this tab's hydrate; False on a non-hydrate event: state lost (lost_state.py)

    def __init_subclass__(cls, **kwargs):
        guard_class_handlers(cls)
        super().__init_subclass__(**kwargs)

    async def _session(self) -> Any:
        """This session's instance of the `@session_state` class (AuthState)."""
        if not _session_state_cls:
            raise RuntimeError("no @session_state class defined (import reup_app.state.auth)")
        cls = _session_state_cls[0]
        return self if isinstance(self, cls) else await self.get_state(cls)

    async def _principal(self) -> Principal:
        """The acting principal, re-validated on the server for every event."""
        p = await (await self._session())._current_principal()
        bind_principal(p)  # who, for which business, from where: on this event's security log lines
        return p

    async def _call(self, fn: Callable[..., T], *args: Any, principal: Principal | None = None, **kw: Any) -> T:
        """Run a service function in a unit of work on a worker thread (DB calls block)."""
        p = principal if principal is not None else await self._principal()
        return await run_in_unit_of_work(p, fn, p, *args, **kw)

    async def _read(self, fn: Callable[..., T], *args: Any, principal: Principal | None = None, **kw: Any) -> T:
        """Like `_call` for a service function that only reads (catalog, product page, dashboard,
        order list): a read-only unit of work, served by a read replica when one is usable."""
        p = principal if principal is not None else await self._principal()
        return await run_read_only(p, fn, p, *args, **kw)

    async def _gate(self, action: str | None = None, *, kind: str | None = None, platform_admin: bool = False) -> Any:
        """The one page guard (call first in a protected page's on_load; return what it returns
        when not None). Signed out: try to restore the session from the cookie, else go to sign-in.
        Signed in without the right: the "not allowed" page. `action` is checked against the
        principal's own entity; `kind` limits the page to retailers or wholesalers."""
        from reup_app.services.identity.profile import business_kind

        p = await self._principal()
        if not p.is_authenticated:
            return (await self._session())._restore_required()
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
    # the event's request id: in every log line of this event and in the message, so support finds them
    error_id = current_request_id() or uuid.uuid4().hex[:16]
    if failed:
        log.exception("%s failed [error_id=%s]", failed, error_id)
    else:
        log.warning("unexpected %s [error_id=%s]", type(err).__name__, error_id)
    return f"Something went wrong on our side. Please try again. (Error id {error_id})"
