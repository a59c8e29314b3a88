"""The METRC package sync (`@sync_resource("metrc", "packages")`): for one connection (one license),
walk 24-hour lastModified windows oldest first from the cursor (minus the look-back overlap), fetch
the active, on-hold and inactive packages of each window, and apply them to inventory lots in one
transaction that also moves the cursor to the window's end. A crash replays from the last committed
window; the first run starts FIRST_SYNC_HORIZON back.

The next FETCH_AHEAD windows are fetched (concurrently) while the current one is written, so the
calls keep pace with the rate limiter instead of waiting on the database or on one call's latency;
windows are still applied, and the cursor moved, strictly oldest first. A window without packages
opens no transaction: the cursor passes it with the next window that has data (or the last one), so
a crash replays at most a few empty windows."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import partial

from sqlmodel import Session

from reup_app.integrations.metrc.client import PACKAGE_STATES, MetrcClient
from reup_app.integrations.metrc.paging import Window, iso, windows
from reup_app.integrations.metrc.records import Package
from reup_app.jobs.sync import SyncContext
from reup_app.jobs.sync_registry import sync_resource
from reup_app.models.integrations import IntegrationConnection
from reup_app.models.types import utcnow
from reup_app.services.integrations.vendor_access import metrc_client
from reup_app.services.inventory.metrc_sync import (
    SyncTarget,
    WindowResult,
    apply_packages,
    prepare_window,
    sync_target,
)

FIRST_SYNC_HORIZON = timedelta(days=30)
# windows fetched concurrently ahead of the one being written: enough that a slow write (a seller's
# windows of several licenses wait on each other's product locks) never starves the calls; the
# limiter caps the rate and the client's in-flight bound the concurrency per facility
FETCH_AHEAD = 8
WriteHook = Callable[[float, WindowResult, Window], None]  # (seconds in the DB, what it did, which window)


@sync_resource("metrc", "packages")
def sync_metrc_packages(ctx: SyncContext, connection: IntegrationConnection) -> None:
    sync_packages(ctx, connection, metrc_client(connection))


def fetch_window(client: MetrcClient, license_number: str, window: Window) -> list[Package]:
    """Active, then on-hold, then inactive packages of one window (the later state wins per label)."""
    out: list[Package] = []
    for state in PACKAGE_STATES:
        out += client.packages(state, license_number, window)
    return out


def sync_packages(
    ctx: SyncContext,
    connection: IntegrationConnection,
    client: MetrcClient,
    *,
    now: datetime | None = None,
    horizon: timedelta = FIRST_SYNC_HORIZON,
    on_write: WriteHook | None = None,
) -> int:
    """Sync every window from the cursor to `now`; returns the windows done."""
    with Session(ctx.engine) as session:
        target, license_number = sync_target(session, connection)
    now = (now or utcnow()).replace(microsecond=0)  # METRC times are whole seconds: the cursor is exact
    todo = windows(ctx.cursor_time(now - horizon), now)
    with ThreadPoolExecutor(max_workers=FETCH_AHEAD, thread_name_prefix=f"metrc-fetch-{connection.id}") as pool:
        ahead: deque[Future] = deque(pool.submit(fetch_window, client, license_number, w) for w in todo[:FETCH_AHEAD])
        for i, window in enumerate(todo):
            packages = ahead.popleft().result()  # windows are applied strictly oldest first
            if i + FETCH_AHEAD < len(todo):
                ahead.append(pool.submit(fetch_window, client, license_number, todo[i + FETCH_AHEAD]))
            if packages or i == len(todo) - 1:
                _apply(ctx, target, packages, window, on_write)
            elif on_write:  # an empty window writes nothing (0 s in the DB): its cursor rides on the next commit
                on_write(0.0, WindowResult(), window)
            ctx.progress(i + 1, len(todo))
    return len(todo)


def _apply(ctx: SyncContext, target: SyncTarget, packages: list[Package], window: Window, on_write: WriteHook | None):
    """One window's packages and the cursor (its end) in one fenced transaction."""
    prepared = prepare_window(packages)  # pure work, before the transaction opens
    started = time.perf_counter()
    result = ctx.commit(partial(apply_packages, target=target, packages=prepared), cursor=iso(window.end))
    ctx.items_seen += result.seen
    ctx.items_changed += result.changed
    if on_write:
        on_write(time.perf_counter() - started, result, window)
