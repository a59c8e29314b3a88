"""The shared retry-delay policy: bounded exponential growth, full jitter, Retry-After as a floor."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from reup_app.backoff import CAP_SECONDS, next_attempt_at, retry_delay


def test_delays_stay_within_the_exponential_ceiling_and_the_cap():
    rng = random.Random(7)
    for attempt in range(1, 40):
        ceiling = min(CAP_SECONDS, 2.0 * 2 ** (attempt - 1))
        for _ in range(50):
            assert 0 <= retry_delay(attempt, rng=rng) <= ceiling


def test_jitter_spreads_the_delays():
    rng = random.Random(1)
    delays = {round(retry_delay(6, rng=rng), 3) for _ in range(20)}
    assert len(delays) > 10


def test_retry_after_is_a_floor():
    rng = random.Random(3)
    assert all(retry_delay(1, retry_after=30, rng=rng) >= 30 for _ in range(20))


def test_attempt_counts_from_one():
    with pytest.raises(ValueError):
        retry_delay(0)


def test_next_attempt_is_in_the_future_by_the_delay():
    now = datetime(2026, 11, 28, tzinfo=UTC)
    due = next_attempt_at(3, retry_after=60, now=now)
    assert now + timedelta(seconds=60) <= due <= now + timedelta(seconds=60) + timedelta(seconds=8)
