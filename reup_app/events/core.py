"""Event type and the after-commit emission hook."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import event as sa_event
from sqlmodel import Session

from reup_app.models.types import utcnow

_PENDING_KEY = "reup_pending_events"


@dataclass(frozen=True)
class DomainEvent:
    kind: str  # e.g. "order.submitted", "order.status_changed", "inventory.changed"
    entity_ids: tuple[int, ...]  # audience: members of these entities
    payload: dict[str, Any] = field(default_factory=dict)
    user_ids: tuple[int, ...] = ()  # optional narrower audience (e.g. one user's notification)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    occurred_at: str = field(default_factory=lambda: utcnow().isoformat())

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=str)

    @classmethod
    def from_json(cls, raw: str | bytes) -> DomainEvent:
        data = json.loads(raw)
        data["entity_ids"] = tuple(data.get("entity_ids") or ())
        data["user_ids"] = tuple(data.get("user_ids") or ())
        return cls(**data)


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


# Modules that register pre-commit handlers, imported on the first commit with events (a lazy
# import: they live in the service layer, above this module).
_PRECOMMIT_MODULES = ("reup_app.services.notifications.inbox",)
_modules_loaded = False


@sa_event.listens_for(Session, "before_commit")
def _run_precommit_handlers(session) -> None:
    global _modules_loaded
    pending = session.info.get(_PENDING_KEY)
    if not pending:
        return
    if not _modules_loaded:
        import importlib

        for name in _PRECOMMIT_MODULES:
            importlib.import_module(name)
        _modules_loaded = True
    # Only the outermost commit: a savepoint (a handler's own, or a service's) is not the end.
    if session.in_nested_transaction() or session.info.get("reup_precommit_running"):
        return
    session.info["reup_precommit_running"] = True
    try:
        for handler in list(_PRECOMMIT_HANDLERS):
            handler(session, list(pending))
    finally:
        session.info.pop("reup_precommit_running", None)


@sa_event.listens_for(Session, "after_commit")
def _publish_after_commit(session) -> None:
    pending = session.info.pop(_PENDING_KEY, None)
    if not pending:
        return
    from reup_app.events.bus import get_bus

    bus = get_bus()
    for ev in pending:
        bus.publish(ev)


@sa_event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session) -> None:
    session.info.pop(_PENDING_KEY, None)
