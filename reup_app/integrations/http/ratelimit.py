"""A blocking rate limiter shared by every worker through Redis (GCRA in one Lua script), with an
in-memory fallback for the embedded single-process setup.

`limiter.acquire([Limit("metrc:facility:<license>", 50), Limit("metrc:vendor:<hash>", 150)])`
reserves the earliest free slot of each named budget in turn, sleeping until each, and the call
starts at the last one. Slots are 1/rate apart (with a burst of `burst`, default 1), so a budget's
slots keep `rate` per second; calls start at or after their slots (see `_block`).

Reserving (rather than polling until a slot is free) costs one Redis round trip per budget whatever
the number of waiters, hands the slots out first come first served, and loses no slot to a waiter
that wakes a little late (a busy interpreter wakes threads up to its switch interval late): the next
slot is fixed when it is reserved. Budgets are taken one at a time, narrowest first, because one
reservation across all of them would have to move the shared budget's schedule to the narrow
budget's slot and leave the gap unused by everyone else. Put the budget shared most widely last:
its slots are exactly when calls start; an earlier budget's calls start at or after its slots.
A caller that would wait longer than `max_wait` for a slot reserves nothing more.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

# KEYS[1]: the budget. ARGV: interval_us, burst, max_wait_us. Uses the Redis clock so every worker
# shares one time base. The slot is the earliest moment the budget admits a call; it is taken
# (tat = max(tat, slot) + interval) and the microseconds until it are returned (0: now). A slot
# further off than max_wait is not taken: -(its wait) is returned.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local slot = tat - (burst - 1) * interval
if slot < now then slot = now end
if slot - now > tonumber(ARGV[3]) then return now - slot end
tat = tat + interval
redis.call('SET', KEYS[1], tat, 'PX', math.ceil((tat - now) / 1000) + 1000)
return slot - now
"""


@dataclass(frozen=True)
class Limit:
    """One budget: `rate` calls per second under the name `key` (no secrets in key names)."""

    key: str
    rate: float
    burst: int = 1
    late_slots: int = 1  # a caller waking more than this many intervals after its slot takes a new one

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise ValueError(f"rate limit {self.key!r} must be positive, got {self.rate}")
        if self.burst < 1:
            raise ValueError(f"burst of {self.key!r} must be at least 1")
        if self.late_slots < 0:
            raise ValueError(f"late_slots of {self.key!r} must not be negative")

    @property
    def interval_us(self) -> int:
        return max(1, int(1_000_000 / self.rate))


class MemoryRateLimiter:
    """The same GCRA over `time.monotonic()` for one process (the embedded default without Redis)."""

    def __init__(self) -> None:
        self._tats: dict[str, int] = {}
        self._lock = threading.Lock()

    def _reserve(self, lim: Limit, max_wait: float) -> float:
        now = int(time.monotonic() * 1_000_000)
        with self._lock:
            tat = max(self._tats.get(lim.key, now), now)
            slot = max(now, tat - (lim.burst - 1) * lim.interval_us)
            if slot - now > max_wait * 1_000_000:
                return (now - slot) / 1_000_000
            self._tats[lim.key] = tat + lim.interval_us
            return (slot - now) / 1_000_000

    def acquire(self, limits: list[Limit], *, max_wait: float = 300.0) -> float:
        """Block until this call's slot in every budget; returns the seconds waited."""
        return _block(self._reserve, limits, max_wait)


class RedisRateLimiter:
    """The same GCRA, atomically in Redis, so several worker processes share one budget."""

    def __init__(self, client: Any, prefix: str = "reup:ratelimit:vendor:") -> None:
        self._client = client
        self._prefix = prefix
        self._script = client.register_script(_GCRA)

    def _reserve(self, lim: Limit, max_wait: float) -> float:
        args = [lim.interval_us, lim.burst, int(max_wait * 1_000_000)]
        return int(self._script(keys=[self._prefix + lim.key], args=args)) / 1_000_000

    def acquire(self, limits: list[Limit], *, max_wait: float = 300.0) -> float:
        return _block(self._reserve, limits, max_wait)


def _block(reserve, limits: list[Limit], max_wait: float) -> float:
    """Reserve a slot in each budget in turn and sleep until it. A wait is counted from when the
    answer arrived (the limiter's clock was read before), so the call never starts before its slot.
    A caller that wakes more than `late_slots` intervals after its slot (a stalled process) gives the
    slot up and reserves again, so a stall never makes a burst of catch-up calls: a budget's calls
    keep within rate + late_slots + 1 in any one second (slots 1/rate apart, each started within
    late_slots/rate after)."""
    started = time.monotonic()
    for lim in limits:
        while True:
            wait = reserve(lim, max(0.0, max_wait - (time.monotonic() - started)))
            if wait < 0:
                raise TimeoutError(f"rate limiter: no slot within {max_wait:.0f}s for {lim.key!r}")
            if wait == 0:
                break
            due = time.monotonic() + wait
            time.sleep(wait)
            if time.monotonic() - due <= lim.late_slots * lim.interval_us / 1_000_000:
                break
    return time.monotonic() - started


_memory = MemoryRateLimiter()
_redis_limiters: dict[str, RedisRateLimiter] = {}
_lock = threading.Lock()


def limiter_for(redis_url: str | None, prefix: str = "reup:ratelimit:vendor:"):
    """The shared limiter: Redis when configured (one per URL and prefix), else the process-wide one."""
    if not redis_url:
        return _memory
    import redis

    with _lock:
        key = f"{redis_url}|{prefix}"
        if key not in _redis_limiters:
            _redis_limiters[key] = RedisRateLimiter(redis.Redis.from_url(redis_url), prefix)
        return _redis_limiters[key]
