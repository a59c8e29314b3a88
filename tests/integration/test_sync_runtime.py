"""Recorded syncs: a sync_runs row per run (counts, duration, error), cursors that move only with
the data they cover (a crash replays, never skips), throttled progress events to the owning entity,
bounded per-connection concurrency, and the registry the run_syncs job walks."""

from __future__ import annotations

import random
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from reup_app.backoff import retry_delay
from reup_app.events.bus import InProcessBus, set_bus
from reup_app.events.kinds import SYNC_PROGRESS
from reup_app.jobs.fencing import StaleLeader
from reup_app.jobs.outbox_sender import Fence
from reup_app.jobs.sync import run_bounded, run_sync
from reup_app.jobs.sync_registry import run_registered_syncs, sync_resource, unregister
from reup_app.models.integrations import IntegrationConnection, SyncCursor, SyncRun, WebhookReceipt
from reup_app.models.types import utcnow
from tests.factories import make_entity, make_license

T0 = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def connection(session):
    entity = make_entity(session, "wholesaler")
    lic = make_license(session, entity)
    conn = IntegrationConnection(
        entity_id=entity.id,
        license_id=lic.id,
        provider=f"t{uuid.uuid4().hex[:8]}",
        base_url="http://127.0.0.1:9",
        credentials_encrypted="not-used-here",
    )
    session.add(conn)
    session.commit()
    return conn


@pytest.fixture(autouse=True)
def _only_this_tests_syncs(monkeypatch):
    """An empty sync registry per test: real resources registered on import (METRC packages, ...)
    would otherwise run against other tests' connections in this database."""
    from reup_app.jobs import sync_registry

    monkeypatch.setattr(sync_registry, "_RESOURCES", {})


@pytest.fixture
def fence():
    return Fence(1, name=f"t-{uuid.uuid4().hex[:8]}")


def windows_job(source: list[str], crash_at: str | None, provider: str):
    """A sync over day-windows: each window's rows (stand-in data: webhook receipts) and the cursor
    commit together; `crash_at` raises after that window's data was fetched, before its commit."""

    def fn(ctx):
        start = ctx.cursor_time(T0)
        days = [d for d in source if datetime.fromisoformat(d) >= start]
        for i, day in enumerate(days):
            if day == crash_at:
                raise RuntimeError(f"worker died in window {day}")
            end = (datetime.fromisoformat(day) + timedelta(days=1)).isoformat()

            def write(s, day=day):
                s.add(WebhookReceipt(provider=provider, external_event_id=day, payload="{}"))

            ctx.commit(write, cursor=end, seen=1, changed=1)
            ctx.progress(i + 1, len(days))

    return fn


def test_crash_replays_from_the_cursor_and_runs_are_recorded(engine, connection, fence):
    days = [(T0 + timedelta(days=i)).isoformat() for i in range(5)]
    run1 = run_sync(
        engine, fence, connection_id=connection.id, resource="r", fn=windows_job(days, days[3], connection.provider)
    )
    assert run1.status == "failed" and "window" in run1.error and run1.items_seen == 3
    assert run1.finished_at >= run1.started_at and run1.fencing_token == fence.token
    with Session(engine) as s:
        cursor = s.exec(select(SyncCursor).where(SyncCursor.connection_id == connection.id)).one()
        assert cursor.cursor_value == days[3]  # end of the last committed window
        assert s.get(IntegrationConnection, connection.id).status == "error"
    run2 = run_sync(
        engine, fence, connection_id=connection.id, resource="r", fn=windows_job(days, None, connection.provider)
    )
    assert run2.status == "succeeded" and run2.items_seen == 2 and run2.error is None
    with Session(engine) as s:
        stored = s.exec(
            select(WebhookReceipt.external_event_id).where(WebhookReceipt.provider == connection.provider)
        ).all()
        assert sorted(stored) == days  # every window exactly once
        assert s.get(IntegrationConnection, connection.id).status == "ok"


def test_cursor_does_not_move_when_the_data_write_fails(engine, connection, fence):
    def fn(ctx):
        ctx.commit(lambda s: None, cursor="2026-11-02T00:00:00+00:00", seen=1)

        def bad(s):
            s.add(WebhookReceipt(provider=connection.provider, external_event_id="dup", payload="{}"))
            s.flush()
            s.add(WebhookReceipt(provider=connection.provider, external_event_id="dup", payload="{}"))

        ctx.commit(bad, cursor="2026-11-03T00:00:00+00:00", seen=1)

    run = run_sync(engine, fence, connection_id=connection.id, resource="r2", fn=fn)
    assert run.status == "failed" and "IntegrityError" in run.error and run.items_seen == 1
    with Session(engine) as s:
        cur = s.exec(
            select(SyncCursor).where(SyncCursor.connection_id == connection.id, SyncCursor.resource == "r2")
        ).one()
        assert cur.cursor_value == "2026-11-02T00:00:00+00:00"


def test_stale_fence_refuses_cursor_moves(engine, connection):
    name = f"t-{uuid.uuid4().hex[:8]}"
    run_sync(engine, Fence(5, name), connection_id=connection.id, resource="r3", fn=lambda ctx: None)
    with pytest.raises(StaleLeader):
        run_sync(engine, Fence(4, name), connection_id=connection.id, resource="r3", fn=lambda ctx: None)


def test_progress_is_throttled_and_goes_to_the_owning_entity(engine, connection, fence):
    bus = InProcessBus()
    got: list = []
    bus.subscribe(got.append)
    set_bus(bus)
    try:

        def fn(ctx):
            for i in range(1, 41):
                ctx.progress(i, 40)
                time.sleep(0.02)

        run_sync(engine, fence, connection_id=connection.id, resource="r4", fn=fn)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and not any(e.payload.get("finished") for e in got):
            time.sleep(0.05)
    finally:
        set_bus(None)
    events = [e for e in got if e.kind == SYNC_PROGRESS]
    progress = [e for e in events if not e.payload["finished"]]
    assert 2 <= len(progress) <= 5  # ~0.8 s of work at one event per 0.5 s, plus the final one
    assert progress[-1].payload == {
        "connection_id": connection.id,
        "resource": "r4",
        "done": 40,
        "total": 40,
        "finished": False,
    }
    assert events[-1].payload["finished"] is True  # the recorded run ends the bar
    assert all(e.entity_ids == (connection.entity_id,) for e in events)


def test_bounded_concurrency_and_isolation():
    active, peak = [0], [0]
    lock = threading.Lock()

    def work(i):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1
        if i == 3:
            raise ValueError("one connection broke")
        return i

    results = run_bounded(range(10), work, max_workers=3)
    assert peak[0] == 3 and isinstance(results[3], ValueError) and results[9] == 9


def test_registered_syncs_run_per_enabled_connection(engine, connection, fence):
    seen: list[int] = []

    @sync_resource(connection.provider, "things")
    def things(ctx, conn):
        seen.append(conn.id)
        ctx.commit(None, cursor=utcnow().isoformat(), seen=2, changed=1)

    try:
        assert run_registered_syncs(engine, fence, max_workers=2) == 1
    finally:
        unregister(connection.provider, "things")
    with Session(engine) as s:
        run = s.exec(select(SyncRun).where(SyncRun.connection_id == connection.id)).one()
    assert seen == [connection.id] and run.resource == "things" and (run.items_seen, run.items_changed) == (2, 1)


def test_retry_pass_only_takes_connections_marked_retry(engine, connection, fence):
    seen: list[int] = []

    @sync_resource(connection.provider, "things")
    def things(ctx, conn):
        seen.append(conn.id)

    try:
        assert run_registered_syncs(engine, fence, status="retry") == 0
        with Session(engine) as s:
            s.get(IntegrationConnection, connection.id).status = "retry"
            s.commit()
        assert run_registered_syncs(engine, fence, status="retry") == 1
    finally:
        unregister(connection.provider, "things")
    with Session(engine) as s:
        assert s.get(IntegrationConnection, connection.id).status == "ok" and seen == [connection.id]


def test_failing_connection_backs_off_with_the_shared_policy(engine, connection, fence):
    from reup_app.jobs.sync_registry import is_due

    calls: list[int] = []

    @sync_resource(connection.provider, "things")
    def things(ctx, conn):
        calls.append(1)
        raise RuntimeError("vendor down")

    try:
        for _ in range(6):  # six failures in a row: the next delay is drawn from [0, 300 * 2**5] s
            run_sync(
                engine, fence, connection_id=connection.id, resource="things", fn=lambda ctx: things(ctx, connection)
            )
        with Session(engine) as s:
            conn = s.get(IntegrationConnection, connection.id)
            last = s.exec(select(SyncRun).where(SyncRun.connection_id == conn.id).order_by(SyncRun.id.desc())).first()
            # the delay the shared policy draws for the 6th failure of this connection (fixed per count)
            delay = retry_delay(6, base=300, cap=6 * 3600, rng=random.Random(f"{conn.id}:6"))
            assert delay <= 300 * 2**5
            assert not is_due(s, conn, last.finished_at + timedelta(seconds=delay - 1))
            assert is_due(s, conn, last.finished_at + timedelta(seconds=delay + 1))
        before = len(calls)
        run_registered_syncs(engine, fence)  # now is inside the wait unless the draw was under a second
        assert len(calls) - before == (1 if delay < 1 else 0)
    finally:
        unregister(connection.provider, "things")
