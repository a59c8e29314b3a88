"""Registry of page states that react to pushed domain events.

A state class decorated with `@live_listener` (or `@live_listener(kinds={"order.submitted", ...})`
to be called only for those event kinds) defines
    async def _on_domain_event(self, event: DomainEvent) -> None | EventSpec | list[EventSpec]
The push layer (reup_app/realtime/hub.py) calls it inside `app.modify_state` for each open session
entitled to the event whose socket the worker owns, and only when that session has already loaded
the state (so a page never visited in that tab costs nothing). Vars it changes reach the browser as
one delta; events it returns (e.g. `rx.toast.info(...)`) are sent to that browser to run.

The method must be cheap when the event does not concern what the page currently shows, and must
re-derive what it shows through the service layer with `await self._principal()` (events carry
ids, never data the receiver may see without that check).

A class may also define
    @classmethod
    def _prepare_domain_event(cls, event: DomainEvent, sessions: list[SessionInfo]) -> Awaitable | None
which the hub calls once per event in each worker as it schedules the pushes, with the registered
sessions about to receive it: a place to load in one query what every session would otherwise load
alone. It promises the results at once (the pushes wait for them) and returns the awaitable that
loads them, which the hub runs alongside the pushes. What it loads is only a cache: each session
still re-validates its principal and takes only its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

LIVE_LISTENERS: list[type[Any]] = []
# listener class -> the event kinds it wants (absent: every kind)
LIVE_KINDS: dict[type[Any], frozenset[str]] = {}


def live_listener(cls: type[Any] | None = None, *, kinds: Iterable[str] | None = None):
    def register(target: type[Any]) -> type[Any]:
        if target not in LIVE_LISTENERS:
            LIVE_LISTENERS.append(target)
        if kinds is not None:
            LIVE_KINDS[target] = frozenset(kinds)
        return target

    return register(cls) if cls is not None else register


def listeners_for(kind: str) -> list[type[Any]]:
    """The registered listener classes that want events of `kind`."""
    return [cls for cls in LIVE_LISTENERS if cls not in LIVE_KINDS or kind in LIVE_KINDS[cls]]
