"""Readiness of one app instance: database, replicas (and their lag), Redis, event bus.

Used by `GET /api/health/ready` (the load balancer and the topology script poll it; 503 when the
instance cannot serve), `GET /api/health` (liveness + database) and `reup check-config --probe`.
A replica that is down or lagging does not make the instance unready (reads fall back to the
primary); it is reported so operators see it. Never imports reflex.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import text

from reup_app import db_replicas
from reup_app.settings import get_settings


def _timed(check: Any) -> dict[str, Any]:
    t = time.perf_counter()
    try:
        out = check() or {}
        result = {"status": "ok", **out}
    except Exception as err:  # the reason, never a secret (exception class + short text)
        result = {"status": "error", "error": f"{type(err).__name__}: {str(err)[:160]}"}
    result["ms"] = round((time.perf_counter() - t) * 1000, 1)
    return result


def check_database() -> dict[str, Any]:
    from reup_app.db import get_engine

    def ping() -> None:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))

    return _timed(ping)


def check_replicas() -> list[dict[str, Any]]:
    rs = db_replicas.get_replica_set()
    if rs is None:
        return []
    out = []
    for i in range(len(rs.health)):
        h = rs.check(i, force=True)
        out.append(
            {"replica": i, "status": "ok" if h.ok else "degraded", "lag_seconds": h.lag_seconds, "reason": h.reason}
        )
    return out


def check_redis() -> dict[str, Any] | None:
    url = get_settings().redis_url
    if not url:
        return None
    import redis

    def ping() -> None:
        client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        try:
            client.ping()
        finally:
            client.close()

    return _timed(ping)


def check_event_bus() -> dict[str, Any]:
    """The bus this process publishes to: Redis pub/sub (subscribers on the channel) or in-process."""
    from reup_app.events.bus import RedisBus, get_bus

    def probe() -> dict[str, Any]:
        bus = get_bus()
        if not isinstance(bus, RedisBus):
            return {"kind": "in-process"}
        listening = bool(bus._thread and bus._thread.is_alive())
        subscribers = bus._redis.execute_command("PUBSUB", "NUMSUB", bus._channel)[1]
        return {"kind": "redis", "listening": listening, "subscribers": int(subscribers)}

    return _timed(probe)


READY_MAX_AGE_SECONDS = 1.0  # what GET /api/health/ready reuses (one set of checks per second)
_last_lock = threading.Lock()
_last: tuple[float, bool, dict[str, Any]] | None = None


def readiness(max_age: float = 0.0) -> tuple[bool, dict[str, Any]]:
    """(ready, report). Ready: the primary answers, and Redis answers when configured.

    `max_age` > 0: a report checked at most that many seconds ago is returned again, and callers
    arriving while a check runs wait for it instead of starting their own: load balancer probes and
    monitoring cost one round of checks per interval, not one per request. 0: checked now."""
    global _last
    if max_age <= 0:
        return _check_all()
    with _last_lock:
        if _last is None or time.monotonic() - _last[0] > max_age:
            ready, report = _check_all()
            _last = (time.monotonic(), ready, report)
        return _last[1], dict(_last[2])


def _check_all() -> tuple[bool, dict[str, Any]]:
    report: dict[str, Any] = {"database": check_database(), "replicas": check_replicas()}
    redis_report = check_redis()
    if redis_report is not None:
        report["redis"] = redis_report
    report["event_bus"] = check_event_bus()
    ready = (
        report["database"]["status"] == "ok"
        and (redis_report is None or redis_report["status"] == "ok")
        and report["event_bus"]["status"] == "ok"
    )
    report["status"] = "ready" if ready else "unready"
    return ready, report
