"""Who called what, when: counts per path / facility / second, and the sliding one-second rate limiter."""

from __future__ import annotations

import math
import threading
import time
from collections import Counter, deque


class CallLog:
    """Counts vendor calls by (second, method, path template, facility, outcome status)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[int, str, str, str, int]] = Counter()

    def record(self, method: str, path: str, facility: str | None, status: int) -> None:
        key = (int(time.time()), method, path, facility or "", status)
        with self._lock:
            self._counts[key] += 1

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()

    def summary(self) -> dict:
        """Totals, per-path and per-facility counts, and the busiest second per facility (GETs)."""
        with self._lock:
            items = list(self._counts.items())
        by_path: Counter[str] = Counter()
        by_facility: Counter[str] = Counter()
        by_status: Counter[str] = Counter()
        per_second: Counter[tuple[int, str]] = Counter()
        per_second_all: Counter[int] = Counter()
        for (second, method, path, facility, status), n in items:
            by_path[f"{method} {path}"] += n
            by_facility[facility] += n
            by_status[str(status)] += n
            if method == "GET" and status != 429:
                per_second[(second, facility)] += n
                per_second_all[second] += n
        peak: dict[str, int] = {}
        for (_, facility), n in per_second.items():
            peak[facility] = max(peak.get(facility, 0), n)
        return {
            "total": sum(n for _, n in items),
            "by_path": dict(by_path),
            "by_facility": dict(by_facility),
            "by_status": dict(by_status),
            "peak_gets_per_second_by_facility": peak,
            "peak_gets_per_second": max(per_second_all.values(), default=0),
            "rows": [
                {"second": s, "method": m, "path": p, "facility": f, "status": st, "count": n}
                for (s, m, p, f, st), n in sorted(items)
            ],
        }


class SlidingWindowLimiter:
    """At most `limit` hits per key in any one-second window; `hit` answers the Retry-After when over."""

    def __init__(self, limit: int, window: float = 1.0) -> None:
        self.limit = limit
        self.window = window
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str) -> int | None:
        """Count one call for `key`; None when allowed, else whole seconds to wait (at least 1)."""
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(1, math.ceil(hits[0] + self.window - now))
            hits.append(now)
            return None

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()
