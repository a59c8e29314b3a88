"""One-time tickets: a random code that stands for a small server-side payload for a few seconds.

Used where a browser must carry proof between two channels without ever holding a secret: the
sign-in cookie grant and session restore (`reup_app.api.auth_routes`), file downloads through
authorized routes. Only the SHA-256 of the code is used as the key; `take` consumes it atomically
(Redis GETDEL, or the in-memory store), so a code works once and only for its purpose.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

from reup_app.security.ratelimit import get_backend

DEFAULT_TTL_SECONDS = 60.0
MAX_CODE_LENGTH = 128


def ticket_key(purpose: str, code: str) -> str:
    return f"ticket:{purpose}:{hashlib.sha256(code.encode()).hexdigest()}"


def issue(purpose: str, payload: dict[str, Any], ttl_seconds: float = DEFAULT_TTL_SECONDS) -> str:
    """Store `payload` (JSON-able) under a new random code and return the code."""
    code = secrets.token_urlsafe(32)
    get_backend().set(ticket_key(purpose, code), json.dumps(payload), ttl_seconds)
    return code


def take(purpose: str, code: Any) -> dict[str, Any] | None:
    """The payload for `code` (consuming it), or None if unknown, used, expired or malformed."""
    if not isinstance(code, str) or not code or len(code) > MAX_CODE_LENGTH:
        return None
    raw = get_backend().take(ticket_key(purpose, code))
    if raw is None:
        return None
    try:
        payload = json.loads(raw)
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def peek(purpose: str, code: Any) -> dict[str, Any] | None:
    """Like `take`, without consuming (for links that may be opened again within their TTL)."""
    if not isinstance(code, str) or not code or len(code) > MAX_CODE_LENGTH:
        return None
    raw = get_backend().get(ticket_key(purpose, code))
    try:
        payload = json.loads(raw) if raw else None
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None
