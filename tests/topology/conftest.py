"""Topology fixtures: a real MariaDB primary + TLS-only replica (deploy/mariadb_pair.py) on spare
loopback ports, and a helper that points ReUp's settings at them.

Ports: REUP_TOPOLOGY_MYSQL_PORT (primary; the replica is the next port), default 13330.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy import mariadb_pair

BASE_PORT = int(os.environ.get("REUP_TOPOLOGY_MYSQL_PORT", "13330"))

if not shutil.which("mariadbd") or not shutil.which("mariadb-install-db"):
    pytest.skip("the MariaDB server binaries are needed for topology tests", allow_module_level=True)


@pytest.fixture(scope="session")
def pair(tmp_path_factory) -> Iterator[dict]:
    """A running primary + replica with a migrated, replicated database; yields URLs and paths."""
    from reup_app import migrations

    base: Path = tmp_path_factory.mktemp("mariadb-pair")
    primary, replica = mariadb_pair.start(base, BASE_PORT, BASE_PORT + 1)
    name = f"reup_topo_{uuid.uuid4().hex[:8]}"
    try:
        primary.sql(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        migrations.upgrade(primary.url(name) + "?charset=utf8mb4")
        mariadb_pair.wait_replicated(primary, replica)
        yield {
            "primary": primary,
            "replica": replica,
            "primary_url": primary.url(name) + "?charset=utf8mb4",
            "replica_url": replica.url(name) + "?charset=utf8mb4",
            "ca": str(base / "certs" / "ca.pem"),
            "rogue_ca": str(base / "certs" / "rogue-ca.pem"),
            "database": name,
        }
    finally:
        mariadb_pair.stop(base, kill=True)  # throw-away data: no need for a clean shutdown


@pytest.fixture
def configure(pair):
    """configure(**REUP_vars): set ReUp's settings (primary + replica + CA by default) and reset
    the cached engines; everything is restored after the test."""
    from reup_app import db, settings

    saved = dict(os.environ)

    def apply(**env: str) -> None:
        base = {
            "REUP_DATABASE_URL": pair["primary_url"],
            "REUP_DATABASE_REPLICA_URLS": pair["replica_url"],
            "REUP_DB_SSL_CA": pair["ca"],
        }
        base.update(env)
        for key, value in base.items():
            os.environ[key] = value
        settings.reset_settings_cache()
        db.reset_engine()

    yield apply
    os.environ.clear()
    os.environ.update(saved)
    settings.reset_settings_cache()
    db.reset_engine()
