"""Hooks that run once per real COMMIT or ROLLBACK of a session, never per savepoint.

SQLAlchemy dispatches `after_commit` when a SAVEPOINT is released and `after_rollback` when one
is rolled back (`session.begin_nested()`), while the outer transaction is still open. Work that
must follow the real end of the transaction (publishing its events, invalidating caches of the
rows it changed) registers here instead: run at a savepoint's release, it would publish data no
other connection can see yet; run at a savepoint's rollback, it would drop the outer
transaction's pending work.

A hook's failure is logged, never raised: the transaction has already ended, so raising would tell
the caller a committed change failed (with Redis down, publishing an order's events failed after
its COMMIT, and the cart page showed "Something went wrong... try again" for a placed order).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import event
from sqlmodel import Session

log = logging.getLogger(__name__)

SessionHook = Callable[[Session], None]


def _outermost_only(fn: SessionHook) -> SessionHook:
    def hook(session: Session) -> None:
        # during a savepoint's dispatch the session's current transaction is still that savepoint
        if not session.in_nested_transaction():
            try:
                fn(session)
            except Exception:  # the transaction is over: its outcome stands (see the module doc)
                log.exception("%s failed after the end of the transaction", fn.__qualname__)

    hook.__name__ = f"outermost_{fn.__name__}"
    hook.__wrapped__ = fn  # type: ignore[attr-defined]
    return hook


_registered: dict[tuple[str, SessionHook], SessionHook] = {}


def _listen(name: str, fn: SessionHook) -> SessionHook:
    if (name, fn) not in _registered:  # idempotent (a module imported twice registers once)
        _registered[(name, fn)] = _outermost_only(fn)
        event.listen(Session, name, _registered[(name, fn)])
    return fn


def on_commit(fn: SessionHook) -> SessionHook:
    """Call `fn(session)` after the session's outermost transaction committed (decorator)."""
    return _listen("after_commit", fn)


def on_rollback(fn: SessionHook) -> SessionHook:
    """Call `fn(session)` after the session's outermost transaction rolled back (decorator)."""
    return _listen("after_rollback", fn)


_UNDO, _AFTER = "undo_on_rollback", "after_commit_do"


def undo_on_rollback(session: Session, undo: Callable[[], None]) -> None:
    """Run `undo()` if the session's current transaction rolls back (e.g. remove a file written
    before the commit, when a deadlock retry or a lost idempotency race rolls the row back); it is
    forgotten when the transaction commits."""
    session.info.setdefault(_UNDO, []).append(undo)


def after_commit_do(session: Session, work: Callable[[], None]) -> None:
    """Run `work()` once the session's current transaction has committed (e.g. remove the file of a
    deleted row: removed before, a rollback would leave a row without its file); dropped on rollback."""
    session.info.setdefault(_AFTER, []).append(work)


def _run_each(works: list[Callable[[], None]]) -> None:
    for work in works:
        try:
            work()
        except Exception:  # one failure must not keep the others from running
            log.exception("work at the end of a transaction failed: %r", work)


@on_commit
def _committed(session: Session) -> None:
    session.info.pop(_UNDO, None)
    _run_each(session.info.pop(_AFTER, []))


@on_rollback
def _rolled_back(session: Session) -> None:
    session.info.pop(_AFTER, None)
    _run_each(list(reversed(session.info.pop(_UNDO, []))))
