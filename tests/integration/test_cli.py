"""The `reup` command line, run as a real process (`python -m reup_app.cli`) against a fresh
MySQL database and a SQLite file."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlmodel import Session, SQLModel, select

import reup_app.models  # noqa: F401
from reup_app.db import build_engine
from reup_app.models import Entity, Product, User
from reup_app.security.passwords import verify_password
from reup_app.seed import DEMO_ACCOUNTS, DEMO_PASSWORD
from tests.dbutil import drop_mysql_database, fresh_mysql_database

ROOT = Path(__file__).resolve().parents[2]
GOOD_PASSWORD = "Harbor-Lights-2031"


def reup(*args: str, url: str, stdin: str | None = None, **env_overrides: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REUP_")}
    env["REUP_DATABASE_URL"] = url
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "-m", "reup_app.cli", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_clean_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 1, result
    err = result.stderr.strip()
    assert "Traceback" not in result.stderr, result.stderr
    last = err.splitlines()[-1]
    assert last.startswith("reup: error: "), err
    for fragment in fragments:
        assert fragment in last, last


def _users(url: str) -> dict[str, User]:
    engine = build_engine(url)
    try:
        with Session(engine) as s:
            return {u.email: u for u in s.exec(select(User)).all()}
    finally:
        engine.dispose()


@pytest.fixture
def mysql_db():
    name = f"reup_cli_{uuid.uuid4().hex[:10]}"
    url = fresh_mysql_database(name)
    yield url
    drop_mysql_database(name)


@pytest.fixture
def sqlite_db(tmp_path):
    return f"sqlite:///{tmp_path / 'reup.db'}"


def _migrate_seed_and_create_admin(url: str) -> None:
    # create-admin on an empty database says what to do instead of failing deep inside
    early = reup("create-admin", "--email", "ops@example.com", "--name", "Ops", "--password", GOOD_PASSWORD, url=url)
    assert_clean_error(early, "reup migrate")

    migrated = reup("migrate", url=url)
    assert migrated.returncode == 0, migrated.stderr
    assert "latest schema" in migrated.stdout
    engine = build_engine(url)
    try:
        assert set(inspect(engine).get_table_names()) == set(SQLModel.metadata.tables) | {"alembic_version"}
    finally:
        engine.dispose()

    seeded = reup("seed", url=url)
    assert seeded.returncode == 0, seeded.stderr
    assert "Demo data created." in seeded.stdout
    assert DEMO_PASSWORD in seeded.stdout
    for account in DEMO_ACCOUNTS:
        assert account.email in seeded.stdout
    engine = build_engine(url)
    try:
        with Session(engine) as s:
            assert len(s.exec(select(Entity)).all()) == 5  # 4 approved and a pending applicant
            assert len(s.exec(select(Product)).all()) >= 80
    finally:
        engine.dispose()

    again = reup("seed", "--if-empty", url=url)
    assert again.returncode == 0, again.stderr
    assert "not loaded" in again.stdout
    repeat = reup("seed", url=url)
    assert repeat.returncode == 0 and "nothing was changed" in repeat.stdout

    created = reup(
        "create-admin", "--email", "Ops@Example.com", "--name", "Ops Lead", "--password", GOOD_PASSWORD, url=url
    )
    assert created.returncode == 0, created.stderr
    assert "ops@example.com" in created.stdout
    users = _users(url)
    ops = users["ops@example.com"]
    assert ops.is_platform_admin and ops.full_name == "Ops Lead" and ops.is_active
    assert verify_password(GOOD_PASSWORD, ops.password_hash)
    assert ops.password_hash != GOOD_PASSWORD

    duplicate = reup(
        "create-admin", "--email", "OPS@example.com", "--name", "Other", "--password", GOOD_PASSWORD, url=url
    )
    assert_clean_error(duplicate, "already exists", "ops@example.com")
    demo_duplicate = reup(
        "create-admin", "--email", "buyer@greenleaf.demo", "--name", "X", "--password", GOOD_PASSWORD, url=url
    )
    assert_clean_error(demo_duplicate, "already exists")

    weak = reup("create-admin", "--email", "weak@example.com", "--name", "Weak", "--password", "short", url=url)
    assert_clean_error(weak, "password rejected", "at least 12 characters")
    assert "weak@example.com" not in _users(url)
    assert len(_users(url)) == len(users)


@pytest.mark.mysql
def test_migrate_seed_create_admin_on_mysql(mysql_db):
    _migrate_seed_and_create_admin(mysql_db)


def test_migrate_seed_create_admin_on_sqlite(sqlite_db):
    _migrate_seed_and_create_admin(sqlite_db)


def test_create_admin_validates_input_and_prompts(sqlite_db):
    assert reup("migrate", url=sqlite_db).returncode == 0

    bad_email = reup(
        "create-admin", "--email", "not-an-email", "--name", "X", "--password", GOOD_PASSWORD, url=sqlite_db
    )
    assert_clean_error(bad_email, "not a valid email address")
    blank_name = reup(
        "create-admin", "--email", "a@example.com", "--name", "  ", "--password", GOOD_PASSWORD, url=sqlite_db
    )
    assert_clean_error(blank_name, "--name")
    own_name = reup(
        "create-admin", "--email", "harbor@example.com", "--name", "H", "--password", "Harbor-1234567", url=sqlite_db
    )
    assert_clean_error(own_name, "email name")

    mismatch = reup(
        "create-admin",
        "--email",
        "p@example.com",
        "--name",
        "P",
        url=sqlite_db,
        stdin=f"{GOOD_PASSWORD}\n{GOOD_PASSWORD}x\n",
    )
    assert_clean_error(mismatch, "do not match")
    prompted = reup(
        "create-admin",
        "--email",
        "p@example.com",
        "--name",
        "P",
        url=sqlite_db,
        stdin=f"{GOOD_PASSWORD}\n{GOOD_PASSWORD}\n",
    )
    assert prompted.returncode == 0, prompted.stderr
    assert GOOD_PASSWORD not in prompted.stdout
    assert set(_users(sqlite_db)) == {"p@example.com"}


def test_seed_if_empty_leaves_a_real_database_alone(sqlite_db):
    assert reup("migrate", url=sqlite_db).returncode == 0
    assert (
        reup(
            "create-admin", "--email", "me@example.com", "--name", "Me", "--password", GOOD_PASSWORD, url=sqlite_db
        ).returncode
        == 0
    )
    result = reup("seed", "--if-empty", url=sqlite_db)
    assert result.returncode == 0 and "not loaded" in result.stdout
    assert set(_users(sqlite_db)) == {"me@example.com"}


def test_seed_refuses_production(sqlite_db):
    result = reup("seed", url=sqlite_db, REUP_ENV="prod", REUP_SECRET_KEY="x9" + uuid.uuid4().hex + uuid.uuid4().hex)
    assert_clean_error(result, "production")
    assert not Path(sqlite_db.removeprefix("sqlite:///")).exists()


def test_check_config_redacts_and_reports_weak_production_secret():
    url = "mysql+pymysql://reup:s3cr3t-db-pw@db.internal:3307/reup_prod"
    ok = reup("check-config", url=url, REUP_REDIS_URL="redis://:redispw@cache:6379/0")
    assert ok.returncode == 0, ok.stderr
    assert "mysql (db.internal:3307, database reup_prod)" in ok.stdout
    assert "redis:           set" in ok.stdout and "environment:     dev" in ok.stdout
    assert "s3cr3t-db-pw" not in ok.stdout + ok.stderr and "redispw" not in ok.stdout + ok.stderr

    weak = reup("check-config", url=url, REUP_ENV="prod")
    assert_clean_error(weak, "refuses to start in production", "REUP_SECRET_KEY")

    secret = "Zq" + uuid.uuid4().hex + uuid.uuid4().hex
    plain_http = reup("check-config", url=url, REUP_ENV="prod", REUP_SECRET_KEY=secret)
    assert_clean_error(plain_http, "refuses to start in production", "REUP_APP_URL")

    strong = reup("check-config", url=url, REUP_ENV="prod", REUP_SECRET_KEY=secret, REUP_APP_URL="https://reup.example")
    assert strong.returncode == 0, strong.stderr
    assert "Configuration OK." in strong.stdout and "Zq" not in strong.stdout


def test_unreachable_database_and_bad_settings_are_one_line_errors(tmp_path):
    down = reup("migrate", url="mysql+pymysql://root:pw@127.0.0.1:1/nowhere")
    assert_clean_error(down, "127.0.0.1:1", "not usable")
    assert ":pw@" not in down.stderr

    bad_port = reup("check-config", url=f"sqlite:///{tmp_path / 'x.db'}", REUP_PORT="eighty")
    assert_clean_error(bad_port, "REUP_PORT")

    usage = reup("create-admin", "--email", "x@example.com", url=f"sqlite:///{tmp_path / 'x.db'}")
    assert usage.returncode == 2 and "--name" in usage.stderr and "Traceback" not in usage.stderr


@pytest.mark.mysql
def test_worker_expires_licenses_at_start_and_stops_on_sigterm(mysql_db):
    import signal
    import time
    from datetime import date, timedelta

    from reup_app.models import License
    from tests.factories import make_entity, make_license

    assert reup("migrate", url=mysql_db).returncode == 0
    engine = build_engine(mysql_db)
    try:
        with Session(engine, expire_on_commit=False) as s:
            entity = make_entity(s, "wholesaler")
            lapsed = make_license(s, entity, expires_on=date.today() - timedelta(days=2))
            current = make_license(s, entity, expires_on=date.today() + timedelta(days=90))

        env = {k: v for k, v in os.environ.items() if not k.startswith("REUP_")}
        env["REUP_DATABASE_URL"] = mysql_db  # no Redis: a single worker runs the job directly
        proc = subprocess.Popen(
            [sys.executable, "-m", "reup_app.cli", "worker"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            deadline = time.monotonic() + 30
            status = "active"
            while time.monotonic() < deadline and status == "active" and proc.poll() is None:
                time.sleep(0.3)
                with Session(engine) as s:
                    status = s.get(License, lapsed.id).status
            assert status == "expired"
            proc.send_signal(signal.SIGTERM)
            output, _ = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 0, output
        assert "expire_licenses" in output and "shutting down" in output
        assert "Traceback" not in output
        with Session(engine) as s:
            assert s.get(License, current.id).status == "active"
    finally:
        engine.dispose()
