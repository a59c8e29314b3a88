"""The shared rate-limit/cache backend a test runs against: in memory, or Redis under its own prefix."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from reup_app.security.ratelimit import MemoryBackend, RedisBackend, set_backend
from reup_app.services.identity.principal_cache import set_cache_ttl


@contextmanager
def rate_backend(kind: str, redis_url: str, cache_ttl: float | None = None) -> Iterator[MemoryBackend | RedisBackend]:
    """`kind` "memory" or "redis", installed for the block; with `cache_ttl`, the principal cache's TTL too."""
    b = MemoryBackend() if kind == "memory" else RedisBackend(redis_url, prefix=f"t-{uuid.uuid4().hex}:")
    set_backend(b)
    if cache_ttl is not None:
        set_cache_ttl(cache_ttl)
    try:
        yield b
    finally:
        set_backend(None)
        if cache_ttl is not None:
            set_cache_ttl(None)
        b.close()
