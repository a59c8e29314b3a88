"""METRC v2 conventions: the `Data` paging wrapper, 24-hour lastModified windows, 10-object chunks."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

MAX_PAGE_SIZE = 20
MAX_WINDOW = timedelta(hours=24)
MAX_WRITE_OBJECTS = 10
DEFAULT_LOOKBACK = timedelta(minutes=65)  # clock drift cover (domain.md 2.3)


@dataclass(frozen=True)
class Page:
    records: list[Any]
    page: int | None
    total_pages: int | None
    total_records: int | None


def _lower(raw: dict[str, Any]) -> dict[str, Any]:
    return {k.lower(): v for k, v in raw.items()}


def unwrap(body: Any) -> Page:
    """A page from `{Data, Page, TotalPages, TotalRecords, ...}` (any key casing) or a bare list."""
    if body is None:
        return Page([], None, None, None)
    if isinstance(body, list):
        return Page(body, 1, 1, len(body))
    if not isinstance(body, dict):
        raise ValueError(f"METRC answer is neither a list nor a Data wrapper: {type(body).__name__}")
    raw = _lower(body)
    if "data" not in raw:
        raise ValueError(f"METRC answer has no Data field (keys: {sorted(body)[:8]})")

    def num(name: str) -> int | None:
        value = raw.get(name)
        return int(value) if isinstance(value, int | float | str) and str(value).isdigit() else None

    return Page(
        list(raw.get("data") or []),
        num("currentpage") or num("page"),
        num("totalpages"),
        num("totalrecords") if num("totalrecords") is not None else num("total"),
    )


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    def params(self) -> dict[str, str]:
        return {"lastModifiedStart": iso(self.start), "lastModifiedEnd": iso(self.end)}


def iso(moment: datetime) -> str:
    """yyyy-mm-ddThh:mm:ssZ in UTC, the spec's pattern."""
    if moment.tzinfo is None:
        raise ValueError("METRC window times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def windows(
    since: datetime, until: datetime, *, lookback: timedelta = DEFAULT_LOOKBACK, size: timedelta = MAX_WINDOW
) -> list[Window]:
    """Back-to-back windows of at most `size` (<= 24 h), oldest first, from `since - lookback` to `until`."""
    if size > MAX_WINDOW or size <= timedelta(0):
        raise ValueError("a METRC window is at most 24 hours")
    start = since - lookback
    if until <= start:
        return []
    out = []
    while start < until:
        end = min(start + size, until)
        out.append(Window(start, end))
        start = end
    return out


def chunks(items: Sequence[Any], size: int = MAX_WRITE_OBJECTS) -> Iterator[list[Any]]:
    """Slices of at most `size` objects (METRC answers 413 above 10 per write)."""
    if not 1 <= size <= MAX_WRITE_OBJECTS:
        raise ValueError(f"METRC writes take 1..{MAX_WRITE_OBJECTS} objects")
    for i in range(0, len(items), size):
        yield list(items[i : i + size])
