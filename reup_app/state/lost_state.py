"""A tab whose server-side state is gone (Redis restarted empty, or the state expired) while its
socket stayed open.

Reflex then builds a fresh state for the tab's next event and runs it: signed out, so the user
would read "Please sign in to continue." for a click on a page that still shows them signed in.
Instead this middleware notices the missing state (every tab's state is marked at its hydrate,
`hydrate_and_load`, which the browser sends first on every socket connect and reconnect), does
not run the event, and has the browser restore its session from the cookie and reload the page:
the user sees the page come back as it was, signed in, and clicks again. Nothing of the dropped
click was done.
"""

from __future__ import annotations

import functools
import logging

import reflex as rx
from reflex.event import Event
from reflex.middleware import Middleware
from reflex.state import BaseState, State, StateUpdate
from reflex_base.constants import CompileVars
from reflex_base.utils.format import format_event_handler

from reup_app.state.auth import RESTORE_SCRIPT, AuthState
from reup_app.state.base import AppState

log = logging.getLogger(__name__)


@functools.cache
def _hydrate_events() -> frozenset[str]:
    return frozenset(
        format_event_handler(State.event_handlers[name]) for name in (CompileVars.HYDRATE, CompileVars.HYDRATE_AND_LOAD)
    )


class LostStateMiddleware(Middleware):
    """Registered first (`app.add_middleware(..., index=0)`), before Reflex's hydrate middleware."""

    async def preprocess(self, app, state: BaseState, event: Event) -> StateUpdate | None:
        if event.name in _hydrate_events():
            marked = await state.get_state(AppState)
            if not marked._tab_hydrated:  # a write (and a save) only the first time
                marked._tab_hydrated = True
            return None
        if not event.name.startswith(AppState.get_full_name() + "."):
            return None  # Reflex's own internal events
        app_state = await state.get_state(AppState)
        if app_state._tab_hydrated:
            return None
        app_state._tab_hydrated = True  # once: the restore's own callback (and any click before the reload) runs
        (await state.get_state(AuthState))._restore_tried = True  # this restore is the tab's one (no heartbeat twin)
        log.info("tab state lost (no hydrate seen): restoring the session and reloading instead of %s", event.name)
        restore = rx.call_script(RESTORE_SCRIPT, callback=AuthState.finish_restore_after_loss)
        return StateUpdate(events=Event.from_event_type([restore]))
