"""Which syncs exist: vendor packages register `@sync_resource("metrc", "packages.active")` on a
`fn(ctx: SyncContext, connection)`; the `run_syncs` job runs every registered resource for every
enabled connection of that provider, a bounded number of connections at a time, each as its own
recorded run (one connection's failure never stops another's)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from reup_app.jobs.outbox_sender import Fence
from reup_app.jobs.sync import SyncContext, run_bounded, run_sync
from reup_app.models.integrations import IntegrationConnection

SyncFn = Callable[[SyncContext, IntegrationConnection], Any]
_RESOURCES: dict[str, dict[str, SyncFn]] = {}
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


def run_registered_syncs(engine: Engine, fence: Fence, *, max_workers: int = 4, status: str | None = None) -> int:
    """One pass over every enabled connection whose provider has syncs (only those in `status` when
    given, e.g. "retry" after an admin's Retry); a connection already syncing is skipped. Returns
    the runs made."""
    query = (
        select(IntegrationConnection)
        .where(IntegrationConnection.enabled.is_(True))
        .where(IntegrationConnection.provider.in_(list(_RESOURCES)))
    )
    if status is not None:
        query = query.where(IntegrationConnection.status == status)
    with Session(engine, expire_on_commit=False) as session:
        connections = session.exec(query).all()

    def sync_connection(conn: IntegrationConnection) -> int:
        with _running_lock:
            if conn.id in _running:
                return 0
            _running.add(conn.id)
        try:
            runs = 0
            for resource, fn in registered(conn.provider).items():
                run_sync(engine, fence, connection_id=conn.id, resource=resource, fn=lambda ctx, f=fn: f(ctx, conn))
                runs += 1
            return runs
        finally:
            with _running_lock:
                _running.discard(conn.id)

    results = run_bounded(connections, sync_connection, max_workers=max_workers)
    return sum(r for r in results if isinstance(r, int))
