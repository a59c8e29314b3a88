"""Several real worker processes: the leader lease (SIGKILL the leader, a standby takes over within
30 s, the dead leader's fencing token is refused afterwards) and the METRC GET budget shared through
Redis by two processes (never exceeded in any one-second window)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from sqlmodel import Session

from reup_app import migrations
from reup_app.db import build_engine
from reup_app.jobs.fencing import StaleLeader
from reup_app.jobs.outbox_sender import Fence, claim_due
from reup_app.models.outbox import OutboxMessage
from reup_app.services.integrations.outbox import enqueue
from tests.dbutil import REDIS_URL, drop_mysql_database, fresh_mysql_database
from tests.vendor_server import Reply, VendorServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def db_url():
    name = f"reup_workers_{uuid.uuid4().hex[:10]}"
    url = fresh_mysql_database(name)
    migrations.upgrade(url)
    yield url
    drop_mysql_database(name)


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    full = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=full, stdout=log.open("w"), stderr=subprocess.STDOUT)


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def holder(r: redis.Redis, key: str) -> tuple[int, int] | None:
    """(pid, token) of the lease holder."""
    raw = r.get(key)
    if not raw:
        return None
    owner, _, token = raw.decode().rpartition("|")
    return int(owner.split(":")[1]), int(token)


def sent_row(engine, message_id: int) -> OutboxMessage | None:
    with Session(engine) as s:
        row = s.get(OutboxMessage, message_id)
        return row if row and row.status == "sent" else None


def probe(engine, ref: str) -> int:
    with Session(engine) as s:
        mid = enqueue(s, "probe.echo", target_table="orders", target_id=1, payload={"ref": ref}, reference=ref).id
        s.commit()
        return mid


def test_standby_takes_over_within_30s_of_sigkill_and_fencing_refuses_the_dead_leader(db_url, tmp_path):
    channel = f"reup:test:{uuid.uuid4().hex[:8]}"
    env = {"REUP_DATABASE_URL": db_url, "REUP_REDIS_URL": REDIS_URL, "REUP_EVENT_CHANNEL": channel}
    r = redis.Redis.from_url(REDIS_URL)
    key = f"{channel}:lease:scheduler"
    engine = build_engine(db_url)
    a = spawn(["tests/worker_probe.py"], env, tmp_path / "a.log")
    b = None
    try:
        pid_a, token_a = wait_for(lambda: holder(r, key), 60, "the first worker to lead")
        assert pid_a == a.pid
        b = spawn(["tests/worker_probe.py"], env, tmp_path / "b.log")
        first = probe(engine, uuid.uuid4().hex)
        row = wait_for(lambda: sent_row(engine, first), 30, "the leader to send the outbox row")
        assert row.fencing_token == token_a and f'"pid": {a.pid}' in row.result
        assert holder(r, key) == (a.pid, token_a)  # the standby did not take over a live lease

        a.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        pid_b, token_b = wait_for(lambda: (h := holder(r, key)) and h[0] == b.pid and h, 30, "the standby to lead")
        took = time.monotonic() - killed
        assert pid_b == b.pid and token_b > token_a and took < 30, took

        second = probe(engine, uuid.uuid4().hex)
        row = wait_for(lambda: sent_row(engine, second), 30, "the new leader to send")
        assert row.fencing_token == token_b and f'"pid": {b.pid}' in row.result
        with pytest.raises(StaleLeader):
            claim_due(engine, Fence(token_a, name=key))  # what the dead leader would do if it came back
    finally:
        for p in (a, b):
            if p and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=30)
        engine.dispose()
        r.close()
    assert b.returncode == 0, (tmp_path / "b.log").read_text()[-2000:]
    assert holder(redis.Redis.from_url(REDIS_URL), key) is None  # released on clean shutdown


def _max_per_second(times: list[float]) -> int:
    times = sorted(times)
    return max((sum(1 for u in times if t <= u < t + 1.0) for t in times), default=0)


@pytest.mark.parametrize(
    ("licenses", "facility", "vendor", "binding"),
    [(["LIC-A", "LIC-A"], 20, 100, 20), (["LIC-A", "LIC-B"], 20, 25, 25)],
    ids=["facility-budget", "vendor-budget"],
)
def test_two_processes_share_the_metrc_get_budget(tmp_path, licenses, facility, vendor, binding):
    prefix = f"reup:test:{uuid.uuid4().hex[:8]}:"
    with VendorServer(lambda req: Reply(200, [{"Name": "Wholesale Manifest"}])) as server:
        procs = [
            spawn(
                ["tests/rate_probe.py", server.url, REDIS_URL, lic, "4", str(facility), str(vendor), prefix],
                {},
                tmp_path / f"p{i}.log",
            )
            for i, lic in enumerate(licenses)
        ]
        for p in procs:
            p.wait(timeout=60)
        assert all(p.returncode == 0 for p in procs), [(tmp_path / f"p{i}.log").read_text() for i in range(2)]
        times = [s.at for s in server.requests("GET")]
    calls = [int((tmp_path / f"p{i}.log").read_text().split()[-1]) for i in range(2)]
    assert all(c > 10 for c in calls)  # both processes got a share
    assert _max_per_second(times) <= binding
    span = max(times) - min(times)
    assert len(times) / span >= 0.8 * binding  # and the budget is used, not wasted
