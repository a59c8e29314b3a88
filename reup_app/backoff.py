"""The one retry-delay policy: exponential backoff with full jitter that honours a server's Retry-After.

Used wherever ReUp tries something again later (the outbox sender, e-mail, vendor HTTP retries), so
every retry in the system waits the same way. `attempt` counts from 1 (the first retry).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from reup_app.models.types import utcnow

BASE_SECONDS = 2.0
CAP_SECONDS = 15 * 60.0


def retry_delay(
    attempt: int,
    *,
    retry_after: float | None = None,
    base: float = BASE_SECONDS,
    cap: float = CAP_SECONDS,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before try `attempt + 1`: uniform in [0, min(cap, base * 2**(attempt-1))],
    and never less than the server's Retry-After when it sent one."""
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    ceiling = min(cap, base * (2 ** min(attempt - 1, 32)))
    delay = (rng or random).uniform(0, ceiling)
    if retry_after is not None and retry_after > 0:
        delay = max(delay, float(retry_after))
    return delay


def next_attempt_at(attempt: int, *, retry_after: float | None = None, now: datetime | None = None) -> datetime:
    """When a row that failed its `attempt`-th try becomes due again (UTC)."""
    return (now or utcnow()) + timedelta(seconds=retry_delay(attempt, retry_after=retry_after))
