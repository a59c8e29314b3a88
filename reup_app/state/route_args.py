"""Reading dynamic route segments (/products/<id>, /orders/<number>) from the browser URL."""

from __future__ import annotations


def route_arg(path: object, prefix: str) -> str:
    """The segment after `/<prefix>/` in `path` ("" when absent); untrusted, so callers validate it."""
    parts = [p for p in str(path or "").split("?")[0].split("/") if p]
    if len(parts) >= 2 and parts[-2] == prefix:
        return parts[-1][:64]
    return ""
