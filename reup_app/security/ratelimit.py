"""Sliding-window rate limits, plus the small short-lived key/value store they live in.

Two backends with the same API:

- `RedisBackend` (used when `settings.redis_url` is set): shared by every worker; limits are
  kept in a sorted set per key and checked atomically by a Lua script using Redis' clock.
- `MemoryBackend` (single process, dev and tests).

The same backend also keeps the last-used TOTP time step per user (MFA replay protection), the
principal cache and the revoked-access-token list (`reup_app.services.identity.auth`).

    allowed, retry_after = hit("login:ip:10.0.0.1", limit=20, window_seconds=900)
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reup_app.errors import RateLimited
from reup_app.settings import get_settings


@dataclass(frozen=True)
class Limit:
    limit: int
    window_seconds: float


# Policies (per account and per client address) for the sign-in flows.
LOGIN_PER_ACCOUNT = Limit(5, 15 * 60)
LOGIN_PER_IP = Limit(20, 15 * 60)
MFA_PER_ACCOUNT = Limit(5, 15 * 60)
MFA_PER_IP = Limit(20, 15 * 60)
RESET_PER_ACCOUNT = Limit(3, 60 * 60)
RESET_PER_IP = Limit(20, 60 * 60)
SIGNUP_PER_IP = Limit(10, 60 * 60)


class MemoryBackend:
    """In-process backend. `clock` returns seconds (injectable for tests)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, deque[float]] = {}
        self._values: dict[str, tuple[str, float]] = {}  # key -> (value, expires_at)

    # -- rate limiting
    def hit(self, key: str, limit: int, window_seconds: float) -> tuple[bool, float]:
        now = self._clock()
        with self._lock:
            q = self._windows.setdefault(key, deque())
            while q and q[0] <= now - window_seconds:
                q.popleft()
            if len(q) >= limit:
                return False, max(0.0, q[0] + window_seconds - now)
            q.append(now)
            return True, 0.0

    def hit_if_present(self, marker: str, key: str, limit: int, window_seconds: float) -> tuple[bool, bool, float]:
        """`hit` only while the key/value `marker` exists: (marker present, allowed, retry after)."""
        with self._lock:
            present = self._live(marker, self._clock()) is not None
        if not present:
            return False, False, 0.0
        return (True, *self.hit(key, limit, window_seconds))

    def refund(self, key: str) -> None:
        with self._lock:
            q = self._windows.get(key)
            if q:
                q.pop()

    def reset(self, key: str) -> None:
        with self._lock:
            self._windows.pop(key, None)

    # -- key/value
    def _live(self, key: str, now: float) -> str | None:
        item = self._values.get(key)
        if item is None:
            return None
        if item[1] <= now:
            del self._values[key]
            return None
        return item[0]

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._live(key, self._clock())

    def mget(self, keys: list[str]) -> list[str | None]:
        now = self._clock()
        with self._lock:
            return [self._live(k, now) for k in keys]

    def set(self, key: str, value: str, ttl_seconds: float) -> None:
        with self._lock:
            self._values[key] = (value, self._clock() + ttl_seconds)

    def set_nx(self, key: str, value: str, ttl_seconds: float) -> bool:
        now = self._clock()
        with self._lock:
            if self._live(key, now) is not None:
                return False
            self._values[key] = (value, now + ttl_seconds)
            return True

    def set_if_greater(self, key: str, value: int, ttl_seconds: float) -> bool:
        """Store `value` only if greater than the stored integer; True when stored."""
        now = self._clock()
        with self._lock:
            cur = self._live(key, now)
            if cur is not None and int(cur) >= value:
                return False
            self._values[key] = (str(value), now + ttl_seconds)
            return True

    def take(self, key: str) -> str | None:
        """Get and delete atomically (one-time tickets)."""
        with self._lock:
            value = self._live(key, self._clock())
            self._values.pop(key, None)
            return value

    def delete(self, *keys: str) -> None:
        with self._lock:
            for k in keys:
                self._values.pop(k, None)

    def incr(self, key: str, ttl_seconds: float) -> int:
        """Add one to the integer at `key` (0 when absent) and (re)set its expiry; the new value."""
        now = self._clock()
        with self._lock:
            value = int(self._live(key, now) or 0) + 1
            self._values[key] = (str(value), now + ttl_seconds)
            return value

    def close(self) -> None:
        pass


_HIT_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tostring(tonumber(oldest[2]) + window - now)}
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
return {1, '0'}
"""

# The same, only while KEYS[2] (a cached entry, e.g. an API key's resolved state) exists: one round
# trip both checks that nobody invalidated the entry and counts the request.
_HIT_IF_PRESENT_SCRIPT = (
    """
if redis.call('EXISTS', KEYS[2]) == 0 then return {-1, '0'} end
"""
    + _HIT_SCRIPT
)

_SET_IF_GREATER_SCRIPT = """
local cur = redis.call('GET', KEYS[1])
if cur and tonumber(cur) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""


class RedisBackend:
    def __init__(self, url: str, prefix: str = "reup:") -> None:
        import redis

        # Any: redis-py types every reply as `Awaitable | Any` (its sync and async clients share stubs)
        self._r: Any = redis.Redis.from_url(
            url, decode_responses=True, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30
        )
        self.prefix = prefix
        self._hit = self._r.register_script(_HIT_SCRIPT)
        self._hit_present = self._r.register_script(_HIT_IF_PRESENT_SCRIPT)
        self._gt = self._r.register_script(_SET_IF_GREATER_SCRIPT)

    def _k(self, key: str) -> str:
        return self.prefix + key

    def hit(self, key: str, limit: int, window_seconds: float) -> tuple[bool, float]:
        allowed, retry = self._hit(keys=[self._k("rl:" + key)], args=[window_seconds, limit, uuid.uuid4().hex])
        return bool(int(allowed)), max(0.0, float(retry))

    def hit_if_present(self, marker: str, key: str, limit: int, window_seconds: float) -> tuple[bool, bool, float]:
        """`hit` only while the key/value `marker` exists, in one round trip: (present, allowed, retry)."""
        allowed, retry = self._hit_present(
            keys=[self._k("rl:" + key), self._k(marker)], args=[window_seconds, limit, uuid.uuid4().hex]
        )
        if int(allowed) < 0:
            return False, False, 0.0
        return True, bool(int(allowed)), max(0.0, float(retry))

    def refund(self, key: str) -> None:
        self._r.zpopmax(self._k("rl:" + key))

    def reset(self, key: str) -> None:
        self._r.delete(self._k("rl:" + key))

    def get(self, key: str) -> str | None:
        return self._r.get(self._k(key))

    def mget(self, keys: list[str]) -> list[str | None]:
        return self._r.mget([self._k(k) for k in keys])

    def set(self, key: str, value: str, ttl_seconds: float) -> None:
        self._r.set(self._k(key), value, px=max(1, int(ttl_seconds * 1000)))

    def set_nx(self, key: str, value: str, ttl_seconds: float) -> bool:
        return bool(self._r.set(self._k(key), value, px=max(1, int(ttl_seconds * 1000)), nx=True))

    def set_if_greater(self, key: str, value: int, ttl_seconds: float) -> bool:
        return bool(int(self._gt(keys=[self._k(key)], args=[int(value), max(1, int(ttl_seconds * 1000))])))

    def take(self, key: str) -> str | None:
        """Get and delete atomically (one-time tickets)."""
        return self._r.getdel(self._k(key))

    def incr(self, key: str, ttl_seconds: float) -> int:
        pipe = self._r.pipeline()
        pipe.incr(self._k(key))
        pipe.pexpire(self._k(key), max(1, int(ttl_seconds * 1000)))
        return int(pipe.execute()[0])

    def delete(self, *keys: str) -> None:
        if keys:
            self._r.delete(*[self._k(k) for k in keys])

    def close(self) -> None:
        self._r.close()


Backend = MemoryBackend | RedisBackend

_backend: Any = None
_backend_url: str | None = None
_override: Any = None
_backend_lock = threading.Lock()


def get_backend() -> Backend:
    """The process-wide backend: Redis when settings.redis_url is set, else in-memory."""
    global _backend, _backend_url
    if _override is not None:
        return _override
    url = get_settings().redis_url
    if _backend is None or _backend_url != url:
        with _backend_lock:
            if _backend is None or _backend_url != url:
                # keys live under the deployment's namespace (its event channel), like the session registry
                _backend = RedisBackend(url, prefix=f"{get_settings().event_channel}:") if url else MemoryBackend()
                _backend_url = url
    return _backend


def set_backend(backend: Backend | None) -> None:
    """Force a backend (tests); None returns to the settings-chosen one."""
    global _override
    _override = backend


def hit(key: str, limit: int, window_seconds: float) -> tuple[bool, float]:
    """Count one event for `key`; (allowed, seconds until the next event would be allowed)."""
    return get_backend().hit(key, limit, window_seconds)


def enforce(key: str, rule: Limit, message: str) -> None:
    """`hit`, raising RateLimited (with retry_after) when over the limit."""
    allowed, retry_after = hit(key, rule.limit, rule.window_seconds)
    if not allowed:
        raise_limited(message, retry_after)


def enforce_if_present(marker: str, key: str, rule: Limit, message: str) -> bool:
    """`enforce` while the key/value `marker` exists (one Redis round trip); False, and nothing
    counted, when it does not."""
    present, allowed, retry_after = get_backend().hit_if_present(marker, key, rule.limit, rule.window_seconds)
    if present and not allowed:
        raise_limited(message, retry_after)
    return present


def raise_limited(message: str, retry_after: float) -> None:
    minutes = max(1, int((retry_after + 59) // 60))
    raise RateLimited(f"{message} Try again in {minutes} minute{'s' if minutes != 1 else ''}.", retry_after=retry_after)


def refund(key: str) -> None:
    get_backend().refund(key)


def reset(key: str) -> None:
    get_backend().reset(key)
