"""Turning browser-supplied event arguments into safe values (anything may arrive)."""

from __future__ import annotations

from typing import Any


def parse_id(value: Any) -> int | None:
    """A positive row id from a string or int the page sent; None for anything else."""
    text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    return int(text) if text.isdigit() and 0 < len(text) < 12 and int(text) > 0 else None
