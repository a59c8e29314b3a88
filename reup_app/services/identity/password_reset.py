"""Passwords: change one's own password, request a reset link, and reset with it."""

from __future__ import annotations

from sqlmodel import Session, select

from reup_app.errors import (
    ValidationError,
)
from reup_app.models import Entity, Membership, User
from reup_app.models.enums import EntityStatus, OneTimeTokenPurpose
from reup_app.models.types import utcnow
from reup_app.security import passwords, ratelimit
from reup_app.security.principal import Principal
from reup_app.security.ratelimit import Limit, enforce
from reup_app.security.tokens import (
    revoke_user_tokens,
)
from reup_app.services.identity import principal_cache
from reup_app.services.identity.auth import LoginResult, SessionEnded, _issue
from reup_app.services.identity.common import (
    RESET_TTL,
    act_as,
    bump_token_version,
    choose_membership,
    create_one_time_token,
    expire_open_tokens,
    find_one_time_token,
    rate_key,
    require_user,
    validate_email,
    validate_password,
)
from reup_app.services.notifications.email import send_email
from reup_app.settings import get_settings

__all__ = ["change_password", "request_password_reset", "reset_password"]


PASSWORD_CHANGE_LIMIT = Limit(5, 15 * 60)


def change_password(
    session: Session,
    principal: Principal,
    current: str,
    new: str,
    *,
    client_ip: str | None = None,
    user_agent: str | None = None,
) -> LoginResult:
    """Change the caller's password; signs out every other session and returns fresh tokens."""
    uid = require_user(principal)
    enforce(f"pwchange:user:{uid}", PASSWORD_CHANGE_LIMIT, "Too many password attempts.")
    user = session.exec(select(User).where(User.id == uid).with_for_update()).first()
    if user is None or not user.is_active or user.token_version != principal.token_version:
        raise SessionEnded("Your session is no longer valid. Please sign in again.")
    if not isinstance(current, str) or not passwords.verify_password(current, user.password_hash):
        raise ValidationError("Your current password is incorrect.", field="current_password")
    validate_password(new, user.email, field="new_password")
    if passwords.verify_password(new, user.password_hash):
        raise ValidationError("The new password must be different from the current one.", field="new_password")
    user.password_hash = passwords.hash_password(new)
    bump_token_version(user)
    session.add(user)
    revoke_user_tokens(session, uid)
    principal_cache.invalidate_users(session, uid)
    send_email(
        session,
        user.email,
        "Your ReUp password was changed",
        f"Hello {user.full_name},\n\nThe password of your ReUp account was just changed and all other "
        f"sessions were signed out. If this was not you, reset your password now and contact ReUp support.\n",
    )
    entity, role = None, None
    if principal.entity_id is not None:
        entity = session.get(Entity, principal.entity_id)
        m = session.exec(
            select(Membership).where(Membership.user_id == uid, Membership.entity_id == principal.entity_id)
        ).first()
        role = m.role if m else None
        if m is None or entity is None or entity.status != EntityStatus.APPROVED:
            entity, role = None, None
    if entity is None and not user.is_platform_admin:
        entity, role = choose_membership(session, user)
    return _issue(session, user, entity, role, client_ip=client_ip, user_agent=user_agent)


def request_password_reset(session: Session, email: str, *, client_ip: str | None = None) -> None:
    """E-mail a reset link (valid 1 hour, single use) if an active account has this address.

    Says nothing about whether the account exists (same result either way).
    """
    if client_ip:
        enforce(f"reset:ip:{client_ip}", ratelimit.RESET_PER_IP, "Too many password reset requests.")
    addr = validate_email(email)
    enforce(
        rate_key("reset:acct", addr), ratelimit.RESET_PER_ACCOUNT, "Too many password reset requests for this address."
    )
    user = session.exec(select(User).where(User.email == addr)).first()
    if user is None or not user.is_active:
        return
    expire_open_tokens(session, purpose=OneTimeTokenPurpose.PASSWORD_RESET, email=addr)
    raw, _ = create_one_time_token(
        session, purpose=OneTimeTokenPurpose.PASSWORD_RESET, email=addr, ttl=RESET_TTL, user_id=user.id
    )
    link = f"{get_settings().app_url}/reset-password/{raw}"
    send_email(
        session,
        addr,
        "Reset your ReUp password",
        f"Hello {user.full_name},\n\nTo choose a new password, open this link within one hour:\n\n{link}\n\n"
        f"If you did not ask for this, ignore this e-mail; your password stays the same.\n",
        sensitive=True,
    )


RESET_LINK_INVALID = "This password reset link is invalid, expired or already used. Please request a new one."


def check_reset_code(session: Session, token: str) -> None:
    """ValidationError unless `token` is a usable reset link (the page says so before any typing)."""
    ott = find_one_time_token(session, token, OneTimeTokenPurpose.PASSWORD_RESET, message=RESET_LINK_INVALID)
    user = session.get(User, ott.user_id)
    if user is None or not user.is_active or user.email != ott.email:
        raise ValidationError(RESET_LINK_INVALID, field="token")


def reset_password(session: Session, token: str, new_password: str) -> None:
    """Set a new password from a reset link; signs out every session of the account."""
    message = RESET_LINK_INVALID
    ott = find_one_time_token(session, token, OneTimeTokenPurpose.PASSWORD_RESET, lock=True, message=message)
    user = session.exec(select(User).where(User.id == ott.user_id).with_for_update()).first()
    if user is None or not user.is_active or user.email != ott.email:
        raise ValidationError(message, field="token")
    validate_password(new_password, user.email)
    act_as(session, user)
    ott.used_at = utcnow()
    session.add(ott)
    user.password_hash = passwords.hash_password(new_password)
    bump_token_version(user)
    session.add(user)
    revoke_user_tokens(session, user.id)
    principal_cache.invalidate_users(session, user.id)
    ratelimit.reset(rate_key("login:acct", user.email))
    send_email(
        session,
        user.email,
        "Your ReUp password was reset",
        f"Hello {user.full_name},\n\nYour ReUp password was reset and all sessions were signed out. "
        f"If this was not you, contact ReUp support immediately.\n",
    )
