"""The signed-in user's own profile and security summary (settings pages)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlmodel import Session, select

from reup_app.errors import NotFound, ValidationError
from reup_app.models import Entity, User
from reup_app.models.types import utcnow
from reup_app.security import mfa
from reup_app.security.principal import Principal
from reup_app.services.identity.common import mfa_required_for, require_user, validate_name

PHONE_RE = re.compile(r"^\+?[0-9 ().-]{7,31}$")


@dataclass(frozen=True)
class Profile:
    email: str
    full_name: str
    phone: str
    mfa_enabled: bool
    mfa_required: bool  # platform admin, or the business requires it: cannot be turned off
    recovery_codes_remaining: int
    business_requires_mfa: bool


def _me(session: Session, principal: Principal, *, lock: bool = False) -> User:
    q = select(User).where(User.id == require_user(principal))
    user = session.exec(q.with_for_update() if lock else q).first()
    if user is None or not user.is_active:
        raise NotFound("Account not found.")
    return user


def get_profile(session: Session, principal: Principal) -> Profile:
    user = _me(session, principal)
    entity = session.get(Entity, principal.entity_id) if principal.entity_id is not None else None
    return Profile(
        email=user.email,
        full_name=user.full_name,
        phone=user.phone or "",
        mfa_enabled=bool(user.mfa_enabled),
        mfa_required=mfa_required_for(user, entity),
        recovery_codes_remaining=mfa.remaining_recovery_codes(session, user.id) if user.mfa_enabled else 0,
        business_requires_mfa=bool(entity is not None and entity.require_mfa),
    )


def update_profile(session: Session, principal: Principal, *, full_name: str, phone: str | None) -> Profile:
    """Change the caller's own name and phone (e-mail is the sign-in name and is not changed here)."""
    name = validate_name(full_name, "your full name", "full_name")
    phone_value = " ".join(phone.split()) if isinstance(phone, str) else ""
    if phone_value and not PHONE_RE.match(phone_value):
        raise ValidationError(
            "Enter the phone number with digits only (spaces, dashes, brackets and a leading + "
            "are fine), e.g. +1 510 555 0100.",
            field="phone",
        )
    user = _me(session, principal, lock=True)
    user.full_name = name
    user.phone = phone_value or None
    user.updated_at = utcnow()
    session.add(user)
    session.flush()
    return get_profile(session, principal)


def business_kind(session: Session, principal: Principal) -> str | None:
    """ "retailer" / "wholesaler" / "both" for the business the principal acts for (None: none)."""
    if principal.entity_id is None:
        return None
    entity = session.get(Entity, principal.entity_id)
    return entity.kind if entity is not None else None
