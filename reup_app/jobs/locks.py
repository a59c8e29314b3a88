"""A Redis lock per job run, so any number of worker processes run each job slot once.

`run_exclusive(name, fn, redis_url=..., slot_seconds=3600)` takes the key
`reup:jobs:<name>:<slot>` with `SET NX EX`, where the slot is the current period of the job's
interval (e.g. the current UTC hour). The first worker to arrive runs the job; the others see
the key and skip. The key is kept after a successful run (it expires on its own after two
periods) so a worker whose timer fires a few minutes later in the same hour also skips; it is
deleted if the job fails, so a later trigger in the same period may retry.
Without Redis the job simply runs (one worker process).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reup_app.models.types import utcnow

log = logging.getLogger(__name__)

KEY_PREFIX = "reup:jobs:"

# Deletes the key only while it still holds our token (never another worker's lock).
_RELEASE_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


@dataclass(frozen=True)
class JobRun:
    name: str
    ran: bool
    result: Any = None
    reason: str = ""


def _token() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{utcnow().isoformat()}"


def slot_key(name: str, slot_seconds: int, now: datetime, prefix: str = KEY_PREFIX) -> str:
    slot = int(now.timestamp()) // slot_seconds
    return f"{prefix}{name}:{slot}"


def run_exclusive(
    name: str,
    fn: Callable[[], Any],
    *,
    redis_url: str | None,
    slot_seconds: int = 3600,
    now: datetime | None = None,
    prefix: str = KEY_PREFIX,
    redis_client: Any = None,
) -> JobRun:
    """Run `fn()` unless another worker already took this job's current slot."""
    if redis_client is None:
        if not redis_url:
            return JobRun(name, True, fn())
        import redis

        redis_client = redis.Redis.from_url(redis_url)
    client = redis_client
    key = slot_key(name, slot_seconds, now or utcnow(), prefix)
    token = _token()
    try:
        if not client.set(key, token, nx=True, ex=max(2 * slot_seconds, 60)):
            log.info(
                "job %s: slot %s already taken by %s; skipping",
                name,
                key,
                (client.get(key) or b"?").decode(errors="replace"),
            )
            return JobRun(name, False, reason="already run or running in another worker")
        try:
            result = fn()
        except BaseException:
            client.eval(_RELEASE_SCRIPT, 1, key, token)
            raise
        return JobRun(name, True, result)
    finally:
        if redis_client is None:
            client.close()
