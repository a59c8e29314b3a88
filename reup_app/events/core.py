"""Emitting events: queued on the session, handed to pre-commit handlers, published after commit.

The events layer knows nothing of the services: a service that must act inside the emitting
transaction (the notification writer) registers itself with `register_precommit` when imported.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event as sa_event
from sqlmodel import Session

from reup_app.events.bus import get_bus
from reup_app.events.event import DomainEvent
from reup_app.models.session_hooks import on_commit, on_rollback

__all__ = ["DomainEvent", "emit", "register_precommit"]

_PENDING_KEY = "reup_pending_events"


def emit(session: Session, kind: str, *, entity_ids, payload: dict[str, Any] | None = None, user_ids=()) -> DomainEvent:
    """Queue an event on the session; it is published when (and only if) the session commits."""
    ev = DomainEvent(
        kind=kind,
        entity_ids=tuple(int(e) for e in entity_ids if e is not None),
        payload=dict(payload or {}),
        user_ids=tuple(int(u) for u in user_ids),
    )
    session.info.setdefault(_PENDING_KEY, []).append(ev)
    return ev


# Called with (session, events) just before a unit of work that emitted events commits, inside the
# same transaction (the notification writer uses it, so a notification exists iff its event does).
_PRECOMMIT_HANDLERS: list[Callable[[Session, list[DomainEvent]], None]] = []


def register_precommit(handler: Callable[[Session, list[DomainEvent]], None]) -> None:
    """Run `handler(session, pending_events)` in the emitting transaction, before it commits."""
    if handler not in _PRECOMMIT_HANDLERS:
        _PRECOMMIT_HANDLERS.append(handler)


@sa_event.listens_for(Session, "before_commit")
def _run_precommit_handlers(session) -> None:
    pending = session.info.get(_PENDING_KEY)
    if not pending:
        return
    # Only the outermost commit: a savepoint (a handler's own, or a service's) is not the end.
    if session.in_nested_transaction() or session.info.get("reup_precommit_running"):
        return
    session.info["reup_precommit_running"] = True
    try:
        for handler in list(_PRECOMMIT_HANDLERS):
            handler(session, list(pending))
    finally:
        session.info.pop("reup_precommit_running", None)


@on_commit
def _publish_after_commit(session) -> None:
    pending = session.info.pop(_PENDING_KEY, None)
    if not pending:
        return
    bus = get_bus()
    for ev in pending:
        bus.publish(ev)


@on_rollback
def _drop_after_rollback(session) -> None:
    session.info.pop(_PENDING_KEY, None)
