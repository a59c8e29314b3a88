"""Which syncs exist: vendor packages register `@sync_resource("metrc", "packages.active")` on a
`fn(ctx: SyncContext, connection)`; the `run_syncs` job runs every registered resource for every
enabled connection of that provider, a bounded number of connections at a time, each as its own
recorded run (one connection's failure never stops another's)."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from reup_app.backoff import retry_delay
from reup_app.jobs.outbox_sender import Fence
from reup_app.jobs.sync import SyncContext, run_bounded, run_sync
from reup_app.models.enums import SyncStatus
from reup_app.models.integrations import IntegrationConnection, SyncRun
from reup_app.models.types import utcnow

FAILURE_BACKOFF_BASE = 300.0  # seconds: one run_syncs period
FAILURE_BACKOFF_CAP = 6 * 3600.0
MAX_COUNTED_FAILURES = 12

SyncFn = Callable[[SyncContext, IntegrationConnection], Any]
_RESOURCES: dict[str, dict[str, SyncFn]] = {}


def _bound(fn: SyncFn, conn: IntegrationConnection) -> Callable[[SyncContext], Any]:
    """`fn` with its connection bound, the way run_sync() calls it."""
    return lambda ctx: fn(ctx, conn)


_running: set[int] = set()  # connections syncing in this (the leader's) process
_running_lock = threading.Lock()


def sync_resource(provider: str, resource: str) -> Callable[[SyncFn], SyncFn]:
    def register(fn: SyncFn) -> SyncFn:
        _RESOURCES.setdefault(provider, {})[resource] = fn
        return fn

    return register


def registered(provider: str) -> dict[str, SyncFn]:
    return dict(_RESOURCES.get(provider, {}))


def unregister(provider: str, resource: str) -> None:
    _RESOURCES.get(provider, {}).pop(resource, None)


def is_due(session: Session, conn: IntegrationConnection, now: datetime) -> bool:
    """A connection whose recent runs failed waits `backoff.retry_delay` (base: one sync period) after
    its last failure before the next pass tries it again; a healthy one is always due."""
    recent = session.exec(
        select(SyncRun.status, SyncRun.finished_at)
        .where(SyncRun.connection_id == conn.id)
        .order_by(col(SyncRun.id).desc())
        .limit(MAX_COUNTED_FAILURES)
    ).all()
    failures = 0
    for run_status, _ in recent:
        if run_status != SyncStatus.FAILED:
            break
        failures += 1
    if not failures or recent[0][1] is None:
        return True
    rng = random.Random(f"{conn.id}:{failures}")  # one delay per failure count, not re-rolled each pass
    delay = retry_delay(failures, base=FAILURE_BACKOFF_BASE, cap=FAILURE_BACKOFF_CAP, rng=rng)
    return recent[0][1] + timedelta(seconds=delay) <= now


def run_registered_syncs(engine: Engine, fence: Fence, *, max_workers: int = 4, status: str | None = None) -> int:
    """One pass over every enabled connection whose provider has syncs (only those in `status` when
    given, e.g. "retry" after an admin's Retry); a connection already syncing is skipped. Returns
    the runs made."""
    query = (
        select(IntegrationConnection)
        .where(col(IntegrationConnection.enabled).is_(True))
        .where(col(IntegrationConnection.provider).in_(list(_RESOURCES)))
    )
    if status is not None:
        query = query.where(IntegrationConnection.status == status)
    with Session(engine, expire_on_commit=False) as session:
        now = utcnow()
        connections = [c for c in session.exec(query).all() if status is not None or is_due(session, c, now)]

    def sync_connection(conn: IntegrationConnection) -> int:
        with _running_lock:
            if conn.id in _running:
                return 0
            _running.add(conn.id)
        try:
            runs = 0
            for resource, fn in registered(conn.provider).items():
                run_sync(engine, fence, connection_id=conn.id, resource=resource, fn=_bound(fn, conn))
                runs += 1
            return runs
        finally:
            with _running_lock:
                _running.discard(conn.id)

    results = run_bounded(connections, sync_connection, max_workers=max_workers)
    return sum(r for r in results if isinstance(r, int))
