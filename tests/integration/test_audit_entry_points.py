"""Every process that writes data installs the ORM audit listener at start-up (`reup_app.db` no
longer does it on import): the app module, the `reup` CLI and the job worker, each run as a real
process against a fresh MySQL database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from reup_app.db import build_engine
from reup_app.models import AuditLog, License, User
from tests.dbutil import drop_mysql_database, fresh_mysql_database
from tests.factories import make_entity, make_license

ROOT = Path(__file__).resolve().parents[2]
CHECK_LISTENER = """
from sqlalchemy import event
from sqlmodel import Session
from reup_app.services.audit import trail
import reup_app.db, reup_app.services
print("after import:", event.contains(Session, "after_flush", trail._after_flush))
import {entry}
print("after start-up:", event.contains(Session, "after_flush", trail._after_flush))
"""


def _env(url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REUP_")}
    if url:
        env["REUP_DATABASE_URL"] = url
    return env


def reup(*args: str, url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "reup_app.cli", *args],
        cwd=ROOT,
        env=_env(url),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def mysql_db():
    name = f"reup_audit_{uuid.uuid4().hex[:10]}"
    url = fresh_mysql_database(name)
    assert reup("migrate", url=url).returncode == 0
    yield url
    drop_mysql_database(name)


def _audit_rows(url: str, table: str, row_id: int) -> list[AuditLog]:
    engine = build_engine(url)
    try:
        with Session(engine) as s:
            query = select(AuditLog).where(col(AuditLog.table_name) == table, col(AuditLog.row_id) == str(row_id))
            return list(s.exec(query).all())
    finally:
        engine.dispose()


@pytest.mark.parametrize("entry", ["reup_app.reup_app", "reup_app.cli"])
def test_importing_the_database_layer_installs_nothing_the_entry_point_does(entry):
    code = CHECK_LISTENER.format(entry=entry)
    if entry == "reup_app.cli":
        code += "reup_app.cli.main(['check-config'])\nprint('after main:', event.contains(Session, 'after_flush', trail._after_flush))\n"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr
    assert "after import: False" in result.stdout
    if entry == "reup_app.cli":  # the CLI installs it when a command runs
        assert "after main: True" in result.stdout
    else:
        assert "after start-up: True" in result.stdout


@pytest.mark.mysql
def test_cli_writes_are_audited(mysql_db):
    created = reup(
        "create-admin",
        "--email",
        "audit-ops@example.com",
        "--name",
        "Ops",
        "--password",
        "Harbor-Lights-2031",
        url=mysql_db,
    )
    assert created.returncode == 0, created.stderr
    engine = build_engine(mysql_db)
    try:
        with Session(engine) as s:
            user = s.exec(select(User).where(User.email == "audit-ops@example.com")).one()
    finally:
        engine.dispose()
    [row] = _audit_rows(mysql_db, "users", user.id)
    assert row.action == "insert"
    changes = json.loads(row.changes)
    assert changes["email"] == [None, "audit-ops@example.com"]
    assert changes["password_hash"] == [None, "[redacted]"]


@pytest.mark.mysql
def test_worker_job_writes_are_audited(mysql_db):
    engine = build_engine(mysql_db)
    try:
        with Session(engine, expire_on_commit=False) as s:
            lapsed = make_license(s, make_entity(s, "wholesaler"), expires_on=date.today() - timedelta(days=2))
        proc = subprocess.Popen(
            [sys.executable, "-m", "reup_app.cli", "worker"],
            cwd=ROOT,
            env=_env(mysql_db),  # no Redis: a single worker runs the job at start
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            deadline = time.monotonic() + 60
            status = "active"
            while time.monotonic() < deadline and status == "active" and proc.poll() is None:
                time.sleep(0.3)
                with Session(engine) as s:
                    status = s.get(License, lapsed.id).status
            assert status == "expired"
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
    finally:
        engine.dispose()
    updates = [r for r in _audit_rows(mysql_db, "licenses", lapsed.id) if r.action == "update"]
    assert [json.loads(r.changes)["status"] for r in updates] == [["active", "expired"]]
