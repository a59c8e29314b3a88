"""Running one sync: a `sync_runs` row per run, a cursor that moves only together with the data it
covers, throttled live progress, and bounded concurrency across connections.

    def sync_packages(ctx: SyncContext) -> None:
        for window, packages in client.package_windows("active", lic, ctx.cursor_time(default), now):
            ctx.commit(lambda s: upsert(s, packages), cursor=iso(window.end), seen=len(packages), changed=n)
            ctx.progress(i, total)

    run_sync(engine, fence, connection_id=7, resource="metrc.packages.active", fn=sync_packages)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from reup_app.events.kinds import emit_sync_progress
from reup_app.jobs.fencing import check_fence
from reup_app.jobs.outbox_sender import Fence
from reup_app.models.enums import SyncStatus
from reup_app.models.integrations import IntegrationConnection, SyncCursor, SyncRun
from reup_app.models.types import utcnow

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.5  # seconds between progress events (the last one always goes)


class SyncContext:
    """What a sync function gets: the cursor, `commit()` for data + cursor, counters and progress."""

    def __init__(self, engine: Engine, fence: Fence, connection: IntegrationConnection, resource: str, run_id: int):
        self.engine, self.fence, self.resource, self.run_id = engine, fence, resource, run_id
        self.connection_id = connection.id
        self.entity_id = connection.entity_id
        self.items_seen = 0
        self.items_changed = 0
        self._last_progress = 0.0
        self.cursor = self._read_cursor()

    def _read_cursor(self) -> str | None:
        with Session(self.engine) as session:
            row = session.exec(
                select(SyncCursor).where(
                    SyncCursor.connection_id == self.connection_id, SyncCursor.resource == self.resource
                )
            ).first()
            return row.cursor_value if row else None

    def cursor_time(self, default: datetime) -> datetime:
        """The cursor as a UTC time (ISO 8601), or `default` on the first run."""
        return datetime.fromisoformat(self.cursor.replace("Z", "+00:00")) if self.cursor else default

    def commit(
        self, write: Callable[[Session], Any] | None, *, cursor: str | None, seen: int = 0, changed: int = 0
    ) -> Any:
        """Apply `write(session)` and move the cursor in ONE fenced transaction. The fence is checked
        after the write, just before the commit: it locks the one fence row every sync shares, so
        holding it only for the commit lets several connections' syncs write in parallel."""
        with Session(self.engine, expire_on_commit=False) as session:
            if cursor is not None:  # first: this sync's own row, so the shared locks below are held briefly
                self._move_cursor(session, cursor)
            result = write(session) if write else None
            check_fence(session, self.fence.name, self.fence.token)
            session.commit()
        self.items_seen += seen
        self.items_changed += changed
        if cursor is not None:
            self.cursor = cursor
        return result

    def _move_cursor(self, session: Session, value: str) -> None:
        """One statement that moves the cursor row (it locks the row until commit), creating it on first
        use. On MySQL an upsert: an UPDATE that matches no row locks the index gap, and two syncs'
        first commits that each then insert into that gap deadlock."""
        now = utcnow()
        values: dict[str, Any] = {"cursor_value": value, "fencing_token": self.fence.token, "updated_at": now}
        if session.get_bind().dialect.name == "mysql":
            stmt = mysql_insert(SyncCursor).values(connection_id=self.connection_id, resource=self.resource, **values)
            session.execute(stmt.on_duplicate_key_update(**values))
            return
        moved = session.execute(
            update(SyncCursor)
            .where(col(SyncCursor.connection_id) == self.connection_id, col(SyncCursor.resource) == self.resource)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if not moved.rowcount:  # type: ignore[attr-defined]  # an UPDATE yields a CursorResult; Session.execute is typed Result
            session.add(SyncCursor(connection_id=self.connection_id, resource=self.resource, **values))
            session.flush()

    def progress(self, done: int, total: int, *, force: bool = False) -> bool:
        """Emit 'integration.sync_progress' at most every PROGRESS_INTERVAL s (and always at the end)."""
        now = time.monotonic()
        if not force and done < total and now - self._last_progress < PROGRESS_INTERVAL:
            return False
        self._last_progress = now
        with Session(self.engine) as session:
            emit_sync_progress(
                session,
                entity_id=self.entity_id,
                connection_id=self.connection_id,
                resource=self.resource,
                done=done,
                total=total,
            )
            session.commit()
        return True


def run_sync(
    engine: Engine, fence: Fence, *, connection_id: int, resource: str, fn: Callable[[SyncContext], Any]
) -> SyncRun:
    """Run `fn` as one recorded sync run; errors are stored on the run (and the connection), not raised."""
    with Session(engine, expire_on_commit=False) as session:
        check_fence(session, fence.name, fence.token)
        connection = session.get(IntegrationConnection, connection_id)
        if connection is None:
            raise LookupError(f"integration connection {connection_id} does not exist")
        run = SyncRun(connection_id=connection_id, resource=resource, fencing_token=fence.token, started_at=utcnow())
        session.add(run)
        session.commit()
    ctx = SyncContext(engine, fence, connection, resource, run.id)
    error: str | None = None
    try:
        fn(ctx)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:4000]
        log.warning("sync %s for connection %d failed: %s", resource, connection_id, error)
    return _finish(engine, fence, run.id, ctx, error)


def _finish(engine: Engine, fence: Fence, run_id: int, ctx: SyncContext, error: str | None) -> SyncRun:
    with Session(engine, expire_on_commit=False) as session:
        check_fence(session, fence.name, fence.token)
        run = session.get(SyncRun, run_id)
        conn = session.get(IntegrationConnection, ctx.connection_id)
        if run is None or conn is None:
            raise LookupError(f"sync run {run_id} or its connection {ctx.connection_id} no longer exists")
        run.status = SyncStatus.FAILED if error else SyncStatus.SUCCEEDED
        run.finished_at, run.error = utcnow(), error
        run.items_seen, run.items_changed = ctx.items_seen, ctx.items_changed
        conn.status, conn.last_error, conn.updated_at = ("error" if error else "ok"), error, utcnow()
        session.add_all([run, conn])
        emit_sync_progress(  # the connections page drops the bar and shows the recorded run
            session,
            entity_id=conn.entity_id,
            connection_id=conn.id,
            resource=run.resource,
            done=0,
            total=0,
            finished=True,
        )
        session.commit()
        return run


def run_bounded(items: Iterable[Any], fn: Callable[[Any], Any], *, max_workers: int = 4) -> list[Any]:
    """`fn(item)` for every item (e.g. connection ids), at most `max_workers` at a time; results in order,
    exceptions returned in place of results so one failing connection never stops the others."""

    def safe(item: Any) -> Any:
        try:
            return fn(item)
        except Exception as exc:
            log.exception("per-connection job failed for %r", item)
            return exc

    items = list(items)
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(items))), thread_name_prefix="sync") as pool:
        return list(pool.map(safe, items))
