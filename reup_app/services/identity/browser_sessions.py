"""Browser sessions: the HttpOnly cookie that restores a session in a new tab, and each tab's session.

The cookie holds a refresh token of its own family (never shown to page scripts); each tab gets a
separate token pair kept in backend-only state. See reup_app/api/auth_routes.py.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from reup_app.models import Entity, Membership, User
from reup_app.models.enums import EntityStatus
from reup_app.security.tokens import find_refresh_token, issue_refresh_token
from reup_app.services.identity.auth import LoginResult, SessionEnded, _issue, refresh
from reup_app.services.identity.common import (
    mfa_required_for,
)

__all__ = ["issue_cookie_token", "issue_tab_session", "rotate_cookie_token"]


def _session_subject(
    session: Session,
    user_id: int,
    entity_id: int | None,
    token_version: int,
) -> tuple[User, Entity | None, str | None]:
    """The user, entity and role for a server-verified hand-over; SessionEnded if it no longer holds."""
    user = session.get(User, int(user_id))
    if user is None or not user.is_active or user.token_version != int(token_version):
        raise SessionEnded("Your session is no longer valid. Please sign in again.")
    if entity_id is None:
        if not user.is_platform_admin:
            raise SessionEnded("Your session is no longer valid. Please sign in again.")
        return user, None, None
    pair = session.exec(
        select(Membership, Entity)
        .join(Entity, col(Entity.id) == col(Membership.entity_id))
        .where(Membership.user_id == user.id, Membership.entity_id == int(entity_id))
    ).first()
    if pair is None or pair[1].status != EntityStatus.APPROVED:
        raise SessionEnded("Your session is no longer valid. Please sign in again.")
    return user, pair[1], pair[0].role


def issue_cookie_token(
    session: Session,
    *,
    user_id: int,
    entity_id: int | None,
    token_version: int,
    family_id: str | None = None,
    client_ip: str | None = None,
    user_agent: str | None = None,
) -> str:
    """A refresh token of a new family for the browser's session cookie (after a verified sign-in).
    `family_id`: the browser session's id chosen by the signing-in tab (see ticket_links), so that
    tab can bind display tickets to this cookie."""
    user, entity, _role = _session_subject(session, user_id, entity_id, token_version)
    raw, _ = issue_refresh_token(
        session,
        user_id=user.id,
        entity_id=entity.id if entity else None,
        family_id=family_id or None,
        client_ip=client_ip,
        user_agent=user_agent,
    )
    return raw


def rotate_cookie_token(
    session: Session, raw_cookie: str, *, client_ip: str | None = None, user_agent: str | None = None
) -> tuple[LoginResult, str]:
    """Use the cookie's refresh token once (rotation + reuse detection as for any refresh token);
    returns the result and the cookie's family id (the browser session, unchanged by rotation)."""
    result = refresh(session, raw_cookie, client_ip=client_ip, user_agent=user_agent)
    row = find_refresh_token(session, result.refresh_token or "")
    if row is None:
        raise SessionEnded("Your session is no longer valid. Please sign in again.")
    return result, row.family_id


def issue_tab_session(
    session: Session,
    *,
    user_id: int,
    entity_id: int | None,
    token_version: int,
    client_ip: str | None = None,
    user_agent: str | None = None,
) -> LoginResult:
    """A fresh token pair (new family) for one browser tab, after the cookie was verified."""
    user, entity, role = _session_subject(session, user_id, entity_id, token_version)
    if mfa_required_for(user, entity) and not user.mfa_enabled:
        raise SessionEnded("Two-factor authentication is now required. Please sign in again to set it up.")
    return _issue(session, user, entity, role, client_ip=client_ip, user_agent=user_agent)
