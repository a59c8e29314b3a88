"""Business sign-up and platform moderation (approve / reject / suspend)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from reup_app.errors import Conflict, NotFound, ValidationError
from reup_app.models import Entity, License, Membership, User
from reup_app.models.enums import EntityKind, EntityStatus, Role
from reup_app.models.types import utcnow
from reup_app.security import passwords, ratelimit
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services.compliance.license_calendar import is_current
from reup_app.services.identity import principal_cache
from reup_app.services.identity.common import (
    user_by_email,
    validate_email,
    validate_name,
    validate_password,
)
from reup_app.services.notifications.email import send_email
from reup_app.settings import get_settings

__all__ = [
    "BusinessReview",
    "SignupResult",
    "US_STATES",
    "approve_entity",
    "list_businesses",
    "reject_entity",
    "signup_business",
    "suspend_entity",
]

US_STATES = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND "
    "OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI MP AS".split()
)
LICENSE_NUMBER_RE = re.compile(r"^[A-Z0-9][A-Z0-9./ -]{2,62}[A-Z0-9]$")
LICENSE_TYPE_RE = re.compile(r"^[a-z0-9][a-z0-9_ -]{1,63}$")
MAX_LICENSES = 20


@dataclass(frozen=True)
class SignupResult:
    entity_id: int
    user_id: int
    license_ids: tuple[int, ...]


def _parse_date(value, label: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValidationError(f"{label}: the expiry date must look like 2027-12-31.", field="licenses")


def _validate_licenses(licenses) -> list[dict]:
    if not isinstance(licenses, (list, tuple)) or not licenses:
        raise ValidationError("Add at least one state cannabis license.", field="licenses")
    if len(licenses) > MAX_LICENSES:
        raise ValidationError(f"At most {MAX_LICENSES} licenses can be added at sign-up.", field="licenses")
    out, seen = [], set()
    for i, lic in enumerate(licenses, start=1):
        if not isinstance(lic, dict):
            raise ValidationError(f"License {i} is incomplete.", field="licenses")
        state = str(lic.get("state") or "").strip().upper()
        number = " ".join(str(lic.get("number") or "").split()).upper()
        ltype = " ".join(str(lic.get("license_type") or "").split()).lower()
        label = f"License {number or i}"
        if state not in US_STATES:
            raise ValidationError(
                f"{label}: choose the US state that issued it (two letters, e.g. CA).", field="licenses"
            )
        if not number:
            raise ValidationError(f"License {i}: enter the license number.", field="licenses")
        if not LICENSE_NUMBER_RE.match(number) or not any(c.isdigit() for c in number):
            raise ValidationError(
                f"{label}: a license number is 4-64 letters and digits (dashes, dots, slashes and spaces "
                "allowed inside) and contains at least one digit.",
                field="licenses",
            )
        if not LICENSE_TYPE_RE.match(ltype):
            raise ValidationError(
                f"{label}: enter the license type (e.g. distributor, adult_use_retail).", field="licenses"
            )
        expires = _parse_date(lic.get("expires_on"), label)
        if expires is not None and not is_current(expires, state):  # the date in the issuing state
            raise ValidationError(f"{label} expired on {expires.isoformat()}; add a current license.", field="licenses")
        if (state, number) in seen:
            raise ValidationError(f"{label} ({state}) is listed twice.", field="licenses")
        seen.add((state, number))
        out.append({"state": state, "number": number, "license_type": ltype.replace(" ", "_"), "expires_on": expires})
    return out


def signup_business(
    session: Session,
    *,
    business_name: str,
    kind: str,
    email: str,
    full_name: str,
    password: str,
    licenses: list[dict],
    client_ip: str | None = None,
) -> SignupResult:
    """Register a business: a pending Entity, its owner (User + Membership) and its licenses.

    Nobody can sign in for it until a platform admin approves it; the admins are e-mailed.
    """
    if client_ip is not None:
        ratelimit.enforce(f"signup:ip:{client_ip}", ratelimit.SIGNUP_PER_IP, "Too many sign-ups from your network.")
    name = validate_name(business_name, "business name", "business_name", min_len=2)
    if kind not in {k.value for k in EntityKind}:
        raise ValidationError("Choose whether the business is a retailer or a wholesaler.", field="kind")
    addr = validate_email(email)
    person = validate_name(full_name, "your full name", "full_name")
    validate_password(password, addr)
    lics = _validate_licenses(licenses)

    _check_not_registered(session, addr, lics)

    entity = Entity(name=name, kind=kind, status=EntityStatus.PENDING.value, email=addr, state=lics[0]["state"])
    user = User(email=addr, full_name=person, password_hash=passwords.hash_password(password))
    try:
        session.add(entity)
        session.add(user)
        session.flush()
        session.add(Membership(user_id=user.id, entity_id=entity.id, role=Role.OWNER.value))
        rows = [License(entity_id=entity.id, **lic) for lic in lics]
        for r in rows:
            session.add(r)
        session.flush()
    except IntegrityError as exc:  # a concurrent sign-up won the race for the e-mail or a license
        raise ValidationError("This e-mail address or license was just registered by someone else.") from exc

    _email_signup(session, rows, name=name, kind=kind, person=person, addr=addr)
    return SignupResult(entity_id=entity.id, user_id=user.id, license_ids=tuple(r.id for r in rows))


def _check_not_registered(session: Session, addr: str, lics: list[dict]) -> None:
    """Refuse an e-mail address or a license that already has an account."""
    if user_by_email(session, addr) is not None:
        raise ValidationError(
            "An account with this e-mail already exists. Sign in, or use 'Forgot password' if you cannot.",
            field="email",
        )
    for lic in lics:
        taken = session.exec(
            select(License.id).where(License.state == lic["state"], License.number == lic["number"])
        ).first()
        if taken is not None:
            raise ValidationError(
                f"License {lic['number']} ({lic['state']}) is already registered on ReUp. "
                "If it is yours, contact ReUp support.",
                field="licenses",
            )


def _email_signup(session: Session, rows: list[License], *, name: str, kind: str, person: str, addr: str) -> None:
    """Tell the platform admins there is a business to review, and the applicant that it arrived."""
    app_url = get_settings().app_url
    admins = session.exec(
        select(User).where(col(User.is_platform_admin).is_(True), col(User.is_active).is_(True))
    ).all()
    lic_lines = "\n".join(f"  - {r.state} {r.number} ({r.license_type})" for r in rows)
    for admin in admins:
        send_email(
            session,
            admin.email,
            f"New business to review: {name}",
            f"{name} ({kind}) signed up and is waiting for approval.\n\nOwner: {person} <{addr}>\n"
            f"Licenses:\n{lic_lines}\n\nReview: {app_url}/admin/businesses\n",
        )
    send_email(
        session,
        addr,
        "We received your ReUp application",
        f"Hello {person},\n\nThanks for signing up {name}. ReUp checks every license before a business "
        f"can trade; we will e-mail you when your account is approved.\n",
    )


# --- moderation -----------------------------------------------------------------------------


def _locked_entity(session: Session, entity_id: int) -> Entity:
    entity = session.exec(select(Entity).where(Entity.id == int(entity_id)).with_for_update()).first()
    if entity is None:
        raise NotFound("Business not found.")
    return entity


def _owner_emails(session: Session, entity_id: int) -> list[tuple[str, str]]:
    q = (
        select(User.email, User.full_name)
        .join(Membership, col(Membership.user_id) == col(User.id))
        .where(
            col(Membership.entity_id) == entity_id,
            col(Membership.role) == Role.OWNER.value,
            col(User.is_active).is_(True),
        )
    )
    return [(e, n) for e, n in session.exec(q).all()]


def _notify_owners(session: Session, entity: Entity, subject: str, text: str) -> None:
    for email, name in _owner_emails(session, entity.id):
        send_email(session, email, subject, f"Hello {name},\n\n{text}\n")


def approve_entity(session: Session, principal: Principal, entity_id: int) -> Entity:
    """Platform admin: approve a pending (or reinstate a suspended/rejected) business."""
    authorize(principal, "entity.approve", entity_id)
    entity = _locked_entity(session, entity_id)
    if entity.status == EntityStatus.APPROVED:
        raise Conflict(f"{entity.name} is already approved.")
    entity.approved_at = utcnow()
    entity.approved_by_user_id = principal.user_id
    return _set_status(
        session,
        entity,
        EntityStatus.APPROVED,
        None,
        f"{entity.name} is approved on ReUp",
        f"{entity.name} has been approved. You can sign in now: {get_settings().app_url}/login",
    )


def _set_status(
    session: Session, entity: Entity, status: EntityStatus, reason: str | None, subject: str, body: str
) -> Entity:
    """Store the new status, end members' cached access, and tell the owners."""
    entity.status = status.value
    entity.rejection_reason = reason
    entity.updated_at = utcnow()
    session.add(entity)
    session.flush()
    principal_cache.invalidate_entity_members(session, entity.id)
    _notify_owners(session, entity, subject, body)
    return entity


def reject_entity(session: Session, principal: Principal, entity_id: int, reason: str) -> Entity:
    """Platform admin: reject a pending application with a reason the owner will see."""
    authorize(principal, "entity.approve", entity_id)
    why = validate_name(reason, "reason for the rejection", "reason", min_len=3)
    entity = _locked_entity(session, entity_id)
    if entity.status != EntityStatus.PENDING:
        raise Conflict(f"Only pending applications can be rejected; {entity.name} is {entity.status}.")
    return _set_status(
        session,
        entity,
        EntityStatus.REJECTED,
        why,
        f"Your ReUp application for {entity.name}",
        f"We could not approve {entity.name}.\n\nReason: {why}\n\nReply to this e-mail or contact "
        "ReUp support if you can resolve this.",
    )


def suspend_entity(session: Session, principal: Principal, entity_id: int, reason: str | None = None) -> Entity:
    """Platform admin: suspend an approved business; its members lose access within the cache TTL."""
    authorize(principal, "entity.suspend", entity_id)
    why = validate_name(reason, "reason", "reason") if reason else None
    entity = _locked_entity(session, entity_id)
    if entity.status != EntityStatus.APPROVED:
        raise Conflict(f"Only approved businesses can be suspended; {entity.name} is {entity.status}.")
    return _set_status(
        session,
        entity,
        EntityStatus.SUSPENDED,
        why,
        f"{entity.name} is suspended on ReUp",
        f"{entity.name} has been suspended{': ' + why if why else ''}. Please contact ReUp support.",
    )


@dataclass(frozen=True)
class BusinessReview:
    """What a platform admin needs to decide on a business (no member secrets)."""

    entity_id: int
    name: str
    kind: str
    status: str
    owner_name: str
    owner_email: str
    licenses: tuple[str, ...]  # "CA C11-0000123-LIC (distributor, expires 2027-01-31)"
    created_at: object
    rejection_reason: str | None


def list_businesses(
    session: Session, principal: Principal, *, status: str | None = "pending", limit: int = 200
) -> list[BusinessReview]:
    """Platform admin: businesses by status (pending first-come first-served), with licenses."""
    authorize(principal, "entity.approve", None)
    if status is not None and status not in {s.value for s in EntityStatus}:
        raise ValidationError("Unknown status.", field="status")
    q = select(Entity)
    if status is not None:
        q = q.where(Entity.status == status)
    entities = session.exec(
        q.order_by(col(Entity.created_at), col(Entity.id)).limit(max(1, min(int(limit), 500)))
    ).all()
    ids = [e.id for e in entities]
    if not ids:
        return []
    licenses: dict[int, list[str]] = {}
    for lic in session.exec(select(License).where(col(License.entity_id).in_(ids)).order_by(col(License.id))).all():
        exp = f", expires {lic.expires_on.isoformat()}" if lic.expires_on else ""
        licenses.setdefault(lic.entity_id, []).append(f"{lic.state} {lic.number} ({lic.license_type}{exp})")
    owners: dict[int, tuple[str, str]] = {}
    q_owner = (
        select(Membership.entity_id, User.full_name, User.email)
        .join(User, col(User.id) == col(Membership.user_id))
        .where(col(Membership.entity_id).in_(ids), col(Membership.role) == Role.OWNER.value)
        .order_by(col(Membership.id))
    )
    for entity_id, name, email in session.exec(q_owner).all():
        owners.setdefault(entity_id, (name, email))
    return [
        BusinessReview(
            entity_id=e.id,
            name=e.name,
            kind=e.kind,
            status=e.status,
            owner_name=owners.get(e.id, ("", ""))[0],
            owner_email=owners.get(e.id, ("", ""))[1],
            licenses=tuple(licenses.get(e.id, [])),
            created_at=e.created_at,
            rejection_reason=e.rejection_reason,
        )
        for e in entities
    ]
