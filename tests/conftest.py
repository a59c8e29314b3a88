"""Shared fixtures: a migrated MySQL database per xdist worker, Redis, and data factories.

Tests isolate themselves by creating their own uniquely named rows (see tests/factories.py)
instead of truncating tables, so real commits, row locks and concurrency behave as in production.
"""

from __future__ import annotations

import os
import uuid

import pytest

os.environ.setdefault("REFLEX_TELEMETRY_ENABLED", "false")
os.environ.setdefault("REFLEX_CHECK_LATEST_VERSION", "0")

from tests.dbutil import REDIS_URL, drop_mysql_database, fresh_mysql_database

pytest_plugins = [
    "tests.sandboxes",  # metrc_sandbox: vendor sandboxes as subprocesses
    "tests.log_secrets",  # fails a test whose log lines carry a password, token or TOTP secret
]

_RUN_ID = os.environ.get("PYTEST_XDIST_TESTRUNUID", uuid.uuid4().hex)[:8]


def _worker() -> str:
    """Unique per run and per xdist worker, so concurrent runs never share a database."""
    return f"{_RUN_ID}_{os.environ.get('PYTEST_XDIST_WORKER', 'gw0')}"


@pytest.fixture(scope="session", autouse=True)
def audit_listener() -> None:
    """Install the ORM audit listener, as the app, worker and CLI entry points do."""
    from reup_app.services.audit.trail import install_audit_listener

    install_audit_listener()


@pytest.fixture(scope="session")
def mysql_url() -> str:
    """A freshly migrated MySQL database for this test worker; also made the app's default."""
    from reup_app import db, migrations, settings

    name = f"reup_test_{_worker()}"
    url = fresh_mysql_database(name)
    migrations.upgrade(url)
    os.environ["REUP_DATABASE_URL"] = url
    settings.reset_settings_cache()
    db.reset_engine()
    yield url
    db.reset_engine()
    drop_mysql_database(name)


@pytest.fixture(scope="session")
def engine(mysql_url):
    from reup_app.db import get_engine

    return get_engine()


@pytest.fixture
def session(engine):
    """A plain session on the test database (commit what you create)."""
    from sqlmodel import Session

    with Session(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.ping()
    client.close()
    return REDIS_URL


@pytest.fixture
def unique() -> str:
    """A short unique token for names, e-mails and SKUs."""
    return uuid.uuid4().hex[:10]
