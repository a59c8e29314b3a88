"""Read replicas: which engine a read-only unit of work uses. Never imports reflex.

`REUP_DATABASE_REPLICA_URLS` lists MariaDB/MySQL replicas. A read-only unit of work
(`reup_app.db.read_only_unit_of_work`) goes to a replica when all of these hold:

- the acting user has not written in the last `REUP_READ_YOUR_WRITES_SECONDS` (a pin kept in this
  process and in Redis, so every app instance behind the load balancer sees it);
- the replica's replication threads run and it lags at most `REUP_REPLICA_MAX_LAG_SECONDS`
  (`SHOW SLAVE STATUS`, checked at most once a second per replica and process);
- the replica answered its last check (a failed connection marks it down until the next check).

Otherwise the primary serves the read. A replica that fails in the middle of a read makes the
read run again on the primary (`reup_app.db.run_read_only`), so the user never sees the failure.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from reup_app.settings import get_settings

log = logging.getLogger("reup.db.replicas")

CHECK_INTERVAL_SECONDS = 1.0
REPLICA_CONNECT_TIMEOUT = 2  # seconds; a dead replica must not stall a page for long


@dataclass
class ReplicaHealth:
    url: str
    ok: bool = False
    lag_seconds: float | None = None
    reason: str = "not checked yet"
    checked_at: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def replica_status(engine: Engine) -> tuple[bool, float | None, str]:
    """(usable, lag in seconds or None, reason) from the replica's `SHOW SLAVE STATUS`."""
    max_lag = get_settings().replica_max_lag_seconds
    with engine.connect() as conn:
        row = conn.execute(text("SHOW SLAVE STATUS")).mappings().first()
    if row is None:
        return False, None, "not a replica (no replication configured)"
    if row.get("Slave_IO_Running") != "Yes" or row.get("Slave_SQL_Running") != "Yes":
        return False, None, "replication stopped"
    lag = row.get("Seconds_Behind_Master")
    if lag is None:
        return False, None, "replication lag unknown"
    if float(lag) > max_lag:
        return False, float(lag), f"lagging {lag} s (bound {max_lag:g} s)"
    return True, float(lag), "ok"


class ReplicaSet:
    """The configured replicas of this process, their cached health, and round-robin choice."""

    def __init__(self, urls: tuple[str, ...]) -> None:
        self.health = [ReplicaHealth(url) for url in urls]
        self._next = 0

    def engine(self, index: int) -> Engine:
        return replica_engine(self.health[index].url)

    def check(self, index: int, *, force: bool = False) -> ReplicaHealth:
        h = self.health[index]
        if not force and time.monotonic() - h.checked_at < CHECK_INTERVAL_SECONDS:
            return h
        if not h.lock.acquire(blocking=force):
            return h  # another thread is checking it; use the last result
        try:
            try:
                h.ok, h.lag_seconds, h.reason = replica_status(self.engine(index))
            except Exception as err:  # unreachable, refused TLS, no privilege: not usable
                h.ok, h.lag_seconds, h.reason = False, None, f"unreachable ({type(err).__name__})"
            if not h.ok:
                log.warning("replica %d not used: %s", index, h.reason)
            h.checked_at = time.monotonic()
        finally:
            h.lock.release()
        return h

    def mark_down(self, index: int, reason: str) -> None:
        h = self.health[index]
        h.ok, h.reason, h.checked_at = False, reason, time.monotonic()
        log.warning("replica %d failed during a read, using the primary: %s", index, reason)

    def choose(self) -> int | None:
        """A usable replica's index (round robin), or None to read from the primary."""
        n = len(self.health)
        for step in range(n):
            i = (self._next + step) % n
            if self.check(i).ok:
                self._next = (i + 1) % n
                return i
        return None


# reup_app.db registers its engine factory here at import (db imports this module, not the reverse).
_engine_builder: list[Callable[..., Engine]] = []


def set_engine_builder(build: Callable[..., Engine]) -> None:
    _engine_builder[:] = [build]


@lru_cache(maxsize=16)
def replica_engine(url: str) -> Engine:
    return _engine_builder[0](url, get_settings().db_ssl_ca, connect_timeout=REPLICA_CONNECT_TIMEOUT)


@lru_cache(maxsize=1)
def get_replica_set() -> ReplicaSet | None:
    urls = get_settings().database_replica_urls
    return ReplicaSet(urls) if urls else None


def reset_replicas() -> None:
    """Dispose replica engines and forget health and pins (tests switch configurations)."""
    if get_replica_set.cache_info().currsize:
        rs = get_replica_set()
        for h in rs.health if rs else []:
            replica_engine(h.url).dispose()
    replica_engine.cache_clear()
    get_replica_set.cache_clear()
    _pin_redis.cache_clear()
    with _pins_lock:
        _local_pins.clear()


# --- read-your-writes pins --------------------------------------------------------------------

_local_pins: dict[int, float] = {}
_pins_lock = threading.Lock()


@lru_cache(maxsize=1)
def _pin_redis() -> Any:
    url = get_settings().redis_url
    if not url:
        return None
    import redis

    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


def _pin_key(user_id: int) -> str:
    return f"{get_settings().event_channel}:rw-pin:{user_id}"


def pin_user(user_id: int) -> None:
    """After `user_id` wrote: their reads go to the primary for REUP_READ_YOUR_WRITES_SECONDS."""
    seconds = get_settings().read_your_writes_seconds
    if seconds <= 0:
        return
    with _pins_lock:
        _local_pins[user_id] = time.monotonic() + seconds
    client = _pin_redis()
    if client is not None:
        try:
            client.set(_pin_key(user_id), "1", px=int(seconds * 1000))
        except Exception:  # Redis down: this instance still pins; others may lag up to the bound
            log.warning("could not share the read-your-writes pin of user %s (Redis unreachable)", user_id)


def is_pinned(user_id: int) -> bool:
    with _pins_lock:
        until = _local_pins.get(user_id)
        if until is not None and until < time.monotonic():
            _local_pins.pop(user_id, None)
            until = None
    if until is not None:
        return True
    client = _pin_redis()
    if client is None:
        return False
    try:
        return bool(client.exists(_pin_key(user_id)))
    except Exception:  # cannot tell: the primary is always right
        return True
