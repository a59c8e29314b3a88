"""The Dutchie POS syncs of one store (`@sync_resource("dutchie", ...)`, run in this order by the
`run_syncs` pass for every enabled Dutchie connection):

- `products`: `/products` from the cursor (the newest lastModifiedDateUTC seen) minus a 60 s overlap;
- `inventory`: the whole `/reporting/inventory` snapshot (Skip/Take pages), one transaction;
- `sales`: `/reporting/transactions` in daily windows (one date filter, IncludeDetail), oldest first,
  each day replaced in the transaction that moves the cursor to that day; the day before the
  cursor is fetched again (a void or late sale since), the first run goes back 90 days.

Every resource first asks `/whoami` and refuses a key whose licence is not the store's. Matching
runs after products and inventory; the end of `sales` emits `pos.synced` to the store's business
(the suggestions page refreshes)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlmodel import Session

from reup_app.events.core import emit
from reup_app.events.kinds import POS_SYNCED
from reup_app.integrations.dutchie.client import INVENTORY_PAGE, DutchieClient, iso
from reup_app.jobs.sync import SyncContext
from reup_app.jobs.sync_registry import sync_resource
from reup_app.models.integrations import IntegrationConnection
from reup_app.models.types import utcnow
from reup_app.services.integrations.vendor_access import dutchie_client
from reup_app.services.pos import store_data, velocity
from reup_app.services.pos.connections import record_identity
from reup_app.services.pos.matching import rematch

SALES_HORIZON = timedelta(days=90)
SALES_OVERLAP = timedelta(days=1)


class WrongLocation(Exception):
    """The stored key is another location's."""


def check_identity(ctx: SyncContext, connection: IntegrationConnection, client: DutchieClient) -> None:
    who = client.whoami()

    def write(session: Session) -> str:
        return record_identity(session, connection.license_id, who.location_name, who.license_number)

    warning = ctx.commit(write, cursor=None)
    if warning:
        raise WrongLocation(warning)


@sync_resource("dutchie", "products")
def sync_dutchie_products(ctx: SyncContext, connection: IntegrationConnection) -> None:
    client = dutchie_client(connection)
    check_identity(ctx, connection, client)
    sync_products(ctx, connection, client)


@sync_resource("dutchie", "inventory")
def sync_dutchie_inventory(ctx: SyncContext, connection: IntegrationConnection) -> None:
    client = dutchie_client(connection)
    check_identity(ctx, connection, client)
    sync_inventory(ctx, connection, client)


@sync_resource("dutchie", "sales")
def sync_dutchie_sales(ctx: SyncContext, connection: IntegrationConnection) -> None:
    client = dutchie_client(connection)
    check_identity(ctx, connection, client)
    sync_sales(ctx, connection, client)


def sync_products(ctx: SyncContext, connection: IntegrationConnection, client: DutchieClient) -> int:
    since = ctx.cursor_time(datetime.min.replace(tzinfo=UTC)) if ctx.cursor else None
    products = client.products(since)
    newest = max((p.last_modified for p in products if p.last_modified), default=since)
    license_id = connection.license_id

    def write(session: Session) -> int:
        n = store_data.apply_products(session, license_id, products)
        rematch(session, license_id)
        return n

    ctx.commit(write, cursor=iso(newest) if newest else None, seen=len(products), changed=len(products))
    return len(products)


def sync_inventory(
    ctx: SyncContext, connection: IntegrationConnection, client: DutchieClient, *, take: int = INVENTORY_PAGE
) -> int:
    def on_page(done: int, total: int) -> None:
        ctx.progress(done, total)

    items = list(client.inventory(take=take, on_page=on_page))
    license_id = connection.license_id

    def write(session: Session) -> int:
        n = store_data.apply_snapshot(session, license_id, items)
        rematch(session, license_id)
        return n

    written = ctx.commit(write, cursor=iso(utcnow()), seen=len(items))
    ctx.items_changed += written
    return len(items)


def _replace_day(session: Session, *, license_id: int, day, transactions) -> int:
    return store_data.replace_day(session, license_id, day, transactions)


def day_windows(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """[day, day + 1) UTC windows from start's day through end's day (the last one partial)."""
    day = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    out = []
    while day < end:
        out.append((day, day + timedelta(days=1)))
        day += timedelta(days=1)
    return out


def sync_sales(
    ctx: SyncContext,
    connection: IntegrationConnection,
    client: DutchieClient,
    *,
    now: datetime | None = None,
    on_day: Callable[[int], None] | None = None,
) -> int:
    now = now or utcnow()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    start = ctx.cursor_time(now - SALES_HORIZON) - SALES_OVERLAP if ctx.cursor else now - SALES_HORIZON
    windows = day_windows(max(start, now - SALES_HORIZON), now)
    license_id, lines = connection.license_id, 0
    for i, (begin, end) in enumerate(windows):
        txs = client.transactions(begin, min(end, now))
        n = sum(len(t.items) for t in txs)
        lines += n
        write = partial(_replace_day, license_id=license_id, day=begin.date(), transactions=txs)
        ctx.commit(write, cursor=iso(min(end, today)), seen=n, changed=n)
        if on_day:
            on_day(n)
        ctx.progress(i + 1, len(windows))

    def announce(session: Session) -> None:
        velocity.refresh_velocities(session, license_id, today.date())
        emit(session, POS_SYNCED, entity_ids=[connection.entity_id], payload={"license_id": license_id})

    ctx.commit(announce, cursor=None)
    return lines
