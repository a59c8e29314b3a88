"""Session registry: Reflex client token -> (user, entity, roles) of the open browser session.

Written when a session signs in or mounts the app shell (the notification bell), refreshed by the
push hub of the worker owning the socket while it stays connected, and forgotten on sign-out, when
the socket is gone, or by TTL. Redis (shared by all workers and processes, keys prefixed with the
event channel so separate deployments never mix) when configured, in-process memory otherwise.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from reup_app.security.principal import Principal
from reup_app.settings import get_settings

# An entry outlives a disconnected worker by at most this long; live sessions are refreshed by the
# hub well before (every REUP_RT_SWEEP_SECONDS).
SESSION_TTL_SECONDS = 15 * 60
MAX_TOKEN_LENGTH = 128


@dataclass(frozen=True)
class SessionInfo:
    user_id: int | None
    entity_id: int | None
    roles: tuple[str, ...] = ()
    since: float = 0.0  # when the tab registered (epoch seconds): it showed fresh data then

    def to_json(self) -> str:
        return json.dumps({"u": self.user_id, "e": self.entity_id, "r": list(self.roles), "s": self.since})

    @classmethod
    def from_json(cls, raw: str | bytes) -> SessionInfo:
        data = json.loads(raw)
        return cls(
            user_id=data.get("u"),
            entity_id=data.get("e"),
            roles=tuple(data.get("r") or ()),
            since=float(data.get("s") or 0.0),
        )

    @classmethod
    def of(cls, principal) -> SessionInfo:
        """From a Principal (anonymous principals give an anonymous entry), registered now."""
        if principal is None or not principal.is_authenticated:
            return cls(user_id=None, entity_id=None, since=time.time())
        return cls(
            user_id=principal.user_id,
            entity_id=principal.entity_id,
            roles=tuple(sorted(principal.roles)),
            since=time.time(),
        )


def _valid(token: str) -> bool:
    return isinstance(token, str) and 0 < len(token) <= MAX_TOKEN_LENGTH


class MemoryRegistry:
    """One process, one worker (no Redis)."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[SessionInfo, float]] = {}
        self._lock = threading.Lock()

    def register(self, token: str, info: SessionInfo) -> None:
        if _valid(token):
            with self._lock:
                self._items[token] = (info, time.monotonic() + SESSION_TTL_SECONDS)

    def update(self, token: str, info: SessionInfo) -> None:
        with self._lock:
            item = self._items.get(token)
            if item is not None and item[1] > time.monotonic():
                self._items[token] = (info, time.monotonic() + SESSION_TTL_SECONDS)

    def forget(self, *tokens: str) -> None:
        with self._lock:
            for t in tokens:
                self._items.pop(t, None)

    def lookup(self, tokens: Iterable[str]) -> dict[str, SessionInfo]:
        now = time.monotonic()
        out = {}
        with self._lock:
            for t in tokens:
                item = self._items.get(t)
                if item is not None and item[1] > now:
                    out[t] = item[0]
        return out

    def touch(self, tokens: Iterable[str]) -> None:
        deadline = time.monotonic() + SESSION_TTL_SECONDS
        with self._lock:
            for t in tokens:
                if t in self._items:
                    self._items[t] = (self._items[t][0], deadline)

    def close(self) -> None:
        pass


class RedisRegistry:
    """Shared by every worker and process using the same Redis and event channel."""

    def __init__(self, url: str, channel: str) -> None:
        import redis

        self.redis: Any = redis.Redis.from_url(url)  # Any: redis-py types replies as `Awaitable | Any`
        self.prefix = f"{channel}:session:"

    def key(self, token: str) -> str:
        return self.prefix + token

    def register(self, token: str, info: SessionInfo) -> None:
        if _valid(token):
            self.redis.set(self.key(token), info.to_json(), ex=SESSION_TTL_SECONDS)

    def update(self, token: str, info: SessionInfo) -> None:
        if _valid(token):
            self.redis.set(self.key(token), info.to_json(), ex=SESSION_TTL_SECONDS, xx=True)

    def forget(self, *tokens: str) -> None:
        keys = [self.key(t) for t in tokens if _valid(t)]
        if keys:
            self.redis.delete(*keys)

    def lookup(self, tokens: Iterable[str]) -> dict[str, SessionInfo]:
        tokens = [t for t in tokens if _valid(t)]
        if not tokens:
            return {}
        raws = self.redis.mget([self.key(t) for t in tokens])
        return {t: SessionInfo.from_json(raw) for t, raw in zip(tokens, raws, strict=True) if raw is not None}

    def touch(self, tokens: Iterable[str]) -> None:
        pipe = self.redis.pipeline(transaction=False)
        for t in tokens:
            if _valid(t):
                pipe.expire(self.key(t), SESSION_TTL_SECONDS)
        pipe.execute()

    def close(self) -> None:
        self.redis.close()


_registry: MemoryRegistry | RedisRegistry | None = None
_registry_lock = threading.Lock()
# Tokens this process registered since its push hub last looked (`take_registered_here`): a tab
# that registers and closes between two sweeps is forgotten too, not left to the TTL.
_registered_here: set[str] = set()
MAX_REGISTERED_HERE = 100_000


def get_registry() -> MemoryRegistry | RedisRegistry:
    global _registry
    with _registry_lock:
        if _registry is None:
            s = get_settings()
            _registry = RedisRegistry(s.redis_url, s.event_channel) if s.redis_url else MemoryRegistry()
        return _registry


def remember_session(token: str, principal: Principal | None) -> None:
    """Record which user/entity this browser session (client token) belongs to, for pushes."""
    if token:
        get_registry().register(token, SessionInfo.of(principal))
        with _registry_lock:
            if len(_registered_here) < MAX_REGISTERED_HERE:
                _registered_here.add(token)


def take_registered_here() -> set[str]:
    """The tokens `remember_session` registered in this process since the last call."""
    with _registry_lock:
        taken = set(_registered_here)
        _registered_here.clear()
    return taken


def correct_session(token: str, principal: Principal | None) -> None:
    """`remember_session` for a session that is still registered, and nothing for one already
    forgotten: a push planned while the tab was open may reach its state after the tab closed, and
    must not register it again."""
    if token:
        get_registry().update(token, SessionInfo.of(principal))


def forget_session(token: str) -> None:
    if token:
        get_registry().forget(token)


def set_registry(registry: MemoryRegistry | RedisRegistry | None) -> None:
    """Replace the process registry (tests)."""
    global _registry
    with _registry_lock:
        _registry = registry
