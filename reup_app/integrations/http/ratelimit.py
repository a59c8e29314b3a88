"""A blocking rate limiter shared by every worker through Redis (GCRA in one Lua script), with an
in-memory fallback for the embedded single-process setup.

`limiter.acquire([Limit("metrc:vendor:<hash>", 150), Limit("metrc:facility:<license>", 50)])`
waits until *every* named budget has room and then takes one slot from each atomically, so waiting
on one budget never burns another. Spacing is 1/rate with a burst of `burst` (default 1), so in any
one-second window at most `rate` calls start.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

# KEYS: one per budget. ARGV: pairs of (interval_us, burst) per key. Uses the Redis clock so every
# worker shares one time base. Returns 0 when admitted, else the microseconds to wait.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local wait = 0
local tats = {}
for i, key in ipairs(KEYS) do
    local interval = tonumber(ARGV[2 * i - 1])
    local burst = tonumber(ARGV[2 * i])
    local tat = tonumber(redis.call('GET', key) or now)
    if tat < now then tat = now end
    local allow_at = tat + interval - burst * interval
    if allow_at > now and allow_at - now > wait then wait = allow_at - now end
    tats[i] = tat + interval
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
    local ttl = math.ceil((tats[i] - now) / 1000) + 1000
    redis.call('SET', key, tats[i], 'PX', ttl)
end
return 0
"""


@dataclass(frozen=True)
class Limit:
    """One budget: `rate` calls per second under the name `key` (no secrets in key names)."""

    key: str
    rate: float
    burst: int = 1

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise ValueError(f"rate limit {self.key!r} must be positive, got {self.rate}")
        if self.burst < 1:
            raise ValueError(f"burst of {self.key!r} must be at least 1")

    @property
    def interval_us(self) -> int:
        return max(1, int(1_000_000 / self.rate))


class MemoryRateLimiter:
    """GCRA over `time.monotonic()` for one process (the embedded default without Redis)."""

    def __init__(self) -> None:
        self._tats: dict[str, int] = {}
        self._lock = threading.Lock()

    def _try(self, limits: list[Limit]) -> float:
        now = int(time.monotonic() * 1_000_000)
        with self._lock:
            wait, new = 0, {}
            for lim in limits:
                tat = max(self._tats.get(lim.key, now), now)
                allow_at = tat + lim.interval_us - lim.burst * lim.interval_us
                wait = max(wait, allow_at - now)
                new[lim.key] = tat + lim.interval_us
            if wait > 0:
                return wait / 1_000_000
            self._tats.update(new)
            return 0.0

    def acquire(self, limits: list[Limit], *, max_wait: float = 300.0) -> float:
        """Block until admitted; returns the seconds waited."""
        return _block(self._try, limits, max_wait)


class RedisRateLimiter:
    """The same GCRA, atomically in Redis, so several worker processes share one budget."""

    def __init__(self, client: Any, prefix: str = "reup:ratelimit:vendor:") -> None:
        self._client = client
        self._prefix = prefix
        self._script = client.register_script(_GCRA)

    def _try(self, limits: list[Limit]) -> float:
        keys = [self._prefix + lim.key for lim in limits]
        args: list[int] = []
        for lim in limits:
            args += [lim.interval_us, lim.burst]
        return int(self._script(keys=keys, args=args)) / 1_000_000

    def acquire(self, limits: list[Limit], *, max_wait: float = 300.0) -> float:
        return _block(self._try, limits, max_wait)


def _block(try_once, limits: list[Limit], max_wait: float) -> float:
    if not limits:
        return 0.0
    started = time.monotonic()
    while True:
        wait = try_once(limits)
        if wait <= 0:
            return time.monotonic() - started
        if time.monotonic() - started + wait > max_wait:
            raise TimeoutError(f"rate limiter: no slot within {max_wait:.0f}s for {[lim.key for lim in limits]}")
        time.sleep(wait)


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
