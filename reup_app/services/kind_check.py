"""The entity-kind lookup behind `permissions.ACTION_KINDS` (seller-only and buyer-only actions).

`authorize()` lives below the database layer, so the services install how to read a business's
kind. A kind never changes after sign-up, so a kind read once is cached for the process. The read
uses the session of the unit of work running on this thread (its transaction sees rows it has just
written), else a short session of its own.
"""

from __future__ import annotations

import contextvars
import threading
import weakref

from sqlalchemy import event, select
from sqlmodel import Session, col

from reup_app.db import get_engine
from reup_app.models import Entity
from reup_app.security.permissions import set_entity_kind_lookup

_cache: dict[tuple[str, int], str] = {}
_lock = threading.Lock()
_current: contextvars.ContextVar[weakref.ref | None] = contextvars.ContextVar("reup_kind_session", default=None)


def _after_begin(session, transaction, connection) -> None:
    _current.set(weakref.ref(session))


def _after_end(session, transaction) -> None:
    ref = _current.get()
    if transaction.parent is None and ref is not None and ref() is session:
        _current.set(None)


def _read(session: Session, entity_id: int) -> str | None:
    with session.no_autoflush:
        return session.execute(select(col(Entity.kind)).where(col(Entity.id) == entity_id)).scalar_one_or_none()


def entity_kind(entity_id: int) -> str | None:
    ref = _current.get()
    session = ref() if ref is not None else None
    bind = session.get_bind() if session is not None else get_engine()
    key = (str(bind.url), int(entity_id))
    if (kind := _cache.get(key)) is not None:
        return kind
    if session is not None and session.in_transaction():
        kind = _read(session, entity_id)
    else:
        with Session(bind) as own:
            kind = _read(own, entity_id)
    if kind is not None:
        with _lock:
            _cache[key] = kind
    return kind


def install() -> None:
    """Register the lookup and the session tracker (idempotent)."""
    if not event.contains(Session, "after_begin", _after_begin):
        event.listen(Session, "after_begin", _after_begin)
    if not event.contains(Session, "after_transaction_end", _after_end):
        event.listen(Session, "after_transaction_end", _after_end)
    set_entity_kind_lookup(entity_kind)


install()
