"""Platform admin: find user accounts (to disable, re-enable or reset their MFA)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from reup_app.errors import (
    NotFound,
    ValidationError,
)
from reup_app.models import Entity, Membership, User
from reup_app.models.types import utcnow
from reup_app.security import mfa
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.security.tokens import (
    revoke_user_tokens,
)
from reup_app.services.identity import principal_cache
from reup_app.services.identity.common import (
    bump_token_version,
)
from reup_app.services.notifications.email import send_email

MAX_RESULTS = 50
RECENT = 25

__all__ = ["UserSummary", "admin_reset_mfa", "disable_user", "enable_user", "search_users"]


@dataclass(frozen=True)
class UserSummary:
    user_id: int
    email: str
    full_name: str
    is_active: bool
    mfa_enabled: bool
    is_platform_admin: bool
    businesses: tuple[str, ...]  # "Greenleaf Dispensary (buyer)"


def search_users(session: Session, principal: Principal, query: str) -> list[UserSummary]:
    """Accounts whose e-mail or name contains `query` (at least 3 characters); an empty query
    lists the most recently created accounts (what the users page opens with)."""
    authorize(principal, "user.disable", None)
    text = " ".join(query.split()) if isinstance(query, str) else ""
    if text == "":
        recent = select(User).order_by(col(User.created_at).desc(), col(User.id).desc()).limit(RECENT)
        return _summaries(session, list(session.exec(recent).all()))
    if len(text) < 3 or len(text) > 255:
        raise ValidationError("Type at least 3 characters of an e-mail address or name.", field="query")
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    users = session.exec(
        select(User)
        .where(col(User.email).like(pattern, escape="\\") | col(User.full_name).like(pattern, escape="\\"))
        .order_by(User.email)
        .limit(MAX_RESULTS)
    ).all()
    return _summaries(session, list(users))


def _summaries(session: Session, users: list[User]) -> list[UserSummary]:
    ids = [u.id for u in users]
    roles: dict[int, list[str]] = {}
    if ids:
        for uid, name, role in session.exec(
            select(Membership.user_id, Entity.name, Membership.role)
            .join(Entity, col(Entity.id) == col(Membership.entity_id))
            .where(col(Membership.user_id).in_(ids))
        ).all():
            roles.setdefault(uid, []).append(f"{name} ({role})")
    return [
        UserSummary(
            user_id=u.id,
            email=u.email,
            full_name=u.full_name,
            is_active=bool(u.is_active),
            mfa_enabled=bool(u.mfa_enabled),
            is_platform_admin=bool(u.is_platform_admin),
            businesses=tuple(roles.get(u.id, [])),
        )
        for u in users
    ]


def _admin_target(session: Session, principal: Principal, user_id: int) -> User:
    authorize(principal, "user.disable", None)
    user = session.exec(select(User).where(User.id == int(user_id)).with_for_update()).first()
    if user is None:
        raise NotFound("User not found.")
    return user


def disable_user(session: Session, principal: Principal, user_id: int) -> None:
    """Platform admin: block an account; every session of it ends within the cache TTL."""
    user = _admin_target(session, principal, user_id)
    if principal.user_id == user.id:
        raise ValidationError("You cannot disable your own account.")
    if not user.is_active:
        return
    user.is_active = False
    bump_token_version(user)
    session.add(user)
    revoke_user_tokens(session, user.id)
    principal_cache.invalidate_users(session, user.id)


def enable_user(session: Session, principal: Principal, user_id: int) -> None:
    user = _admin_target(session, principal, user_id)
    if user.is_active:
        return
    user.is_active = True
    user.updated_at = utcnow()
    session.add(user)
    principal_cache.invalidate_users(session, user.id)


def admin_reset_mfa(session: Session, principal: Principal, user_id: int) -> None:
    """Platform admin (support, after verifying identity): remove a user's 2FA so they re-enrol."""
    user = _admin_target(session, principal, user_id)
    user.mfa_enabled = False
    user.mfa_secret_encrypted = None
    bump_token_version(user)
    session.add(user)
    mfa.delete_recovery_codes(session, user.id)
    revoke_user_tokens(session, user.id)
    principal_cache.invalidate_users(session, user.id)
    send_email(
        session,
        user.email,
        "Your two-factor authentication was reset",
        f"Hello {user.full_name},\n\nReUp support removed two-factor authentication from your account. "
        f"You will be asked to set it up again when you next sign in, where it is required.\n",
    )
