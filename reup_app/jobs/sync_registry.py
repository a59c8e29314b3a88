"""Which syncs exist: vendor packages register `@sync_resource("metrc", "packages.active")` on a
`fn(ctx: SyncContext, connection)`; the `run_syncs` job runs every registered resource for every
enabled connection of that provider, a bounded number of connections at a time, each as its own
recorded run (one connection's failure never stops another's)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from reup_app.jobs.outbox_sender import Fence
from reup_app.jobs.sync import SyncContext, run_bounded, run_sync
from reup_app.models.integrations import IntegrationConnection

SyncFn = Callable[[SyncContext, IntegrationConnection], Any]
_RESOURCES: dict[str, dict[str, SyncFn]] = {}


def sync_resource(provider: str, resource: str) -> Callable[[SyncFn], SyncFn]:
    def register(fn: SyncFn) -> SyncFn:
        _RESOURCES.setdefault(provider, {})[resource] = fn
        return fn

    return register


def registered(provider: str) -> dict[str, SyncFn]:
    return dict(_RESOURCES.get(provider, {}))


def unregister(provider: str, resource: str) -> None:
    _RESOURCES.get(provider, {}).pop(resource, None)


def run_registered_syncs(engine: Engine, fence: Fence, *, max_workers: int = 4) -> int:
    """One pass over every enabled connection whose provider has syncs; returns the runs made."""
    with Session(engine, expire_on_commit=False) as session:
        connections = session.exec(
            select(IntegrationConnection)
            .where(IntegrationConnection.enabled.is_(True))
            .where(IntegrationConnection.provider.in_(list(_RESOURCES)))
        ).all()

    def sync_connection(conn: IntegrationConnection) -> int:
        runs = 0
        for resource, fn in registered(conn.provider).items():
            run_sync(engine, fence, connection_id=conn.id, resource=resource, fn=lambda ctx, f=fn: f(ctx, conn))
            runs += 1
        return runs

    results = run_bounded(connections, sync_connection, max_workers=max_workers)
    return sum(r for r in results if isinstance(r, int))
