"""A business's team: invitations, members, roles, and its two-factor requirement.

Rules: owners and admins manage the team ("team.manage"); only an owner may grant, change or
remove the owner role; a business always keeps at least one owner (checked under row locks, so
two owners demoting each other at once cannot both succeed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from reup_app.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from reup_app.models import Entity, Membership, OneTimeToken, User
from reup_app.models.enums import EntityStatus, OneTimeTokenPurpose, Role
from reup_app.models.types import utcnow
from reup_app.security import passwords, ratelimit
from reup_app.security.events import security_event
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.security.tokens import revoke_user_tokens
from reup_app.services.common import get_row
from reup_app.services.identity import principal_cache
from reup_app.services.identity.common import (
    INVITE_TTL,
    act_as,
    create_one_time_token,
    expire_open_tokens,
    find_one_time_token,
    rate_key,
    user_by_email,
    validate_email,
    validate_name,
    validate_password,
    validate_role,
)
from reup_app.services.notifications.email import send_email
from reup_app.settings import get_settings

__all__ = [
    "AcceptedInvite",
    "InviteInfo",
    "MemberInfo",
    "accept_invite",
    "change_member_role",
    "describe_invite",
    "invite_member",
    "list_invites",
    "list_members",
    "remove_member",
    "revoke_invite",
    "set_require_mfa",
]

INVALID_INVITE = "This invitation is invalid, expired or already used. Ask for a new one."


@dataclass(frozen=True)
class InviteInfo:
    id: int
    email: str
    role: str
    entity_id: int
    entity_name: str
    expires_at: datetime
    existing_user: bool | None = None  # only reported to the holder of the link


@dataclass(frozen=True)
class MemberInfo:
    membership_id: int
    user_id: int
    email: str
    full_name: str
    role: str
    is_active: bool
    mfa_enabled: bool
    joined_at: datetime


@dataclass(frozen=True)
class AcceptedInvite:
    user_id: int
    entity_id: int
    role: str
    created_user: bool


def _is_owner(principal: Principal) -> bool:
    return principal.is_system or principal.has_role(Role.OWNER)


def _entity(session: Session, entity_id: int, *, lock: bool = False) -> Entity:
    try:
        eid = int(entity_id)
    except (TypeError, ValueError) as exc:
        raise NotFound("Business not found.") from exc
    q = select(Entity).where(Entity.id == eid)
    entity = session.exec(q.with_for_update() if lock else q).first()
    if entity is None:
        raise NotFound("Business not found.")
    return entity


def invite_member(session: Session, principal: Principal, entity_id: int, email: str, role: str) -> InviteInfo:
    """Owner/admin: e-mail an invitation link (valid 7 days, single use) to join as `role`."""
    entity = _entity(session, entity_id)
    authorize(principal, "team.manage", entity.id)
    addr = validate_email(email)
    validate_role(role)
    if role == Role.OWNER and not _is_owner(principal):
        raise PermissionDenied("Only an owner can invite another owner.")
    if entity.status != EntityStatus.APPROVED:
        raise Conflict(f"{entity.name} must be approved before inviting members.")
    existing = user_by_email(session, addr)
    if (
        existing is not None
        and session.exec(
            select(Membership.id).where(Membership.user_id == existing.id, Membership.entity_id == entity.id)
        ).first()
        is not None
    ):
        raise Conflict(f"{addr} is already a member of {entity.name}.")
    expire_open_tokens(session, purpose=OneTimeTokenPurpose.INVITE, email=addr, entity_id=entity.id)
    raw, row = create_one_time_token(
        session,
        purpose=OneTimeTokenPurpose.INVITE,
        email=addr,
        ttl=INVITE_TTL,
        user_id=existing.id if existing else None,
        entity_id=entity.id,
        role=role,
        created_by_user_id=principal.user_id,
    )
    inviter = session.get(User, principal.user_id) if principal.user_id else None
    by = f"{inviter.full_name} invited you" if inviter else "You are invited"
    link = f"{get_settings().app_url}/invite/{raw}"
    send_email(
        session,
        addr,
        f"Join {entity.name} on ReUp",
        f"Hello,\n\n{by} to join {entity.name} on ReUp as {role}.\n\nAccept within 7 days:\n\n{link}\n\n"
        f"If you did not expect this, ignore this e-mail.\n",
        sensitive=True,
    )
    return InviteInfo(
        id=row.id, email=addr, role=role, entity_id=entity.id, entity_name=entity.name, expires_at=row.expires_at
    )


def describe_invite(session: Session, token: str) -> InviteInfo:
    """What an invitation link offers (for the accept page); raises ValidationError if unusable."""
    ott = find_one_time_token(session, token, OneTimeTokenPurpose.INVITE, message=INVALID_INVITE)
    entity = session.get(Entity, ott.entity_id)
    if entity is None:
        raise ValidationError(INVALID_INVITE, field="token")
    return InviteInfo(
        id=ott.id,
        email=ott.email,
        role=ott.role or Role.VIEWER.value,
        entity_id=entity.id,
        entity_name=entity.name,
        expires_at=ott.expires_at,
        existing_user=user_by_email(session, ott.email) is not None,
    )


def accept_invite(
    session: Session, token: str, full_name: str | None, password: str, *, client_ip: str | None = None
) -> AcceptedInvite:
    """Join the business of an invitation.

    New address: creates the account with `full_name` and `password` (password policy applies).
    Existing account: `password` must be that account's password (`full_name` is ignored).
    The link is single use. Then sign in with `sign_in.login` as usual.
    """
    ott = find_one_time_token(session, token, OneTimeTokenPurpose.INVITE, lock=True, message=INVALID_INVITE)
    entity = session.get(Entity, ott.entity_id)
    if entity is None or entity.status != EntityStatus.APPROVED:
        raise ValidationError(INVALID_INVITE, field="token")
    role = validate_role(ott.role or Role.VIEWER.value)
    user = user_by_email(session, ott.email, lock=True)
    created = False
    if user is not None:
        key = rate_key("login:acct", user.email)
        ratelimit.enforce(key, ratelimit.LOGIN_PER_ACCOUNT, "Too many attempts for this account.")
        if not isinstance(password, str) or not passwords.verify_password(password, user.password_hash):
            raise ValidationError(f"The password for {user.email} is incorrect.", field="password")
        ratelimit.reset(key)
        if not user.is_active:
            raise PermissionDenied("This account has been disabled. Please contact ReUp support.")
    else:
        name = validate_name(full_name or "", "your full name", "full_name")
        validate_password(password, ott.email)
        user = User(email=ott.email, full_name=name, password_hash=passwords.hash_password(password))
        session.add(user)
        session.flush()
        created = True
    act_as(session, user, entity.id, role, client_ip)
    ott.used_at = utcnow()
    session.add(ott)
    already = session.exec(
        select(Membership).where(Membership.user_id == user.id, Membership.entity_id == entity.id)
    ).first()
    if already is None:
        session.add(Membership(user_id=user.id, entity_id=entity.id, role=role))
    session.flush()
    principal_cache.invalidate_users(session, user.id)
    return AcceptedInvite(
        user_id=user.id, entity_id=entity.id, role=already.role if already else role, created_user=created
    )


def list_invites(session: Session, principal: Principal, entity_id: int) -> list[InviteInfo]:
    """Open (unused, unexpired) invitations of a business."""
    entity = _entity(session, entity_id)
    authorize(principal, "team.view", entity.id)
    rows = session.exec(
        select(OneTimeToken)
        .where(
            OneTimeToken.entity_id == entity.id,
            OneTimeToken.purpose == OneTimeTokenPurpose.INVITE,
            col(OneTimeToken.used_at).is_(None),
            OneTimeToken.expires_at > utcnow(),
        )
        .order_by(col(OneTimeToken.id))
    ).all()
    return [
        InviteInfo(
            id=r.id,
            email=r.email,
            role=r.role or "",
            entity_id=entity.id,
            entity_name=entity.name,
            expires_at=r.expires_at,
        )
        for r in rows
    ]


def revoke_invite(session: Session, principal: Principal, invite_id: int) -> None:
    row = session.exec(
        select(OneTimeToken)
        .where(OneTimeToken.id == int(invite_id), OneTimeToken.purpose == OneTimeTokenPurpose.INVITE)
        .with_for_update()
    ).first()
    if row is None or row.entity_id is None:
        raise NotFound("Invitation not found.")
    authorize(principal, "team.manage", row.entity_id)
    if row.used_at is None:
        row.used_at = utcnow()
        session.add(row)
        session.flush()


def list_members(session: Session, principal: Principal, entity_id: int) -> list[MemberInfo]:
    entity = _entity(session, entity_id)
    authorize(principal, "team.view", entity.id)
    q = (
        select(Membership, User)
        .join(User, col(User.id) == col(Membership.user_id))
        .where(Membership.entity_id == entity.id)
        .order_by(col(Membership.id))
    )
    return [
        MemberInfo(
            membership_id=m.id,
            user_id=u.id,
            email=u.email,
            full_name=u.full_name,
            role=m.role,
            is_active=u.is_active,
            mfa_enabled=u.mfa_enabled,
            joined_at=m.created_at,
        )
        for m, u in session.exec(q).all()
    ]


def _locked_membership(session: Session, membership_id: int) -> Membership:
    try:
        mid = int(membership_id)
    except (TypeError, ValueError) as exc:
        raise NotFound("Member not found.") from exc
    m = session.exec(select(Membership).where(Membership.id == mid).with_for_update()).first()
    if m is None:
        raise NotFound("Member not found.")
    return m


def _owner_count_locked(session: Session, entity_id: int) -> int:
    return len(
        session.exec(
            select(Membership.id)
            .where(Membership.entity_id == entity_id, Membership.role == Role.OWNER.value)
            .with_for_update()
        ).all()
    )


def change_member_role(session: Session, principal: Principal, membership_id: int, role: str) -> MemberInfo:
    """Owner/admin: change a member's role (owner role: owners only; the last owner stays)."""
    m = _locked_membership(session, membership_id)
    authorize(principal, "team.manage", m.entity_id)
    validate_role(role)
    if (role == Role.OWNER or m.role == Role.OWNER) and not _is_owner(principal):
        raise PermissionDenied("Only an owner can grant or remove the owner role.")
    if m.role == role:
        pass
    elif m.role == Role.OWNER and _owner_count_locked(session, m.entity_id) <= 1:
        raise Conflict("A business must keep at least one owner. Make another member owner first.")
    else:
        security_event("team.role_changed", member_user=m.user_id, entity_id=m.entity_id, old=m.role, new=role)
        m.role = role
        session.add(m)
        session.flush()
        principal_cache.invalidate_users(session, m.user_id)
    u = get_row(session, User, m.user_id)
    return MemberInfo(
        membership_id=m.id,
        user_id=u.id,
        email=u.email,
        full_name=u.full_name,
        role=m.role,
        is_active=u.is_active,
        mfa_enabled=u.mfa_enabled,
        joined_at=m.created_at,
    )


def remove_member(session: Session, principal: Principal, membership_id: int) -> None:
    """Owner/admin: remove a member (owners only by an owner; never the last owner).

    Their sessions for this business end (refresh tokens revoked, cache invalidated).
    """
    m = _locked_membership(session, membership_id)
    authorize(principal, "team.manage", m.entity_id)
    if m.role == Role.OWNER:
        if not _is_owner(principal):
            raise PermissionDenied("Only an owner can remove an owner.")
        if _owner_count_locked(session, m.entity_id) <= 1:
            raise Conflict("A business must keep at least one owner. Make another member owner first.")
    user_id, entity_id = m.user_id, m.entity_id
    security_event("team.member_removed", member_user=user_id, entity_id=entity_id, old=m.role)
    session.delete(m)
    session.flush()
    revoke_user_tokens(session, user_id, entity_id=entity_id)
    principal_cache.invalidate_users(session, user_id)


def set_require_mfa(session: Session, principal: Principal, entity_id: int, required: bool) -> Entity:
    """Owner: require two-factor authentication for every member of the business.

    Members without 2FA are asked to set it up at their next sign-in or token refresh.
    """
    entity = _entity(session, entity_id, lock=True)
    authorize(principal, "entity.settings", entity.id)
    if not isinstance(required, bool):
        raise ValidationError("Choose on or off.", field="required")
    if entity.require_mfa != required:
        security_event("entity.require_mfa_changed", entity_id=entity.id, new=required)
        entity.require_mfa = required
        entity.updated_at = utcnow()
        session.add(entity)
        session.flush()
    return entity
