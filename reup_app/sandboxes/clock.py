"""A sandbox clock: real time plus an offset, or a frozen instant; tests move it through the control API."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant (a `Z` or offset is required) as tz-aware UTC; ValueError otherwise."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone; use e.g. 2026-11-28T12:00:00Z")
    return value.astimezone(UTC)


class SandboxClock:
    """`now()` is real UTC time shifted by `offset`, unless frozen at a fixed instant."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta(0)
        self._frozen: datetime | None = None

    def now(self) -> datetime:
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            if self._frozen is not None:
                self._frozen += timedelta(seconds=seconds)
            else:
                self._offset += timedelta(seconds=seconds)
        return self.now()

    def set(self, instant: datetime, *, freeze: bool = False) -> datetime:
        with self._lock:
            if freeze:
                self._frozen = instant
            else:
                self._frozen = None
                self._offset = instant - datetime.now(UTC)
        return self.now()

    def reset(self) -> None:
        with self._lock:
            self._offset = timedelta(0)
            self._frozen = None

    def describe(self) -> dict:
        return {"now": self.now().isoformat(), "frozen": self._frozen is not None}
