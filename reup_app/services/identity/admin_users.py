"""Platform admin: find user accounts (to disable, re-enable or reset their MFA)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from reup_app.errors import ValidationError
from reup_app.models import Entity, Membership, User
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal

MAX_RESULTS = 50


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
    """Accounts whose e-mail or name contains `query` (at least 3 characters)."""
    authorize(principal, "user.disable", None)
    text = " ".join(query.split()) if isinstance(query, str) else ""
    if len(text) < 3 or len(text) > 255:
        raise ValidationError("Type at least 3 characters of an e-mail address or name.", field="query")
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    users = session.exec(
        select(User)
        .where(User.email.like(pattern, escape="\\") | User.full_name.like(pattern, escape="\\"))
        .order_by(User.email)
        .limit(MAX_RESULTS)
    ).all()
    ids = [u.id for u in users]
    roles: dict[int, list[str]] = {}
    if ids:
        for uid, name, role in session.exec(
            select(Membership.user_id, Entity.name, Membership.role)
            .join(Entity, Entity.id == Membership.entity_id)
            .where(Membership.user_id.in_(ids))
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
