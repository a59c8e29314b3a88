"""Who a browser's session cookie belongs to (for routes that bind a ticket to that browser)."""

from __future__ import annotations

from sqlmodel import Session

from reup_app.models.types import utcnow
from reup_app.security.tokens import find_refresh_token


def session_cookie_user(session: Session, raw: str) -> int | None:
    """The user id of a live (unused, unrevoked, unexpired) session-cookie token; None otherwise."""
    row = find_refresh_token(session, raw)
    if row is None or row.used_at is not None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    return row.user_id
