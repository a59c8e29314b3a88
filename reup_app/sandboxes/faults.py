"""Switchable faults for a sandbox, set through `POST /_sandbox/faults` (JSON) and cleared by reset.

{"latency_ms": 200}                          every vendor call waits 200 ms first
{"error_rate": 0.2} / {"error_next": 3}      500s: a random share of calls, or the next N calls
{"storm_next": 5, "retry_after": 2}          the next N calls get 429 with Retry-After: 2
{"storm_seconds": 3}                         every call gets 429 for the next 3 seconds
{"stall_after_write": 1, "stall_seconds": 30}  the next write is APPLIED, then the answer stalls
{"page_fault": "duplicate"|"shift", "page_fault_next": 1, "shift": -1}  paged reads: the page
    repeats the previous page, or its window slides by `shift` rows (as if rows were inserted)
{"path_prefix": "/transfers/"}               faults hit only calls whose path starts with this
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import asdict, dataclass, fields

PAGE_FAULTS = ("duplicate", "shift")


class FaultError(ValueError):
    """A fault setting that cannot be applied."""


@dataclass
class FaultSettings:
    latency_ms: float = 0.0
    error_rate: float = 0.0
    error_next: int = 0
    storm_next: int = 0
    storm_until: float = 0.0  # monotonic deadline of a timed 429 storm
    retry_after: int = 1
    stall_after_write: int = 0
    stall_seconds: float = 30.0
    page_fault: str | None = None
    page_fault_next: int = 0
    shift: int = 1
    path_prefix: str = ""


class Faults:
    """Thread-safe fault switches; each `take_*` consumes one use of a counted fault."""

    def __init__(self, seed: int = 7) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self.settings = FaultSettings()

    def configure(self, body: dict) -> dict:
        known = {f.name for f in fields(FaultSettings)} | {"storm_seconds"}
        unknown = sorted(set(body) - known)
        if unknown:
            raise FaultError(f"unknown fault setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        with self._lock:
            for key, value in body.items():
                if key == "storm_seconds":
                    self.settings.storm_until = time.monotonic() + _number(key, value)
                elif key == "page_fault":
                    if value is not None and value not in PAGE_FAULTS:
                        raise FaultError(f"page_fault must be one of {PAGE_FAULTS} or null, not {value!r}")
                    self.settings.page_fault = value
                elif key == "error_rate" and not 0 <= _number(key, value) <= 1:
                    raise FaultError("error_rate must be between 0 and 1")
                elif key == "path_prefix":
                    if not isinstance(value, str):
                        raise FaultError("path_prefix must be a string")
                    self.settings.path_prefix = value
                elif key == "shift":
                    self.settings.shift = int(_number(key, value))
                else:
                    current = getattr(self.settings, key)
                    number = _number(key, value)
                    if number < 0:
                        raise FaultError(f"{key} must not be negative")
                    setattr(self.settings, key, type(current)(number))
            return self.describe()

    def reset(self) -> None:
        with self._lock:
            self.settings = FaultSettings()

    def describe(self) -> dict:
        data = asdict(self.settings)
        data["storm_seconds_left"] = max(0.0, round(data.pop("storm_until") - time.monotonic(), 3))
        return data

    def applies(self, path: str) -> bool:
        return path.startswith(self.settings.path_prefix)

    def latency(self) -> float:
        return self.settings.latency_ms / 1000.0

    def take_error(self) -> bool:
        with self._lock:
            if self.settings.error_next > 0:
                self.settings.error_next -= 1
                return True
            return self.settings.error_rate > 0 and self._rng.random() < self.settings.error_rate

    def take_storm(self) -> int | None:
        """Retry-After seconds when this call falls in a 429 storm, else None."""
        with self._lock:
            if self.settings.storm_next > 0:
                self.settings.storm_next -= 1
                return self.settings.retry_after
            if time.monotonic() < self.settings.storm_until:
                return self.settings.retry_after
            return None

    def take_stall(self) -> float:
        """Seconds to stall after applying a write (0 when no stall is armed)."""
        with self._lock:
            if self.settings.stall_after_write > 0:
                self.settings.stall_after_write -= 1
                return self.settings.stall_seconds
            return 0.0

    def take_page_fault(self) -> tuple[str, int] | None:
        with self._lock:
            if self.settings.page_fault and self.settings.page_fault_next > 0:
                self.settings.page_fault_next -= 1
                return self.settings.page_fault, self.settings.shift
            return None


def _number(key: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultError(f"{key} must be a number, not {value!r}")
    return float(value)
