"""Structured logs: one JSON object per line (python-json-logger), every record carrying the id of
the request or event it belongs to, so the id a user's error message quotes finds its lines.

    {"time": "2026-11-28T09:10:11.123Z", "level": "ERROR", "logger": "reup_app.state.base",
     "message": "checkout failed", "request_id": "5f0c1a2b3c4d5e6f", "user": 13, "business": 3, ...}

The request id comes from the context `security.events.begin_request` opens: per HTTP request
(`api.request_ids`, which also answers it as `X-Request-ID`), per Reflex event (the argument guard)
and per job run. `REUP_LOG_FORMAT=text` gives the classic one-line format for reading by eye.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

from pythonjsonlogger.json import JsonFormatter

from reup_app.security.events import current_context

_QUIET = {"alembic": logging.WARNING, "apscheduler": logging.WARNING, "httpx": logging.WARNING}
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


class RequestContext(logging.Filter):
    """Adds request_id, user and business of the current request or event to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = current_context()
        if not hasattr(record, "request_id"):
            record.request_id = ctx.get("request_id") or "-"
        for field, key in (("user", "user_id"), ("business", "entity_id")):
            if not hasattr(record, field) and ctx.get(key) is not None:
                setattr(record, field, ctx[key])
        return True


class _Json(JsonFormatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        at = datetime.fromtimestamp(record.created, UTC)
        return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def json_formatter() -> logging.Formatter:
    return _Json(
        "{asctime}{levelname}{name}{message}{request_id}",
        style="{",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        json_ensure_ascii=False,
    )


def configure_logging(fmt: str = "json", level: int = logging.INFO, stream=None) -> logging.Handler:
    """Send every record to one stream handler (stderr) in `fmt` ("json" or "text"); idempotent."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_reup", False):
            root.removeHandler(h)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler._reup = True  # type: ignore[attr-defined]
    handler.addFilter(RequestContext())
    handler.setFormatter(json_formatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    for name, quiet in _QUIET.items():
        logging.getLogger(name).setLevel(quiet)
    return handler
