"""Database engine and units of work. Never imports reflex.

`unit_of_work(principal)` is the one way services get a session: it commits on success, rolls
back on error, and carries the acting principal in `session.info` for the audit listener.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

from reup_app.errors import PermissionDenied
from reup_app.settings import get_settings


def engine_kwargs(url: str, ssl_ca: str | None = None) -> dict[str, Any]:
    """Per-dialect engine options (TLS to MySQL when a CA is configured)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        return {"connect_args": {"check_same_thread": False, "timeout": 30}}
    connect_args: dict[str, Any] = {"charset": "utf8mb4"}
    if ssl_ca:
        connect_args["ssl"] = {"ca": ssl_ca}
    return {
        "connect_args": connect_args,
        "pool_pre_ping": True,
        "pool_recycle": 1800,
        "pool_size": 10,
        "max_overflow": 20,
    }


def build_engine(url: str, ssl_ca: str | None = None) -> Engine:
    engine = create_engine(url, **engine_kwargs(url, ssl_ca))
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

    return engine


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    s = get_settings()
    return build_engine(s.database_url, s.db_ssl_ca)


def reset_engine() -> None:
    """Dispose the cached engine (tests switch databases between runs)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()


READ_ONLY_MESSAGE = "Support view is read-only: nothing can be changed while viewing a business."


def _refuse_writes(session: Session) -> None:
    """A read-only principal's unit of work: any flush with changes or bulk UPDATE/DELETE raises."""

    def before_flush(sess, _ctx, _instances) -> None:
        if sess.new or sess.dirty or sess.deleted:
            raise PermissionDenied(READ_ONLY_MESSAGE)

    def orm_execute(state) -> None:
        if state.is_update or state.is_delete or state.is_insert:
            raise PermissionDenied(READ_ONLY_MESSAGE)

    event.listen(session, "before_flush", before_flush)
    event.listen(session, "do_orm_execute", orm_execute)


@contextmanager
def unit_of_work(principal: Any = None, *, engine: Engine | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on error.

    `principal` (a `reup_app.security.principal.Principal` or None for system work) is stored in
    `session.info` so the audit listener knows who made each change.
    """
    session = Session(engine or get_engine(), expire_on_commit=False)
    session.info["principal"] = principal
    if getattr(principal, "read_only", False):
        _refuse_writes(session)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


async def run_in_unit_of_work(principal: Any, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    """`fn(session, *args, **kw)` in a unit of work (commits on success) on a worker thread, so
    blocking database calls never stall the event loop. For states, API routes and the push layer."""

    def run() -> Any:
        with unit_of_work(principal) as session:
            return fn(session, *args, **kw)

    return await asyncio.to_thread(run)
