"""A blocking rate limiter shared by every worker through Redis (GCRA in one Lua script), with an
in-memory fallback for the embedded single-process setup.

`limiter.acquire([Limit("metrc:facility:<license>", 50), Limit("metrc:vendor:<hash>", 150)])`
reserves the earliest free slot of each named budget in turn, sleeping until each, and the call
starts at the last one. Slots are 1/rate apart (with a burst of `burst`, default 1), so a budget's
slots keep `rate` per second; calls start at or after their slots (see `_block`).

Reserving (rather than polling until a slot is free) costs one Redis round trip per budget that
makes the caller wait (one in all when none does), whatever the number of waiters, hands the slots
out first come first served, and loses no slot to a waiter that wakes a little late (a busy
interpreter wakes threads up to its switch interval late): the next slot is fixed when it is
reserved. Budgets are taken one at a time, narrowest first, because one reservation across all of
them would have to move the shared budget's schedule to the narrow budget's slot and leave the gap
unused by everyone else. Put the budget shared most widely last: its slots are exactly when calls
start; an earlier budget's calls start at or after its slots.
A caller that would wait longer than `max_wait` for a slot reserves nothing more.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

# KEYS: the budgets still to take, in order. ARGV: (interval_us, burst) per key, then max_wait_us.
# Uses the Redis clock so every worker shares one time base. Each budget's slot is the earliest
# moment it admits a call; it is taken (tat = max(tat, slot) + interval). Budgets are taken in turn
# while their slots are now; the first one with a later slot is taken and the script stops there.
# Returns {budgets taken, microseconds until the last one's slot}; a slot further off than
# max_wait is not taken: {budgets taken before it, -(its wait)}.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local max_wait = tonumber(ARGV[2 * #KEYS + 1])
for i, key in ipairs(KEYS) do
    local interval = tonumber(ARGV[2 * i - 1])
    local burst = tonumber(ARGV[2 * i])
    local tat = tonumber(redis.call('GET', key) or now)
    if tat < now then tat = now end
    local slot = tat - (burst - 1) * interval
    if slot < now then slot = now end
    if slot - now > max_wait then return {i - 1, now - slot} end
    tat = tat + interval
    redis.call('SET', key, tat, 'PX', math.ceil((tat - now) / 1000) + 1000)
    if slot > now then return {i, slot - now} end
end
return {#KEYS, 0}
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

    def _reserve(self, limits: list[Limit], max_wait: float) -> tuple[int, float]:
        now = int(time.monotonic() * 1_000_000)
        with self._lock:
            for i, lim in enumerate(limits):
                tat = max(self._tats.get(lim.key, now), now)
                slot = max(now, tat - (lim.burst - 1) * lim.interval_us)
                if slot - now > max_wait * 1_000_000:
                    return i, (now - slot) / 1_000_000
                self._tats[lim.key] = tat + lim.interval_us
                if slot > now:
                    return i + 1, (slot - now) / 1_000_000
            return len(limits), 0.0

    def acquire(self, limits: list[Limit], *, max_wait: float = 300.0) -> float:
        """Block until this call's slot in every budget; returns the seconds waited."""
        return _block(self._reserve, limits, max_wait)


class RedisRateLimiter:
    """The same GCRA, atomically in Redis, so several worker processes share one budget."""

    def __init__(self, client: Any, prefix: str = "reup:ratelimit:vendor:") -> None:
        self._client = client
        self._prefix = prefix
        self._script = client.register_script(_GCRA)

    def _reserve(self, limits: list[Limit], max_wait: float) -> tuple[int, float]:
        args: list[int] = []
        for lim in limits:
            args += [lim.interval_us, lim.burst]
        args.append(int(max_wait * 1_000_000))
        taken, wait = self._script(keys=[self._prefix + lim.key for lim in limits], args=args)
        return int(taken), int(wait) / 1_000_000

    def acquire(self, limits: list[Limit], *, max_wait: float = 300.0) -> float:
        return _block(self._reserve, limits, max_wait)


def _block(reserve, limits: list[Limit], max_wait: float) -> float:
    """Reserve a slot in each budget in turn and sleep until it; one round trip takes every budget
    whose slot is now, up to the first one with a later slot. A wait is counted from when the answer
    arrived (the limiter's clock was read before), so the call never starts before its slot. A
    caller that wakes more than `late_slots` intervals after its slot (a stalled process) gives the
    slot up and reserves again, so a stall never makes a burst of catch-up calls: a budget's calls
    keep within rate + late_slots + 1 in any one second (slots 1/rate apart, each started within
    late_slots/rate after)."""
    started = time.monotonic()
    done = 0
    while done < len(limits):
        taken, wait = reserve(limits[done:], max(0.0, max_wait - (time.monotonic() - started)))
        if wait < 0:
            raise TimeoutError(f"rate limiter: no slot within {max_wait:.0f}s for {limits[done + taken].key!r}")
        done += taken
        if wait > 0:
            due = time.monotonic() + wait
            time.sleep(wait)
            last = limits[done - 1]
            if time.monotonic() - due > last.late_slots * last.interval_us / 1_000_000:
                done -= 1  # too late for that slot: take a new one
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
