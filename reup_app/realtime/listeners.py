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

`@live_listener(kinds=..., interest="product_ids")` names a payload field listing what an event is
about. The state then tells, each time it shows something, what it shows in that session
(`show_interest(cls, token, ids)`, a record in this process), and the hub skips the sessions whose
record shares nothing with the event's list without loading their state: with a thousand tabs on
the catalog, a stock change costs the tabs showing that product, not all of them. A session with no
record here (its page was loaded by another process, or it just arrived) is called as before.

`@live_listener(..., coalesce=2.0)` pushes to a session's state at most once per that many seconds:
events arriving sooner wait, merged into one (`merge_events`: the interest field's ids and the
payload's other keys united, the later value winning), delivered when the interval is up. For a
listener that re-reads what it shows (the catalog's availability), so a burst of orders costs each
open tab one update, not one per order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

LIVE_LISTENERS: list[type[Any]] = []
# listener class -> the event kinds it wants (absent: every kind)
LIVE_KINDS: dict[type[Any], frozenset[str]] = {}
# listener class -> the payload field listing what an event is about (see `show_interest`)
LIVE_INTEREST: dict[type[Any], str] = {}
# listener class -> at most one push per this many seconds per session (see `coalesce`)
LIVE_COALESCE: dict[type[Any], float] = {}
# (listener class, session token) -> what that session shows now, in this process
_SHOWN: dict[tuple[type[Any], str], frozenset[str]] = {}
MAX_SHOWN = 100_000  # records kept per process (the oldest go first)


def live_listener(
    cls: type[Any] | None = None,
    *,
    kinds: Iterable[str] | None = None,
    interest: str | None = None,
    coalesce: float | None = None,
):
    def register(target: type[Any]) -> type[Any]:
        if target not in LIVE_LISTENERS:
            LIVE_LISTENERS.append(target)
        if kinds is not None:
            LIVE_KINDS[target] = frozenset(kinds)
        if interest is not None:
            LIVE_INTEREST[target] = interest
        if coalesce is not None:
            LIVE_COALESCE[target] = coalesce
        return target

    return register(cls) if cls is not None else register


def show_interest(cls: type[Any], token: str, keys: Iterable[Any]) -> None:
    """What session `token`'s `cls` state shows now (ids, as in the events' interest field)."""
    if not token:
        return
    _SHOWN.pop((cls, token), None)
    _SHOWN[(cls, token)] = frozenset(str(k) for k in keys)
    while len(_SHOWN) > MAX_SHOWN:
        del _SHOWN[next(iter(_SHOWN))]


def forget_interests(tokens: Iterable[str]) -> None:
    """Sessions that closed or arrived from another process: what they show is not known here."""
    gone = set(tokens)
    for key in [k for k in _SHOWN if k[1] in gone]:
        del _SHOWN[key]


def wants(cls: type[Any], token: str, payload: dict[str, Any]) -> bool:
    """False only when this session's `cls` is known to show nothing the event is about."""
    field = LIVE_INTEREST.get(cls)
    shown = _SHOWN.get((cls, token)) if field is not None else None
    if shown is None:
        return True
    about = payload.get(field) if field is not None else None
    if not isinstance(about, list | tuple | set | frozenset):
        return True
    return not shown.isdisjoint(str(k) for k in about)


def listeners_for(kind: str) -> list[type[Any]]:
    """The registered listener classes that want events of `kind`."""
    return [cls for cls in LIVE_LISTENERS if cls not in LIVE_KINDS or kind in LIVE_KINDS[cls]]


def _derived_id(*ids: str) -> str:
    return hashlib.sha1("+".join(ids).encode()).hexdigest()[:32]


def held_event(event: Any) -> Any:
    """`event` held back for a coalescing listener: delivered on its own later, under its own id."""
    return replace(event, id=_derived_id(event.id))


def merge_events(first: Any, later: Any, interest: str | None) -> Any:
    """One event standing for `first` then `later` (same kind) for a coalescing listener: audiences
    and the interest field's ids united, other payload keys from `later` (dicts merged). Its id is
    derived from the ids it stands for, so sessions merging the same events share loads keyed by it."""
    payload = {**first.payload}
    for key, value in later.payload.items():
        before = payload.get(key)
        if key == interest and isinstance(before, list | tuple) and isinstance(value, list | tuple):
            payload[key] = sorted({*before, *value}, key=str)
        elif isinstance(before, dict) and isinstance(value, dict):
            payload[key] = {**before, **value}
        else:
            payload[key] = value
    return replace(
        later,
        id=_derived_id(first.id, later.id),
        entity_ids=tuple(sorted({*first.entity_ids, *later.entity_ids})),
        user_ids=() if not (first.user_ids and later.user_ids) else tuple(sorted({*first.user_ids, *later.user_ids})),
        payload=payload,
    )
