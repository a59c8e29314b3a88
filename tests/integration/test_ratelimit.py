"""The sliding-window limiter on both backends, and the small key/value operations."""

from __future__ import annotations

import time
import uuid

import pytest

from reup_app.errors import RateLimited
from reup_app.security.ratelimit import Limit, MemoryBackend, RedisBackend, enforce, enforce_if_present
from tests.ratelimit_support import rate_backend


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


@pytest.fixture
def redis_backend(redis_url):
    b = RedisBackend(redis_url, prefix=f"reup-test-{uuid.uuid4().hex[:8]}:")
    yield b
    b.close()


def test_memory_limit_and_retry_after():
    clock = Clock()
    b = MemoryBackend(clock)
    for _ in range(3):
        clock.t += 1
        assert b.hit("k", 3, 60) == (True, 0.0)
    allowed, retry = b.hit("k", 3, 60)
    assert not allowed and retry == pytest.approx(58.0)  # first hit at 1001, now 1003
    assert b.hit("other", 3, 60)[0]  # keys are independent


def test_memory_window_slides():
    clock = Clock()
    b = MemoryBackend(clock)
    assert b.hit("k", 2, 10)[0]
    clock.t += 5
    assert b.hit("k", 2, 10)[0]
    assert not b.hit("k", 2, 10)[0]
    clock.t += 5.01  # the first hit left the window
    assert b.hit("k", 2, 10)[0]
    assert not b.hit("k", 2, 10)[0]
    clock.t += 100
    assert b.hit("k", 2, 10)[0]


def test_memory_denied_hits_are_not_counted_and_refund_reset():
    clock = Clock()
    b = MemoryBackend(clock)
    b.hit("k", 1, 10)
    for _ in range(5):
        assert not b.hit("k", 1, 10)[0]
    clock.t += 10.01
    assert b.hit("k", 1, 10)[0]
    b.refund("k")
    assert b.hit("k", 1, 10)[0]
    b.reset("k")
    assert b.hit("k", 1, 10)[0]


def test_memory_kv_ttl():
    clock = Clock()
    b = MemoryBackend(clock)
    b.set("a", "1", 5)
    assert b.get("a") == "1" and b.mget(["a", "b"]) == ["1", None]
    assert not b.set_nx("a", "2", 5) and b.set_nx("b", "2", 5)
    assert b.set_if_greater("s", 10, 5) and not b.set_if_greater("s", 10, 5) and not b.set_if_greater("s", 9, 5)
    assert b.set_if_greater("s", 11, 5)
    clock.t += 5.01
    assert b.get("a") is None and b.set_nx("a", "3", 5) and b.set_if_greater("s", 1, 5)
    b.delete("a")
    assert b.get("a") is None


def test_redis_limit_and_retry_after(redis_backend):
    for _ in range(3):
        assert redis_backend.hit("k", 3, 60)[0]
    allowed, retry = redis_backend.hit("k", 3, 60)
    assert not allowed and 58 < retry <= 60
    assert redis_backend.hit("other", 3, 60)[0]


def test_redis_window_slides(redis_backend):
    assert redis_backend.hit("k", 2, 1.0)[0]
    assert redis_backend.hit("k", 2, 1.0)[0]
    allowed, retry = redis_backend.hit("k", 2, 1.0)
    assert not allowed and 0 < retry <= 1.0
    time.sleep(1.05)
    assert redis_backend.hit("k", 2, 1.0)[0]


def test_redis_refund_reset_and_shared_between_clients(redis_backend, redis_url):
    twin = RedisBackend(redis_url, prefix=redis_backend.prefix)  # another worker
    assert redis_backend.hit("k", 2, 60)[0]
    assert twin.hit("k", 2, 60)[0]
    assert not redis_backend.hit("k", 2, 60)[0]
    twin.refund("k")
    assert redis_backend.hit("k", 2, 60)[0]
    twin.reset("k")
    assert redis_backend.hit("k", 2, 60)[0] and redis_backend.hit("k", 2, 60)[0]
    twin.close()


def test_redis_kv(redis_backend):
    b = redis_backend
    b.set("a", "1", 0.5)
    assert b.get("a") == "1" and b.mget(["a", "b"]) == ["1", None]
    assert not b.set_nx("a", "2", 5) and b.set_nx("b", "2", 5)
    assert b.set_if_greater("s", 10, 5) and not b.set_if_greater("s", 10, 5) and not b.set_if_greater("s", 9, 5)
    assert b.set_if_greater("s", 11, 5)
    time.sleep(0.6)
    assert b.get("a") is None
    b.delete("b", "s")
    assert b.mget(["b", "s"]) == [None, None]


@pytest.mark.parametrize("kind", ["memory", "redis"])
def test_enforce_raises_rate_limited(kind, redis_url):
    with rate_backend(kind, redis_url):
        rule = Limit(2, 120)
        enforce("login:x", rule, "Too many attempts.")
        enforce("login:x", rule, "Too many attempts.")
        with pytest.raises(RateLimited, match="Too many attempts. Try again in 2 minutes.") as e:
            enforce("login:x", rule, "Too many attempts.")
        assert 110 < e.value.retry_after <= 120


@pytest.mark.parametrize("kind", ["memory", "redis"])
def test_enforce_if_present_counts_only_while_the_marker_exists(kind, redis_url):
    """One round trip for an API key: is its cache entry still there (not revoked), and the hit."""
    with rate_backend(kind, redis_url) as backend:
        rule = Limit(2, 60)
        assert enforce_if_present("ak:x", "api:key:1", rule, "Slow down.") is False  # no entry: nothing counted
        backend.set("ak:x", "{}", 30)
        assert enforce_if_present("ak:x", "api:key:1", rule, "Slow down.") is True
        assert enforce_if_present("ak:x", "api:key:1", rule, "Slow down.") is True
        with pytest.raises(RateLimited, match="Slow down. Try again in 1 minute."):
            enforce_if_present("ak:x", "api:key:1", rule, "Slow down.")
        backend.delete("ak:x")
        assert enforce_if_present("ak:x", "api:key:1", rule, "Slow down.") is False
        backend.reset("api:key:1")
        assert backend.hit("api:key:1", 2, 60) == (True, 0.0)  # the same window as a plain hit
