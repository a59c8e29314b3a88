"""Exactly once under a crash: a real `reup worker` process is SIGKILLed after METRC applied the template
POST but before the worker recorded it; a new worker reconciles by the template's Name, adopts it, and the
manifest goes on to its manifest number. One template exists in the sandbox."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import update

from reup_app.models import OutboxMessage
from reup_app.models.types import utcnow
from tests.dbutil import REDIS_URL
from tests.integration.metrc_transfer_kit import (
    DRIVER,
    fulfilled_trade,
    manifest_of,
    outbox_row,
    sandbox_settings,
    ship,
    templates_named,
)
from tests.integration.orderkit import fresh
from tests.sandboxes import MetrcSandbox

ROOT = Path(__file__).resolve().parents[2]
WORKER = "import sys; from reup_app.cli import main; sys.exit(main(['worker']))"


@pytest.fixture
def metrc_env(metrc_sandbox):
    yield from sandbox_settings(metrc_sandbox)


def spawn_worker(db_url: str, channel: str, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "REUP_DATABASE_URL": db_url,
        "REUP_REDIS_URL": REDIS_URL,
        "REUP_EVENT_CHANNEL": channel,
        "REUP_METRC_VENDOR_KEY": MetrcSandbox.VENDOR_KEY,
        "REUP_METRC_TIMEOUT_SECONDS": "60",  # the stalled POST keeps the worker waiting until it is killed
        "REUP_METRC_TRANSFER_POLL_SECONDS": "1",
        "REUP_WORKER_LEASE_TTL_MS": "2000",
        "REUP_WORKER_POLL_SECONDS": "0.5",
    }
    return subprocess.Popen(
        [sys.executable, "-c", WORKER], cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_worker_killed_between_metrc_answer_and_commit_creates_one_template(
    session, engine, mysql_url, metrc_env, tmp_path
):
    sb = metrc_env
    trade = fulfilled_trade(session, engine, sb)
    ship(engine, trade, **DRIVER)
    sb.fault(path_prefix="/transfers/v2/templates", stall_after_write=1, stall_seconds=120)
    channel = f"reup:test:{uuid.uuid4().hex[:8]}"
    first = spawn_worker(mysql_url, channel, tmp_path / "first.log")
    second = None
    try:
        wait_for(lambda: templates_named(sb, trade.name), 60, "METRC to apply the template POST")
        assert outbox_row(engine, trade.name).status == "sending"  # the answer has not come back yet
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert manifest_of(engine, trade.number).status == "pending"  # nothing was recorded
        with fresh(engine) as s:  # the claim timeout of the dead sender's row has passed
            s.execute(
                update(OutboxMessage).where(OutboxMessage.reference == trade.name).values(next_attempt_at=utcnow())
            )
            s.commit()

        second = spawn_worker(mysql_url, channel, tmp_path / "second.log")
        row = wait_for(
            lambda: (r := outbox_row(engine, trade.name)) and r.status == "sent" and r, 60, "the restarted worker"
        )
        assert json.loads(row.result)["adopted"] is True and row.attempts == 2
        [template] = templates_named(sb, trade.name)  # exactly one template: adopted, not posted again
        assert manifest_of(engine, trade.number).template_id == str(template["Id"])

        transfer = sb.register_template(template["Id"])
        m = wait_for(
            lambda: (m := manifest_of(engine, trade.number)).status == "accepted" and m, 30, "the manifest number"
        )
        assert m.manifest_number == transfer["ManifestNumber"]
        assert len(templates_named(sb, trade.name)) == 1
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
