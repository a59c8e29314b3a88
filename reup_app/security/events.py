"""Security event log: one line per security-relevant event, on the `reup.security` logger.

Every event carries who (user), for which business, from where (client address) and which request
(request id), taken from the current request context (`bind`) unless given explicitly. Events:
sign-in success/failure/throttled/challenged/unlocked, MFA enabled/disabled, role changes, API key
use, admin "view as", permission denials (`docs/SECURITY.md`, V7). Values are never secrets: the
fields are ids, addresses and short reasons; `_scrub` drops any field whose name looks secret.

    security_event("signin.failure", user_id=None, email_hash="...", reason="bad password")
"""

from __future__ import annotations

import contextvars
import logging
import uuid
from typing import Any

log = logging.getLogger("reup.security")

_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("reup_security_context", default=None)
_SECRET_NAMES = ("password", "token", "secret", "code", "key", "challenge", "cookie")


def new_request_id() -> str:
    return uuid.uuid4().hex[:16]


def current_context() -> dict[str, Any]:
    """The fields bound to the current request or event (a copy; empty outside any)."""
    return dict(_context.get() or {})


def current_request_id() -> str | None:
    return (_context.get() or {}).get("request_id")


def bind(**fields: Any) -> None:
    """Add fields (user_id, entity_id, client_ip, request_id) to this request's context."""
    cur = dict(_context.get() or {})
    cur.update({k: v for k, v in fields.items() if v is not None})
    _context.set(cur)


def begin_request(request_id: str | None = None) -> str:
    """Start a fresh context for one request or event; returns its request id."""
    rid = request_id or new_request_id()
    _context.set({"request_id": rid})
    return rid


def bind_principal(principal: Any) -> None:
    """Record the acting principal's user, business and address in this request's context."""
    bind(
        user_id=getattr(principal, "user_id", None),
        entity_id=getattr(principal, "entity_id", None),
        client_ip=getattr(principal, "client_ip", None),
    )


def _scrub(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: ("[redacted]" if any(s in k.lower() for s in _SECRET_NAMES) else v) for k, v in fields.items()}


def security_event(event: str, *, level: int = logging.INFO, **fields: Any) -> None:
    """Log one security event with user, business, address and request id."""
    ctx = dict(_context.get() or {})
    ctx.update({k: v for k, v in fields.items() if v is not None or k not in ctx})
    record = {
        "user": ctx.pop("user_id", None),
        "business": ctx.pop("entity_id", None),
        "address": ctx.pop("client_ip", None),
        "request_id": ctx.pop("request_id", None) or "-",
        **_scrub(ctx),
    }
    text = " ".join(f"{k}={v}" for k, v in record.items())
    log.log(level, "security %s %s", event, text, extra={"security_event": event, "security": record})
