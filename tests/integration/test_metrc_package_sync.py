"""The METRC package sync against the sandbox over a real socket, into MySQL: lots updated by label,
unmatched packages listed and mapped (remembered), on hold / failed lab -> unsellable with a live
inventory.changed event, conflicts never oversold, incremental cursors with crash replay, windows
(<= 24 h, oldest first), paging faults, 429 storms and two workers sharing the vendor budget."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import select, update
from sqlmodel import Session

from reup_app.errors import PermissionDenied
from reup_app.integrations.metrc.client import MetrcClient, MetrcCredentials, MetrcLimits
from reup_app.integrations.metrc.records import Package, PackageItem
from reup_app.jobs.fencing import check_fence
from reup_app.jobs.metrc_packages import sync_packages
from reup_app.jobs.outbox_sender import Fence
from reup_app.jobs.sync import run_sync
from reup_app.jobs.sync_registry import registered
from reup_app.models import IntegrationConnection, InventoryLot, Product
from reup_app.models.integrations import SyncCursor
from reup_app.models.metrc_sync import InventoryConflict, MetrcItemMapping, MetrcPackage
from reup_app.models.types import utcnow
from reup_app.services.catalog import product_detail
from reup_app.services.inventory import metrc_mapping
from reup_app.services.inventory.lots import StockLock
from reup_app.services.inventory.metrc_sync import SyncTarget, apply_packages
from tests.factories import make_entity, make_lot, make_member, make_product
from tests.integration.orderkit import EventLog, call
from tests.metrc_kit import BENCH_USER_KEY, iso, make_metrc_connection_for_sync, new_package_label
from tests.sandboxes import MetrcSandbox

pytestmark = pytest.mark.usefixtures("metrc_sandbox")


@pytest.fixture(autouse=True)
def _disable_connections_after(engine, metrc_sandbox):
    """Leave no enabled METRC connection behind: other tests' `run_registered_syncs` passes walk every
    enabled connection of a registered provider in this database."""
    yield
    with Session(engine) as s:
        s.execute(
            update(IntegrationConnection)
            .where(IntegrationConnection.base_url == metrc_sandbox.base_url)
            .values(enabled=False)
        )
        s.commit()


@pytest.fixture
def facility(metrc_sandbox) -> str:
    """A fresh sandbox facility (no packages) reached with the bench user key."""
    return metrc_sandbox.bulk(facilities=1, packages=0, days=1)["facilities"][0]


@pytest.fixture
def client(metrc_sandbox, redis_url) -> MetrcClient:
    return MetrcClient(
        metrc_sandbox.base_url, MetrcCredentials(MetrcSandbox.VENDOR_KEY, BENCH_USER_KEY), redis_url=redis_url
    )


def sync(engine, conn, client, fence=None, **kw):
    """One recorded sync run, started in a later whole second than the packages just written (a
    window ends at a whole second: a package modified in the same second waits for the next run)."""
    time.sleep(1.02 - time.time() % 1)
    fence = fence or Fence(1, name=f"t-{uuid.uuid4().hex[:8]}")
    return run_sync(
        engine, fence, connection_id=conn.id, resource="packages", fn=lambda ctx: sync_packages(ctx, conn, client, **kw)
    )


def add(sb: MetrcSandbox, number: str, item: str = "Widget Kush 3.5g", **fields) -> str:
    label = fields.pop("label", None) or new_package_label()
    sb.create_package(license_number=number, label=label, item=item, **fields)
    return label


def lot(engine, label: str) -> InventoryLot | None:
    with Session(engine) as s:
        return s.execute(select(InventoryLot).where(InventoryLot.package_label == label)).scalar_one_or_none()


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def gets(sb: MetrcSandbox) -> int:
    return sum(n for path, n in sb.calls()["by_path"].items() if path.startswith("GET /packages/v2/"))


def test_first_sync_updates_lots_lists_unmatched_and_remembers_the_mapping(
    engine, session, metrc_sandbox, facility, client
):
    assert "packages" in registered("metrc")
    entity, lic, conn = make_metrc_connection_for_sync(session, metrc_sandbox, facility)
    _, owner = make_member(session, entity, "owner")
    _, fulfillment = make_member(session, entity, "fulfillment")
    known = make_product(session, entity)
    gummies = make_product(session, entity, name="Gummies 10pk")
    held = make_lot(session, known, lic, D("100"), lab_test_state="not_submitted")
    add(metrc_sandbox, facility, label=held.package_label, quantity=40, lab_state="TestPassed")
    new = [add(metrc_sandbox, facility, "Gummies 10pk", quantity=12, lab_state="SubmittedForTesting") for _ in "ab"]
    gone = add(metrc_sandbox, facility, "Old Item", quantity=3)
    metrc_sandbox.set_package(facility, gone, finished=True)

    run = sync(engine, conn, client)
    assert run.status == "succeeded", run.error
    assert run.items_seen == 4 and run.items_changed == 4
    got = lot(engine, held.package_label)
    assert (got.quantity_on_hand, got.quantity_available, got.lab_test_state) == (D(40), D(40), "passed")
    with Session(engine) as s:
        assert s.get(Product, known.id).available_qty == D(40)
    items = {i.item_name: i for i in call(engine, owner, metrc_mapping.list_unmatched)}
    assert set(items) == {"Gummies 10pk", "Old Item"}
    assert items["Gummies 10pk"].package_count == 2 and items["Gummies 10pk"].quantity == D(24)
    assert items["Old Item"].quantity == D(0)  # inactive: nothing to sell
    assert sorted(items["Gummies 10pk"].labels) == sorted(new) and items["Gummies 10pk"].license_numbers == [facility]

    outsider = make_member(session, make_entity(session, "wholesaler"), "owner")[1]
    with pytest.raises(Exception, match="not found"):  # another seller's product: not found
        call(engine, outsider, metrc_mapping.map_item, "Gummies 10pk", gummies.id)
    buyer = make_member(session, entity, "buyer")[1]
    with pytest.raises(PermissionDenied):
        call(engine, buyer, metrc_mapping.map_item, "Gummies 10pk", gummies.id)
    assert call(engine, fulfillment, metrc_mapping.map_item, "Gummies 10pk", gummies.id) == 2
    for label in new:
        row = lot(engine, label)
        assert (row.product_id, row.license_id, row.quantity_available, row.lab_test_state) == (
            gummies.id,
            lic.id,
            D(12),
            "submitted",
        )
    # remembered: a later package of the same item becomes a lot by itself
    later = add(metrc_sandbox, facility, "Gummies 10pk", quantity=5, strain="Sour Diesel")
    assert sync(engine, conn, client).status == "succeeded"
    assert lot(engine, later).product_id == gummies.id
    assert call(engine, owner, metrc_mapping.item_mappings) == {"Gummies 10pk": gummies.id}
    assert {i.item_name for i in call(engine, owner, metrc_mapping.list_unmatched)} == {"Old Item"}
    with Session(engine) as s:
        assert s.get(Product, gummies.id).available_qty == D(29)


def test_on_hold_and_failed_lab_make_the_package_unsellable_at_once_with_a_live_event(
    engine, session, metrc_sandbox, facility, client
):
    entity, lic, conn = make_metrc_connection_for_sync(session, metrc_sandbox, facility)
    product = make_product(session, entity, listing_state="available")
    a, b = (make_lot(session, product, lic, D("10")) for _ in "ab")
    for x in (a, b):
        add(metrc_sandbox, facility, label=x.package_label, quantity=10, lab_state="TestPassed")
    assert sync(engine, conn, client).status == "succeeded"
    metrc_sandbox.set_package(facility, a.package_label, on_hold=True)
    metrc_sandbox.set_package(facility, b.package_label, lab_state="TestFailed")
    with EventLog() as log:
        assert sync(engine, conn, client).status == "succeeded"
    assert lot(engine, a.package_label).on_hold is True
    assert lot(engine, b.package_label).lab_test_state == "failed"
    events = log.of("inventory.changed")
    assert [e.payload["product_ids"] for e in events] == [[product.id]]
    assert events[0].entity_ids == (entity.id,) and events[0].payload["public"] is True
    with Session(engine) as s:
        today = utcnow().date()
        assert not any(StockLock.sellable(lot(engine, x.package_label), lic.id, today) for x in (a, b))
        _qty, _state, lots = product_detail.availability(s, None, product.id)
        assert lots == []  # the product page offers neither package any more


def test_metrc_holding_less_than_reserved_is_a_conflict_and_never_oversold(
    engine, session, metrc_sandbox, facility, client
):
    entity, lic, conn = make_metrc_connection_for_sync(session, metrc_sandbox, facility)
    _, owner = make_member(session, entity, "owner")
    product = make_product(session, entity)
    row = make_lot(session, product, lic, D("10"))
    row.quantity_reserved, row.quantity_available = D(8), D(2)
    product.available_qty = D(2)
    session.add_all([row, product])
    session.commit()
    add(metrc_sandbox, facility, label=row.package_label, quantity=5)

    assert sync(engine, conn, client).status == "succeeded"
    got = lot(engine, row.package_label)
    assert (got.quantity_on_hand, got.quantity_reserved, got.quantity_available) == (D(8), D(8), D(0))
    conflicts = call(engine, owner, metrc_mapping.open_conflicts)
    assert len(conflicts) == 1 and conflicts[0].package_label == row.package_label
    assert conflicts[0].message.startswith(f"METRC now holds 5 of package {row.package_label}, but 8 are reserved")
    assert "3 can't be filled" in conflicts[0].message
    assert sync(engine, conn, client).status == "succeeded"  # the same figures: still one conflict
    assert len(call(engine, owner, metrc_mapping.open_conflicts)) == 1
    with Session(engine) as s:
        assert s.get(Product, product.id).available_qty == D(0)

    metrc_sandbox.set_package(facility, row.package_label, quantity=20)  # METRC corrected
    assert sync(engine, conn, client).status == "succeeded"
    got = lot(engine, row.package_label)
    assert (got.quantity_on_hand, got.quantity_available) == (D(20), D(12))
    assert call(engine, owner, metrc_mapping.open_conflicts) == []
    metrc_sandbox.set_package(facility, row.package_label, finished=True)  # transferred away in METRC
    assert sync(engine, conn, client).status == "succeeded"
    got = lot(engine, row.package_label)
    assert (got.quantity_on_hand, got.quantity_available) == (D(8), D(0))
    with Session(engine) as s:
        assert s.execute(select(InventoryConflict).where(InventoryConflict.lot_id == row.id)).scalars().all()[
            -1
        ].metrc_quantity == D(0)


def _record_windows(client: MetrcClient) -> list[tuple[str, str, str]]:
    """(state, lastModifiedStart, lastModifiedEnd) of every package GET, read off the real requests."""
    seen: list[tuple[str, str, str]] = []

    def hook(request):
        if "/packages/v2/" in request.url.path:
            q = request.url.params
            seen.append((request.url.path.rsplit("/", 1)[-1], q["lastModifiedStart"], q["lastModifiedEnd"]))

    client.requestor.transport._client.event_hooks["request"].append(hook)
    return seen


def test_incremental_windows_oldest_first_and_a_crash_replays(engine, session, metrc_sandbox, facility, client):
    entity, lic, conn = make_metrc_connection_for_sync(session, metrc_sandbox, facility)
    now = datetime.fromisoformat(metrc_sandbox.now())
    labels = []
    for days_ago in (3, 2, 1):  # one package in each of three past days
        metrc_sandbox.set_clock(iso(now - timedelta(days=days_ago)))
        labels.append(add(metrc_sandbox, facility, f"Day {days_ago}"))
    metrc_sandbox.set_clock(iso(now))
    seen = _record_windows(client)
    try:
        applied = []

        def crash(seconds, result, window):
            applied.append((window.start, window.end))
            if len(applied) == 28:  # after the window holding the first package (30-day horizon, oldest first)
                raise RuntimeError("worker died after committing a window")

        first = sync(engine, conn, client, on_write=crash)
        assert first.status == "failed" and "worker died" in first.error
        assert lot(engine, labels[0]) is None  # unmatched packages are stored, not lots
        with Session(engine) as s:
            stored = set(s.execute(select(MetrcPackage.label).where(MetrcPackage.license_id == lic.id)).scalars())
        assert stored == {labels[0]}
        requested = sorted({(_utc(w[1]), _utc(w[2])) for w in seen})
        assert all(e - s <= timedelta(hours=24) for s, e in requested)  # never over 24 h
        assert all(a[1] == b[0] for a, b in zip(requested, requested[1:], strict=False))  # back to back
        assert applied == requested[:28]  # applied oldest first (later ones were being fetched ahead)
        assert {w[0] for w in seen} == {"active", "onhold", "inactive"}
        with Session(engine) as s:
            cursor = s.execute(select(SyncCursor.cursor_value).where(SyncCursor.connection_id == conn.id)).scalar_one()
        crashed_at = _utc(cursor)
        assert crashed_at == applied[-1][1]  # the cursor is the end of the last committed window
        seen.clear()

        assert sync(engine, conn, client).status == "succeeded"  # replays from the cursor
        first_start = min(_utc(w[1]) for w in seen)
        assert first_start == crashed_at - timedelta(minutes=65)  # the look-back overlap
        with Session(engine) as s:
            stored = set(s.execute(select(MetrcPackage.label).where(MetrcPackage.license_id == lic.id)).scalars())
        assert stored == set(labels)

        seen.clear()
        before = gets(metrc_sandbox)
        newest = add(metrc_sandbox, facility, "Just Now")
        assert sync(engine, conn, client).status == "succeeded"
        assert len(seen) == 3 == gets(metrc_sandbox) - before  # one short window, three states
        start, end = (_utc(x) for x in seen[0][1:])
        assert end - start < timedelta(hours=2)
        with Session(engine) as s:
            assert s.execute(select(MetrcPackage).where(MetrcPackage.label == newest)).scalar_one()
    finally:
        client.requestor.transport._client.event_hooks["request"].clear()


@pytest.mark.parametrize("fault", [{"page_fault": "duplicate"}, {"page_fault": "shift", "shift": -1}])
def test_paging_with_duplicate_or_shifted_pages_syncs_each_package_once(
    engine, session, metrc_sandbox, facility, client, fault
):
    entity, lic, conn = make_metrc_connection_for_sync(session, metrc_sandbox, facility)
    labels = {add(metrc_sandbox, facility, "Paged Item", quantity=2) for _ in range(45)}
    metrc_sandbox.fault(**fault, page_fault_next=2, path_prefix="/packages/v2/active")  # pages 1 and 2
    assert sync(engine, conn, client, horizon=timedelta(minutes=30)).status == "succeeded"
    with Session(engine) as s:
        rows = s.execute(select(MetrcPackage.label).where(MetrcPackage.license_id == lic.id)).scalars().all()
    assert sorted(rows) == sorted(labels)
    _, owner = make_member(session, entity, "owner")
    [item] = call(engine, owner, metrc_mapping.list_unmatched)
    assert (item.package_count, item.quantity) == (45, D(90))


def test_429_storm_is_waited_out(engine, session, metrc_sandbox, facility, client):
    entity, lic, conn = make_metrc_connection_for_sync(session, metrc_sandbox, facility)
    product = make_product(session, entity)
    session.add(MetrcItemMapping(entity_id=entity.id, item_name="Storm Item", product_id=product.id))
    session.commit()
    labels = [add(metrc_sandbox, facility, "Storm Item", quantity=1) for _ in range(3)]
    metrc_sandbox.fault(storm_next=3, retry_after=1)  # within the transport's retry budget
    started = time.monotonic()
    run = sync(engine, conn, client, horizon=timedelta(hours=1))
    assert run.status == "succeeded", run.error
    assert time.monotonic() - started >= 3  # Retry-After honored each time
    assert metrc_sandbox.calls()["by_status"].get("429") == 3
    assert all(lot(engine, x).product_id == product.id for x in labels)

    later = add(metrc_sandbox, facility, "Storm Item", quantity=1)
    metrc_sandbox.fault(storm_seconds=30)  # longer than any retry budget: the run fails, nothing moves
    with Session(engine) as s:
        cursor = s.execute(select(SyncCursor.cursor_value).where(SyncCursor.connection_id == conn.id)).scalar_one()
    failed = sync(engine, conn, client)
    assert failed.status == "failed" and "RateLimited" in failed.error
    with Session(engine) as s:
        assert s.execute(select(SyncCursor.cursor_value).where(SyncCursor.connection_id == conn.id)).scalar_one() == (
            cursor
        )
    metrc_sandbox.fault(storm_seconds=0)
    assert sync(engine, conn, client).status == "succeeded"  # the next run picks it up
    assert lot(engine, later).product_id == product.id


def test_two_workers_syncing_different_facilities_share_the_vendor_budget(engine, session, metrc_sandbox, redis_url):
    numbers = metrc_sandbox.bulk(facilities=2, packages=1800, days=1)["facilities"]
    metrc_sandbox.settings(vendor_gets_per_second=60, facility_gets_per_second=50)
    conns = [make_metrc_connection_for_sync(session, metrc_sandbox, n)[2] for n in numbers]
    limits = MetrcLimits(facility_gets_per_second=50, vendor_gets_per_second=60)
    runs = []
    fence = Fence(1, name=f"t-{uuid.uuid4().hex[:8]}")  # the leader's one fence, as in the worker
    with Session(engine) as s:
        check_fence(s, fence.name, fence.token)
        s.commit()

    def worker(conn):  # each worker its own client (own limiter handle), one Redis between them
        c = MetrcClient(
            metrc_sandbox.base_url,
            MetrcCredentials(MetrcSandbox.VENDOR_KEY, BENCH_USER_KEY),
            limits=limits,
            redis_url=redis_url,
        )
        runs.append(sync(engine, conn, c, fence, horizon=timedelta(days=1)))

    threads = [threading.Thread(target=worker, args=(c,)) for c in conns]
    [t.start() for t in threads]
    [t.join(120) for t in threads]
    assert [r.status for r in runs] == ["succeeded", "succeeded"], [r.error for r in runs]
    calls = metrc_sandbox.calls()
    assert calls["by_status"].get("429", 0) == 0
    assert 0 < calls["peak_gets_per_second"] <= 60
    assert calls["by_facility"][numbers[0]] >= 45 and calls["by_facility"][numbers[1]] >= 45
    with Session(engine) as s:
        stored = s.execute(select(MetrcPackage.license_id).where(MetrcPackage.connection_id.in_([c.id for c in conns])))
        assert len(stored.all()) == 1800


def test_seller_page_state_lists_conflicts_and_maps_items(
    engine, session, metrc_sandbox, facility, client, monkeypatch
):
    from reup_app.state.seller_metrc import SellerMetrcState

    entity, lic, conn = make_metrc_connection_for_sync(session, metrc_sandbox, facility)
    _, fulfillment = make_member(session, entity, "fulfillment")
    _, viewer = make_member(session, entity, "viewer")
    product = make_product(session, entity, name="Sour Diesel 1g")
    row = make_lot(session, product, lic, D("4"))
    row.quantity_reserved, row.quantity_available = D(4), D(0)
    session.add(row)
    session.commit()
    add(metrc_sandbox, facility, label=row.package_label, quantity=1)
    waiting = add(metrc_sandbox, facility, "Pre-roll 5pk", quantity=7)
    assert sync(engine, conn, client).status == "succeeded"

    def as_member(principal):
        async def _principal(self):
            return principal

        monkeypatch.setattr(SellerMetrcState, "_principal", _principal)
        return SellerMetrcState()

    st = as_member(fulfillment)
    asyncio.run(st.load())
    assert [c["label"] for c in st.conflicts] == [row.package_label]
    assert "METRC now holds 1" in st.conflicts[0]["message"]
    assert [(i["item"], i["packages"], i["quantity"]) for i in st.items] == [("Pre-roll 5pk", "1", "7")]
    asyncio.run(st.map_item({"item": "Not Listed", "product_id": str(product.id)}))
    assert "no longer waiting" in st.error
    asyncio.run(st.map_item({"item": "Pre-roll 5pk", "product_id": "999999999"}))
    assert st.error == "Choose the product that Pre-roll 5pk is."
    asyncio.run(st.map_item({"item": ["x"], "product_id": 1}))
    assert "could not be read" in st.error
    asyncio.run(st.map_item({"item": "Pre-roll 5pk", "product_id": str(product.id)}))
    assert st.error == "" and "1 package(s) added" in st.notice and st.items == []
    assert lot(engine, waiting).product_id == product.id

    looker = as_member(viewer)  # may see conflicts, not map
    asyncio.run(looker.load())
    assert len(looker.conflicts) == 1 and looker.items == [] and looker.can_manage is False


def _package(label: str, quantity: int, item: str) -> Package:
    return Package(
        id=None,
        label=label,
        quantity=D(quantity),
        unit_of_measure="Each",
        lab_testing_state="TestPassed",
        is_on_hold=False,
        is_finished=False,
        item=PackageItem(None, item, None, None, "Each"),
        expiration_date="2031-01-02",
        last_modified=utcnow(),
        archived=False,
    )


def test_quotes_backslashes_and_percent_signs_reach_the_database_as_they_are(engine, session, facility, metrc_sandbox):
    """On MySQL the window's statements are rendered by the driver: labels and item names with quotes,
    backslashes and percent signs are created, found again, updated and kept waiting unchanged."""
    entity, lic, conn = make_metrc_connection_for_sync(session, metrc_sandbox, facility)
    product = make_product(session, entity)
    item = "Item 'A' \\ 100%"
    session.add(MetrcItemMapping(entity_id=entity.id, item_name=item, product_id=product.id))
    session.commit()
    sfx = uuid.uuid4().hex[:8].upper()
    labels = [f"1A4'{sfx}%s", f"1A4\\'{sfx};--", f"1A4%(x)s{sfx}", f'1A4"{sfx}%%']
    waiting = f"1A4'%{sfx}\\"
    target = SyncTarget(conn.id, entity.id, lic.id)
    results = []
    for quantity in (5, 7):
        with Session(engine) as s:
            packages = [_package(x, quantity, item) for x in labels] + [_package(waiting, 3, "Unmapped 'B' 5%")]
            results.append(apply_packages(s, target, packages))
            s.commit()
    assert (results[0].created, results[0].unmatched, results[1].updated, results[1].created) == (4, 1, 4, 0)
    with Session(engine) as s:
        lots = s.execute(select(InventoryLot).where(InventoryLot.license_id == lic.id)).scalars().all()
        kept = s.execute(select(MetrcPackage.label, MetrcPackage.item_name).where(MetrcPackage.license_id == lic.id))
        assert {x.package_label: (x.quantity_on_hand, x.expires_on) for x in lots} == {
            x: (D(7), date(2031, 1, 2)) for x in labels
        }
        assert [tuple(r) for r in kept] == [(waiting, "Unmapped 'B' 5%")]
        assert s.get(Product, product.id).available_qty == D(28)
