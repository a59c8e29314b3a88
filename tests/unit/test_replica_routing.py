"""Replica settings and the read-only unit of work without replicas (reup_app/db.py); the real
routing, lag and TLS checks run against MariaDB in tests/topology/test_replicas.py."""

from __future__ import annotations

import os

import pytest

from reup_app import db, db_replicas
from reup_app.settings import load_settings, reset_settings_cache


@pytest.fixture
def env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("REUP_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("REUP_DATABASE_URL", f"sqlite:///{tmp_path / 'r.db'}")
    reset_settings_cache()
    db.reset_engine()
    yield monkeypatch
    reset_settings_cache()
    db.reset_engine()


def test_replica_settings_parse_and_default(env):
    s = load_settings()
    assert s.database_replica_urls == () and s.replica_max_lag_seconds == 5.0 and s.read_your_writes_seconds == 5.0
    env.setenv("REUP_DATABASE_REPLICA_URLS", " mysql+pymysql://a/x , mysql+pymysql://b/x ,")
    env.setenv("REUP_REPLICA_MAX_LAG_SECONDS", "2.5")
    s = load_settings()
    assert s.database_replica_urls == ("mysql+pymysql://a/x", "mysql+pymysql://b/x")
    assert s.replica_max_lag_seconds == 2.5


def test_without_replicas_reads_use_the_primary_and_refuse_writes(env):
    from sqlalchemy import text

    with db.read_only_unit_of_work(None) as s:
        assert s.info["db_role"] == "primary"
        assert s.execute(text("SELECT 1")).scalar_one() == 1
    assert db_replicas.get_replica_set() is None


def test_pins_expire_locally_without_redis(env):
    env.setenv("REUP_READ_YOUR_WRITES_SECONDS", "0.2")
    reset_settings_cache()
    db_replicas.reset_replicas()
    db_replicas.pin_user(42)
    assert db_replicas.is_pinned(42) and not db_replicas.is_pinned(43)
    import time

    time.sleep(0.25)
    assert not db_replicas.is_pinned(42)


def test_an_unreachable_replica_is_not_used(env):
    env.setenv("REUP_DATABASE_REPLICA_URLS", "mysql+pymysql://reup:x@127.0.0.1:1/none")
    reset_settings_cache()
    db.reset_engine()
    with db.read_only_unit_of_work(None) as s:
        assert s.info["db_role"] == "primary"
    health = db_replicas.get_replica_set().health[0]
    assert not health.ok and health.reason.startswith("unreachable")
