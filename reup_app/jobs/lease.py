"""The leader lease: one `reup worker` schedules jobs; standbys take over when it stops renewing.

Redis: `SET <key> <owner>|<token> NX PX ttl` taken together with `INCR <key>:fence` in one Lua
script, so every new leadership gets a larger fencing token. The leader renews with a
compare-and-renew script (only while the key still holds its own value). Writes that jobs make
check the token against the database's `job_fences` row (`fencing.check_fence`), so a leader that
was paused past its lease and comes back cannot overwrite its successor's work.
Without Redis (embedded default, one worker) `LocalLease` always leads.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from typing import Any

_ACQUIRE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
    local token = redis.call('INCR', KEYS[2])
    redis.call('SET', KEYS[1], ARGV[1] .. '|' .. token, 'PX', ARGV[2])
    return token
end
return 0
"""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""

DEFAULT_TTL_MS = 15_000  # a standby takes over at most ttl + poll after the leader dies


def owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class RedisLease:
    """One named lease in Redis. Not thread-safe; the elector thread owns it."""

    def __init__(
        self, client: Any, name: str = "scheduler", *, ttl_ms: int = DEFAULT_TTL_MS, prefix: str = "reup:lease:"
    ):
        self.client = client
        self.name = name
        self.ttl_ms = ttl_ms
        self.key = f"{prefix}{name}"
        self.fence_key = f"{prefix}{name}:fence"
        # The job_fences row this lease's tokens are compared in: namespaced like the key, so another
        # deployment's (or the embedded worker's) tokens in the same database never fence this one out.
        self.fence_name = self.key
        self.owner = owner_id()
        self.token: int | None = None
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    @property
    def _value(self) -> str:
        return f"{self.owner}|{self.token}"

    def try_acquire(self) -> int | None:
        """The new fencing token when this process became leader, else None."""
        token = int(self._acquire(keys=[self.key, self.fence_key], args=[self.owner, self.ttl_ms]))
        self.token = token or None
        return self.token

    def renew(self) -> bool:
        """Extend the lease while we still hold it; False means leadership is lost."""
        if self.token is None:
            return False
        ok = bool(self._renew(keys=[self.key], args=[self._value, self.ttl_ms]))
        if not ok:
            self.token = None
        return ok

    def release(self) -> None:
        if self.token is not None:
            self._release(keys=[self.key], args=[self._value])
        self.token = None

    def current_token(self) -> int:
        """The newest token handed out (the current or last leader's)."""
        return int(self.client.get(self.fence_key) or 0)


class LocalLease:
    """The embedded single-worker lease: always leader, tokens from the clock so a restart is newer."""

    def __init__(self, name: str = "scheduler") -> None:
        self.name = name
        self.fence_name = f"local:{name}"  # clock tokens: never compared with a Redis lease's counter
        self.ttl_ms = DEFAULT_TTL_MS
        self.token: int | None = None

    def try_acquire(self) -> int | None:
        self.token = time.time_ns() // 1000
        return self.token

    def renew(self) -> bool:
        return self.token is not None

    def release(self) -> None:
        self.token = None

    def current_token(self) -> int:
        return self.token or 0
