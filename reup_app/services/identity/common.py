"""Helpers shared by the identity services (auth, signup, team). Not a public API."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from reup_app.errors import NotAuthenticated, ValidationError
from reup_app.models import Entity, Membership, OneTimeToken, User
from reup_app.models.enums import EntityStatus, Role
from reup_app.models.types import utcnow
from reup_app.security import passwords
from reup_app.security.principal import Principal
from reup_app.security.tokens import hash_token

EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
ROLES = tuple(r.value for r in Role)
INVITE_TTL = timedelta(days=7)
RESET_TTL = timedelta(hours=1)


class AccountBlocked(NotAuthenticated):
    """Correct credentials, but the account or its business may not sign in (message says why)."""


def normalize_email(email: str) -> str:
    return (email or "").strip().lower() if isinstance(email, str) else ""


def validate_email(email: str, field: str = "email") -> str:
    e = normalize_email(email)
    if not e:
        raise ValidationError("Enter an e-mail address.", field=field)
    if len(e) > 254 or not EMAIL_RE.match(e) or ".." in e.split("@")[0]:
        raise ValidationError(f"{email.strip()!r} is not a valid e-mail address.", field=field)
    return e


def validate_password(password: str, email: str | None = None, field: str = "password") -> str:
    try:
        passwords.check_policy(password, email=email)
    except passwords.PasswordPolicyError as exc:
        raise ValidationError(str(exc), field=field) from exc
    return password


def validate_name(value: str, label: str, field: str, *, min_len: int = 1, max_len: int = 255) -> str:
    v = " ".join(value.split()) if isinstance(value, str) else ""
    if len(v) < min_len:
        raise ValidationError(
            f"Enter the {label}." if min_len <= 1 else f"The {label} must be at least {min_len} characters.",
            field=field,
        )
    if len(v) > max_len:
        raise ValidationError(f"The {label} must be at most {max_len} characters.", field=field)
    if any(ord(c) < 32 for c in v):
        raise ValidationError(f"The {label} contains invalid characters.", field=field)
    return v


def validate_role(role: str) -> str:
    if role not in ROLES:
        raise ValidationError(f"Role must be one of: {', '.join(ROLES)}.", field="role")
    return role


def user_by_email(session: Session, email: str, *, lock: bool = False) -> User | None:
    q = select(User).where(User.email == email)
    if lock:
        q = q.with_for_update()
    return session.exec(q).first()


def require_user(principal: Principal) -> int:
    if not principal.is_authenticated or principal.user_id is None:
        raise NotAuthenticated("Please sign in to continue.")
    return int(principal.user_id)


def entity_block_message(entity: Entity) -> str:
    if entity.status == EntityStatus.PENDING:
        return f"{entity.name} is awaiting approval by ReUp. We will e-mail you as soon as it is approved."
    if entity.status == EntityStatus.REJECTED:
        reason = f" Reason: {entity.rejection_reason}" if entity.rejection_reason else ""
        return f"The application for {entity.name} was not approved.{reason}"
    if entity.status == EntityStatus.SUSPENDED:
        return f"{entity.name} is suspended. Please contact ReUp support."
    return f"{entity.name} cannot be used right now."


@dataclass(frozen=True)
class EntityChoice:
    entity_id: int
    name: str
    kind: str
    status: str
    role: str
    require_mfa: bool


def memberships_of(session: Session, user_id: int) -> list[tuple[Membership, Entity]]:
    q = (
        select(Membership, Entity)
        .join(Entity, col(Entity.id) == col(Membership.entity_id))
        .where(Membership.user_id == user_id)
        .order_by(col(Membership.id))
    )
    return list(session.exec(q).all())


def entity_choices(session: Session, user_id: int) -> tuple[EntityChoice, ...]:
    return tuple(
        EntityChoice(
            entity_id=e.id, name=e.name, kind=e.kind, status=e.status, role=m.role, require_mfa=bool(e.require_mfa)
        )
        for m, e in memberships_of(session, user_id)
    )


def choose_membership(
    session: Session,
    user: User,
    preferred_entity_id: int | None = None,
) -> tuple[Entity | None, str | None]:
    """The (entity, role) a user acts for after sign-in; platform admins default to none.

    Members of several businesses get the first approved one (oldest membership) unless
    `preferred_entity_id` names another. Raise AccountBlocked with a clear reason otherwise.
    """
    rows = memberships_of(session, user.id)
    if preferred_entity_id is not None:
        for m, e in rows:
            if e.id == preferred_entity_id:
                if e.status != EntityStatus.APPROVED:
                    raise AccountBlocked(entity_block_message(e))
                return e, m.role
        if user.is_platform_admin:
            return None, None
        raise AccountBlocked("You are no longer a member of that business.")
    if user.is_platform_admin:
        return None, None
    for m, e in rows:
        if e.status == EntityStatus.APPROVED:
            return e, m.role
    if rows:
        raise AccountBlocked(entity_block_message(rows[0][1]))
    raise AccountBlocked("Your account is not linked to any business. Ask your business owner for an invitation.")


def mfa_required_for(user: User, entity: Entity | None) -> bool:
    return bool(user.is_platform_admin or (entity is not None and entity.require_mfa))


def mfa_required_anywhere(session: Session, user: User) -> bool:
    """MFA is required for this user in at least one place (admin, or any of their businesses)."""
    if user.is_platform_admin:
        return True
    return any(e.require_mfa for _, e in memberships_of(session, user.id))


def act_as(
    session: Session, user: User, entity_id: int | None = None, role: str | None = None, client_ip: str | None = None
) -> None:
    """Attribute the rest of this unit of work to `user` in the audit trail (when nobody else is)."""
    current = session.info.get("principal")
    if current is not None and getattr(current, "is_authenticated", False):
        return
    session.info["principal"] = Principal(
        user_id=user.id,
        entity_id=entity_id,
        roles=frozenset({role}) if role else frozenset(),
        is_platform_admin=bool(user.is_platform_admin),
        token_version=user.token_version,
        client_ip=client_ip,
    )


def bump_token_version(user: User) -> None:
    user.token_version = int(user.token_version or 1) + 1
    user.updated_at = utcnow()


def rate_key(kind: str, value: str) -> str:
    """A rate-limit key that does not put e-mail addresses in Redis."""
    return f"{kind}:{hashlib.sha256(value.encode()).hexdigest()[:32]}"


# --- one-time tokens (invitations, password resets) ----------------------------------------


def create_one_time_token(
    session: Session,
    *,
    purpose: str,
    email: str,
    ttl: timedelta,
    user_id: int | None = None,
    entity_id: int | None = None,
    role: str | None = None,
    created_by_user_id: int | None = None,
) -> tuple[str, OneTimeToken]:
    raw = secrets.token_urlsafe(32)
    row = OneTimeToken(
        purpose=purpose,
        token_hash=hash_token(raw),
        email=email,
        user_id=user_id,
        entity_id=entity_id,
        role=role,
        created_by_user_id=created_by_user_id,
        expires_at=utcnow() + ttl,
    )
    session.add(row)
    session.flush()
    return raw, row


def find_one_time_token(
    session: Session,
    raw: str,
    purpose: str,
    *,
    lock: bool = False,
    now: datetime | None = None,
    message: str = "This link is invalid or has expired.",
) -> OneTimeToken:
    """The usable token for `raw` (right purpose, unused, unexpired) or ValidationError."""
    if not isinstance(raw, str) or not raw or len(raw) > 256:
        raise ValidationError(message, field="token")
    q = select(OneTimeToken).where(OneTimeToken.token_hash == hash_token(raw))
    if lock:
        q = q.with_for_update()
    row = session.exec(q).first()
    if row is None or row.purpose != purpose or row.used_at is not None or row.expires_at <= (now or utcnow()):
        raise ValidationError(message, field="token")
    return row


def expire_open_tokens(session: Session, *, purpose: str, email: str, entity_id: int | None = None) -> None:
    """Mark earlier unused tokens of this purpose for this address (and entity) as used."""
    q = select(OneTimeToken).where(
        OneTimeToken.purpose == purpose,
        OneTimeToken.email == email,
        col(OneTimeToken.used_at).is_(None),
        OneTimeToken.expires_at > utcnow(),
    )
    if entity_id is not None:
        q = q.where(OneTimeToken.entity_id == entity_id)
    now = utcnow()
    for row in session.exec(q).all():
        row.used_at = now
        session.add(row)
