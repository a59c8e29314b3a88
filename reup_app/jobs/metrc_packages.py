"""The METRC package sync (`@sync_resource("metrc", "packages")`): for one connection (one license),
walk 24-hour lastModified windows oldest first from the cursor (minus the look-back overlap), fetch
the active, on-hold and inactive packages of each window, and apply them to inventory lots in one
transaction that also moves the cursor to the window's end. A crash replays from the last committed
window; the first run starts FIRST_SYNC_HORIZON back.

The next window is fetched while the current one is written, so the calls keep pace with the rate
limiter instead of waiting on the database."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta

from sqlmodel import Session

from reup_app.integrations.metrc.client import PACKAGE_STATES, MetrcClient
from reup_app.integrations.metrc.paging import Window, iso, windows
from reup_app.integrations.metrc.records import Package
from reup_app.jobs.sync import SyncContext
from reup_app.jobs.sync_registry import sync_resource
from reup_app.models.integrations import IntegrationConnection
from reup_app.models.types import utcnow
from reup_app.services.integrations.vendor_access import metrc_client
from reup_app.services.inventory.metrc_sync import WindowResult, apply_packages, sync_target

FIRST_SYNC_HORIZON = timedelta(days=30)
WriteHook = Callable[[float, WindowResult], None]  # (seconds spent in the DB, what the window did)


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
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"metrc-fetch-{connection.id}") as pool:
        pending: Future | None = pool.submit(fetch_window, client, license_number, todo[0]) if todo else None
        for i, window in enumerate(todo):
            packages = pending.result()
            pending = pool.submit(fetch_window, client, license_number, todo[i + 1]) if i + 1 < len(todo) else None
            started = time.perf_counter()
            result = ctx.commit(
                lambda s, pk=packages: apply_packages(s, target, pk),
                cursor=iso(window.end),
            )
            ctx.items_seen += result.seen
            ctx.items_changed += result.changed
            if on_write:
                on_write(time.perf_counter() - started, result)
            ctx.progress(i + 1, len(todo))
    return len(todo)
