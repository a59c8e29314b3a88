"""Readiness of an instance (`reup_app.health.readiness`, behind GET /api/health/ready) on MySQL and
Redis: what it reports, unready when Redis does not answer, and the endpoint's reuse of a report
for up to a second (probes from the load balancer and monitoring cost one round of checks)."""

from __future__ import annotations

import socket
import threading

import pytest

from reup_app import health, settings

pytestmark = pytest.mark.mysql


@pytest.fixture
def with_redis(monkeypatch, mysql_url):
    def use(url: str) -> None:
        monkeypatch.setenv("REUP_REDIS_URL", url)
        settings.reset_settings_cache()

    yield use
    monkeypatch.delenv("REUP_REDIS_URL", raising=False)
    settings.reset_settings_cache()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_readiness_reports_each_dependency_and_fails_without_redis(with_redis, redis_url):
    with_redis(redis_url)
    ok, report = health.readiness()
    assert ok and report["status"] == "ready"
    assert report["database"]["status"] == "ok" and report["redis"]["status"] == "ok"
    assert report["event_bus"]["status"] == "ok" and report["replicas"] == []

    with_redis(f"redis://127.0.0.1:{_closed_port()}/0")
    ok, report = health.readiness()
    assert not ok and report["status"] == "unready"
    assert report["redis"]["status"] == "error" and "ConnectionError" in report["redis"]["error"]
    assert report["database"]["status"] == "ok"


def test_the_endpoint_reuses_a_report_for_a_second(with_redis, redis_url, monkeypatch):
    with_redis(redis_url)
    rounds = []
    real = health._check_all

    def counted():
        rounds.append(threading.get_ident())
        return real()

    monkeypatch.setattr(health, "_check_all", counted)
    monkeypatch.setattr(health, "_last", None)
    threads = [threading.Thread(target=health.readiness, args=(60.0,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(rounds) == 1  # eight concurrent probes, one round of checks

    with_redis(f"redis://127.0.0.1:{_closed_port()}/0")
    ok, _report = health.readiness(60.0)
    assert ok and len(rounds) == 1  # still the report of less than a minute ago
    monkeypatch.setattr(health, "_last", (health._last[0] - 61, *health._last[1:]))
    ok, report = health.readiness(60.0)
    assert not ok and report["redis"]["status"] == "error" and len(rounds) == 2
