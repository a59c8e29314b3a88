"""Which browser session a session cookie belongs to (for routes that bind a ticket to that session)."""

from __future__ import annotations

from sqlmodel import Session

from reup_app.models.types import utcnow
from reup_app.security.tokens import find_refresh_token


def session_cookie_session(session: Session, raw: str) -> tuple[int, str] | None:
    """(user id, refresh-token family id) of a live (unused, unrevoked, unexpired) session-cookie
    token; None otherwise. The family stays the same across the cookie's rotations, so it names
    the browser session."""
    row = find_refresh_token(session, raw)
    if row is None or row.used_at is not None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    return row.user_id, row.family_id
