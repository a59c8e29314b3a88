"""The embedded default: without Redis (and with REUP_EMBEDDED_WORKER=1) the app process runs the job
worker itself, so a sync started by the scheduler pushes its progress over the in-process bus; with
Redis configured it stays out of the way (`reup worker` runs the jobs)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from sqlmodel import Session, select

from reup_app.events.kinds import SYNC_PROGRESS
from reup_app.jobs import embedded, scheduler, sync_registry
from reup_app.jobs.sync_registry import sync_resource, unregister
from reup_app.models.integrations import IntegrationConnection, SyncRun
from reup_app.settings import get_settings
from tests.factories import make_entity, make_license
from tests.integration.orderkit import EventLog

ROOT = Path(__file__).resolve().parents[2]


def _settings(**changes):
    return get_settings().model_copy(update={"embedded_worker": True, "redis_url": None, **changes})


def test_it_runs_only_when_asked_and_without_redis():
    assert embedded.wanted(_settings())
    assert not embedded.wanted(_settings(embedded_worker=False))
    assert not embedded.wanted(_settings(redis_url="redis://127.0.0.1:6379/0"))


def test_the_lifespan_task_does_nothing_with_redis(monkeypatch):
    monkeypatch.setattr(embedded, "get_settings", lambda: _settings(redis_url="redis://127.0.0.1:6379/0"))

    async def enter():
        async with embedded.embedded_worker_task() as worker:
            return worker

    assert asyncio.run(enter()) is None


def test_the_scheduler_in_the_app_process_runs_syncs_and_pushes_progress(session, engine, monkeypatch):
    provider = f"e{uuid.uuid4().hex[:8]}"
    entity = make_entity(session, "wholesaler")
    conn = IntegrationConnection(
        entity_id=entity.id,
        license_id=make_license(session, entity).id,
        provider=provider,
        base_url="http://127.0.0.1:9",
        credentials_encrypted="unused",
    )
    session.add(conn)
    session.commit()
    ran_on: list[str] = []
    # Only this test's provider syncs (other tests' METRC connections are left alone).
    monkeypatch.setattr(sync_registry, "_RESOURCES", {})

    @sync_resource(provider, "windows")
    def sync_windows(ctx, connection):
        ran_on.append(threading.current_thread().name)
        for done in (1, 2):
            ctx.commit(None, cursor=str(done), seen=5, changed=1)
            ctx.progress(done, 2, force=True)

    # Only the sync pass, so this test never sends other tests' outbox rows or e-mails.
    only_syncs = tuple(j for j in scheduler.JOBS if j.id == "run_syncs")
    monkeypatch.setattr(scheduler, "JOBS", only_syncs)
    monkeypatch.setattr(embedded, "get_settings", _settings)
    try:
        with EventLog() as log:

            async def lifespan():
                async with embedded.embedded_worker_task() as worker:
                    assert worker is not None and worker.alive
                    deadline = time.monotonic() + 30
                    while time.monotonic() < deadline and not any(
                        e.payload.get("finished") for e in log.of(SYNC_PROGRESS)
                    ):
                        await asyncio.sleep(0.1)
                return worker

            worker = asyncio.run(lifespan())
    finally:
        unregister(provider, "windows")
    assert not worker.alive  # the lifespan's end stopped it
    assert ran_on and ran_on[0].startswith("sync")  # the worker's pool, in this process
    progress = [e.payload for e in log.of(SYNC_PROGRESS) if e.payload["connection_id"] == conn.id]
    assert [(p["done"], p["total"], p["finished"]) for p in progress] == [(1, 2, False), (2, 2, False), (0, 0, True)]
    with Session(engine) as s:
        run = s.exec(select(SyncRun).where(SyncRun.connection_id == conn.id)).one()
    assert (run.status, run.items_seen, run.items_changed) == ("succeeded", 10, 2)


def test_the_app_registers_the_embedded_worker():
    code = (
        "import reup_app.reup_app as m\n"
        "print('registered:', any(getattr(t, '__name__', '') == 'embedded_worker_task' for t in m.app._lifespan_tasks))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "REFLEX_TELEMETRY_ENABLED": "false"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "registered: True" in result.stdout
