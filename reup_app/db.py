"""Database engine and units of work. Never imports reflex.

`unit_of_work(principal)` is the one way services get a session: it commits on success, rolls
back on error, and carries the acting principal in `session.info` for the audit listener.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import ORMExecuteState
from sqlmodel import Session, create_engine

from reup_app import db_replicas
from reup_app.errors import PermissionDenied
from reup_app.settings import get_settings

log = logging.getLogger("reup.db")


def engine_kwargs(url: str, ssl_ca: str | None = None, connect_timeout: int | None = None) -> dict[str, Any]:
    """Per-dialect engine options (TLS to MySQL when a CA is configured)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        return {"connect_args": {"check_same_thread": False, "timeout": 30}}
    connect_args: dict[str, Any] = {"charset": "utf8mb4"}
    if ssl_ca:
        # Required TLS, verifying the server's certificate (chain and host name) against the CA: a
        # server whose certificate the CA did not sign is refused.
        connect_args["ssl"] = tls_context(ssl_ca)
    else:
        # Without a CA, no TLS. PyMySQL would otherwise try unverified TLS ("preferred") and build
        # a fresh SSL context, loading the system's CA bundle, for every new connection: 38 ms of
        # CPU per connection against 0.85 ms without (measured here), paid again for every overflow
        # connection a busy process opens.
        connect_args["ssl_disabled"] = True
    if connect_timeout:
        connect_args["connect_timeout"] = connect_timeout
    return {
        "connect_args": connect_args,
        "pool_pre_ping": True,
        "pool_recycle": 1800,
        "pool_size": 10,
        "max_overflow": 20,
    }


@lru_cache(maxsize=4)
def tls_context(ca_file: str) -> ssl.SSLContext:
    """One verifying client context per CA file, shared by every connection of the process (PyMySQL
    takes an SSLContext as it is; given a dict it builds a new one per connection). The same
    settings PyMySQL makes for `{"ca": ...}`: certificate required, host name checked, and X.509
    strict mode off, as MySQL's own self-signed certificates do not pass it."""
    ctx = ssl.create_default_context(cafile=ca_file)
    ctx.verify_flags &= ~ssl.VERIFY_X509_STRICT
    return ctx


def _datediff(a: object, b: object) -> int | None:
    """DATEDIFF(a, b) for SQLite: whole days from date b to date a (NULL if either is NULL)."""
    if a is None or b is None:
        return None
    return (date.fromisoformat(str(a)[:10]) - date.fromisoformat(str(b)[:10])).days


def build_engine(url: str, ssl_ca: str | None = None, connect_timeout: int | None = None) -> Engine:
    engine = create_engine(url, **engine_kwargs(url, ssl_ca, connect_timeout))
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()
            # MySQL's DATEDIFF, which the POS velocity and sell-through queries use
            dbapi_conn.create_function("datediff", 2, _datediff, deterministic=True)

    return engine


db_replicas.set_engine_builder(build_engine)


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    s = get_settings()
    return build_engine(s.database_url, s.db_ssl_ca)


def reset_engine() -> None:
    """Dispose the cached engine (tests switch databases between runs)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()
    db_replicas.reset_replicas()


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
    `session.info` so the audit listener knows who made each change. Always the primary: a user
    whose unit of work wrote reads from the primary for a few seconds (read-your-writes).
    """
    session = Session(engine or get_engine(), expire_on_commit=False)
    session.info["principal"] = principal
    if getattr(principal, "read_only", False):
        _refuse_writes(session)
    session.info["db_role"] = "primary"
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    if session.info.get("wrote"):
        _pin_writer(principal)


def _pin_writer(principal: Any) -> None:
    user_id = getattr(principal, "user_id", None)
    if user_id is not None and get_settings().database_replica_urls:
        db_replicas.pin_user(user_id)


def _read_route(principal: Any) -> tuple[Engine, int | None]:
    """The engine of a read-only unit: a usable replica, or the primary (see reup_app.db_replicas)."""
    replicas = db_replicas.get_replica_set()
    if replicas is None:
        return get_engine(), None
    user_id = getattr(principal, "user_id", None)
    if user_id is not None and db_replicas.is_pinned(user_id):
        return get_engine(), None
    index = replicas.choose()
    if index is None:
        return get_engine(), None
    return replicas.engine(index), index


@contextmanager
def read_only_unit_of_work(principal: Any = None, *, replica: int | None | bool = True) -> Iterator[Session]:
    """A session for reads only (catalog, product pages, dashboards, order lists), on a replica
    when one is usable. It never commits; a write inside it raises. `replica=False` forces the
    primary. `session.info["db_role"]` tells which server served it ("replica:<n>" or "primary")."""
    engine, index = _read_route(principal) if replica else (get_engine(), None)
    session = Session(engine, expire_on_commit=False)
    session.info["principal"] = principal
    session.info["read_only"] = True
    session.info["replica_index"] = index
    session.info["db_role"] = "primary" if index is None else f"replica:{index}"
    try:
        yield session
    finally:
        session.rollback()
        session.close()


LOCK_CONFLICTS = {1205, 1213}  # lock wait timeout, deadlock: InnoDB rolled the transaction back
CONNECTION_LOST = {2002, 2003, 2006, 2013, 2055}  # MySQL client errors: server down, connection lost
TRANSACTION_ATTEMPTS = 4


def is_lock_conflict(err: BaseException) -> bool:
    """A deadlock or lock wait timeout anywhere in the error's chain (under a savepoint the
    visible error is the failed ROLLBACK TO SAVEPOINT; the deadlock is its cause)."""
    seen: BaseException | None = err
    for _ in range(5):
        if seen is None:
            return False
        orig = getattr(seen, "orig", None)
        if isinstance(seen, DBAPIError) and getattr(orig, "args", (None,))[0] in LOCK_CONFLICTS:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def connection_lost(err: DBAPIError) -> bool:
    """The server could not be reached or the connection dropped (a restart, a failover)."""
    return bool(err.connection_invalidated) or getattr(err.orig, "args", (None,))[0] in CONNECTION_LOST


def transaction(principal: Any, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    """`fn(session, *args, **kw)` in a unit of work, run again (up to TRANSACTION_ATTEMPTS times,
    after a short jittered pause: `backoff.retry_delay`) when InnoDB picks it as a deadlock victim
    or a lock wait times out: nothing of a rolled-back attempt was committed. `fn` must do nothing
    outside its session (events and vendor calls go through the outbox)."""
    from reup_app.backoff import retry_delay

    for attempt in range(1, TRANSACTION_ATTEMPTS + 1):
        try:
            with unit_of_work(principal) as session:
                return fn(session, *args, **kw)
        except DBAPIError as err:
            if attempt == TRANSACTION_ATTEMPTS or not is_lock_conflict(err):
                raise
            log.info("transaction retried after %s (attempt %d)", type(err.orig).__name__, attempt)
            time.sleep(retry_delay(attempt, base=0.02, cap=0.5))
    raise AssertionError("unreachable")


def read_only_call(principal: Any, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    """`fn(session, *args, **kw)` in a read-only unit; when the replica fails mid-read (connection
    lost, server gone), mark it down and run the read again on the primary."""
    with read_only_unit_of_work(principal) as session:
        index = session.info["replica_index"]
        try:
            return fn(session, *args, **kw)
        except DBAPIError as err:
            if index is None or not _is_connection_error(err):
                raise
            failed = err
    replicas = db_replicas.get_replica_set()
    if replicas is not None:
        replicas.mark_down(index, type(failed.orig).__name__)
    with read_only_unit_of_work(principal, replica=False) as session:
        return fn(session, *args, **kw)


def _is_connection_error(err: DBAPIError) -> bool:
    from pymysql import err as pymysql_err

    return bool(err.connection_invalidated) or isinstance(
        err.orig, pymysql_err.OperationalError | pymysql_err.InterfaceError
    )


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _ctx: Any) -> None:
    session.info["wrote"] = True


@event.listens_for(Session, "before_flush")
def _refuse_flush_in_read_only(session: Session, _ctx: Any, _instances: Any) -> None:
    if session.info.get("read_only") and (session.new or session.dirty or session.deleted):
        raise RuntimeError("a write inside a read-only unit of work (use unit_of_work for writes)")


@event.listens_for(Session, "do_orm_execute")
def _dml(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        if state.session.info.get("read_only"):
            raise RuntimeError("a write inside a read-only unit of work (use unit_of_work for writes)")
        state.session.info["wrote"] = True


async def run_in_unit_of_work(principal: Any, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    """`fn(session, *args, **kw)` in a unit of work (commits on success; retried on a deadlock:
    `transaction`) on a worker thread, so blocking database calls never stall the event loop. For
    states, API routes and the push layer."""
    return await asyncio.to_thread(transaction, principal, fn, *args, **kw)


async def run_read_only(principal: Any, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    """`fn(session, *args, **kw)` in a read-only unit of work (a replica when usable) on a worker
    thread. Only for functions that never write."""
    return await asyncio.to_thread(read_only_call, principal, fn, *args, **kw)
