"""The base state every page state inherits: principal resolution and service calls."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import reflex as rx

from reup_app.db import unit_of_work
from reup_app.security.principal import Principal
from reup_app.services.errors import ServiceError

T = TypeVar("T")
log = logging.getLogger(__name__)


class AppState(rx.State):
    """Holds nothing secret; subclasses get `_principal()` and `_call()`."""

    async def _principal(self) -> Principal:
        """The acting principal, re-validated on the server for every event."""
        from reup_app.state.auth import AuthState

        auth = self if isinstance(self, AuthState) else await self.get_state(AuthState)
        return await auth._current_principal()

    async def _call(self, fn: Callable[..., T], *args: Any, principal: Principal | None = None, **kw: Any) -> T:
        """Run a service function in a unit of work on a worker thread (DB calls block)."""
        p = principal if principal is not None else await self._principal()

        def run() -> T:
            with unit_of_work(p) as session:
                return fn(session, p, *args, **kw)

        return await asyncio.to_thread(run)


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
