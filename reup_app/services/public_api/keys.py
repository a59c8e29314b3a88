"""API keys of a business: created by owners and admins, shown once, stored as SHA-256.

Each key gets its own service-account user (no membership, no usable password): the Principal a
key resolves to is that user acting for the key's business with the key's role, so every service
authorizes it exactly like a member with that role, and the audit trail names the key's user
("API key: <name>"). A cart, the order's `placed_by` and the audit rows are therefore the key's own.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from reup_app.errors import NotAuthenticated, NotFound, RateLimited, ValidationError
from reup_app.models import ApiKey, Entity, User
from reup_app.models.enums import EntityStatus, Role
from reup_app.models.types import utcnow
from reup_app.security import ratelimit
from reup_app.security.events import security_event
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services.common import acting_user, clean_text, parse_int, require_member
from reup_app.services.identity import principal_cache

KEY_PREFIX = "rk_"
MANAGE = "team.manage"  # owners and admins
DEFAULT_RATE_PER_MINUTE = 600
LAST_USED_GRANULARITY = timedelta(seconds=60)  # last_used_at is written at most once a minute per key
UNUSABLE_PASSWORD = "!api-key-service-account"  # never a valid argon2 hash: nobody signs in as a key


@dataclass(frozen=True)
class ApiKeyView:
    id: int
    name: str
    role: str
    prefix: str
    rate_limit_per_minute: int
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > utcnow())


@dataclass(frozen=True)
class NewApiKey:
    key: ApiKeyView
    secret: str  # shown once; only its hash is stored


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _view(row: ApiKey) -> ApiKeyView:
    return ApiKeyView(
        row.id,
        row.name,
        row.role,
        row.prefix,
        row.rate_limit_per_minute,
        row.created_at,
        row.last_used_at,
        row.expires_at,
        row.revoked_at,
    )


def list_keys(session: Session, principal: Principal) -> list[ApiKeyView]:
    entity_id = require_member(principal)
    authorize(principal, MANAGE, entity_id)
    rows = session.exec(select(ApiKey).where(ApiKey.entity_id == entity_id).order_by(col(ApiKey.id).desc())).all()
    return [_view(r) for r in rows]


def create_key(
    session: Session,
    principal: Principal,
    *,
    name: object,
    role: object,
    expires_in_days: object = None,
    rate_limit_per_minute: object = None,
) -> NewApiKey:
    """A new key for the principal's business; the returned secret is never stored or shown again."""
    entity_id = require_member(principal)
    authorize(principal, MANAGE, entity_id)
    creator = acting_user(principal)
    label = clean_text(name, "name", max_len=80, required=True, label="Name")
    if role not in set(Role):
        raise ValidationError("Choose one of the member roles for the key.", "role")
    if role == Role.OWNER and not principal.has_role(Role.OWNER):
        raise ValidationError("Only an owner may create a key with the owner role.", "role")
    now = utcnow()
    expires_at = None
    if expires_in_days not in (None, ""):
        days = parse_int(expires_in_days, "expires_in_days")
        if not 1 <= days <= 3650:
            raise ValidationError("Expiry must be between 1 and 3650 days.", "expires_in_days")
        expires_at = now + timedelta(days=days)
    rate = DEFAULT_RATE_PER_MINUTE
    if rate_limit_per_minute not in (None, ""):
        rate = parse_int(rate_limit_per_minute, "rate_limit_per_minute")
        if not 1 <= rate <= 100_000:
            raise ValidationError("The rate limit must be between 1 and 100000 requests a minute.", "rate")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    account = User(
        email=f"api-key-{uuid.uuid4().hex}@api.reup.invalid",
        full_name=f"API key: {label}"[:255],
        password_hash=UNUSABLE_PASSWORD,
        created_at=now,
        updated_at=now,
    )
    session.add(account)
    session.flush()
    row = ApiKey(
        entity_id=entity_id,
        user_id=account.id,
        name=label,
        role=str(role),
        prefix=secret[:11],
        key_hash=hash_secret(secret),
        rate_limit_per_minute=rate,
        created_by_user_id=creator,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return NewApiKey(_view(row), secret)


def revoke_key(session: Session, principal: Principal, key_id: object) -> ApiKeyView:
    entity_id = require_member(principal)
    row = session.get(ApiKey, parse_int(key_id, "key_id"))
    if row is None or row.entity_id != entity_id:
        raise NotFound("That API key was not found.")
    authorize(principal, MANAGE, row.entity_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        account = session.get(User, row.user_id)
        if account is not None:
            account.is_active = False
            account.token_version += 1
            session.add(account)
        session.add(row)
        session.flush()
        principal_cache.invalidate_api_keys(session, row.key_hash)  # every process refuses it from now on
    return _view(row)


@dataclass(frozen=True)
class KeyIdentity:
    principal: Principal
    key_id: int
    rate_limit_per_minute: int


def _check_presented(presented: object) -> str:
    if not isinstance(presented, str) or not presented.startswith(KEY_PREFIX) or len(presented) > 200:
        raise NotAuthenticated("A valid API key is required (Authorization: Bearer rk_...).")
    return presented


def _epoch(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


def _identity(state: dict, client_ip: str | None) -> KeyIdentity:
    """The request's identity from a resolved key (logged as a use of the key)."""
    security_event(
        "api_key.used",
        user_id=state["user"],
        entity_id=state["entity"],
        client_ip=client_ip,
        api_credential=state["id"],
        role=state["role"],
    )
    principal = Principal(
        user_id=state["user"], entity_id=state["entity"], roles=frozenset({state["role"]}), client_ip=client_ip
    )
    return KeyIdentity(principal, state["id"], state["rate"])


def authenticate(session: Session, presented: object, client_ip: str | None = None) -> KeyIdentity:
    """The Principal of a presented secret (NotAuthenticated for unknown, revoked or expired keys, or
    a business that is not approved), read from the database; a usable key is then cached
    (`principal_cache`, see `held_identity`). Updates last_used_at (at most once a minute)."""
    key_hash = hash_secret(_check_presented(presented))
    row = session.exec(select(ApiKey).where(ApiKey.key_hash == key_hash)).first()
    now = utcnow()
    if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        security_event(
            "api_key.refused",
            client_ip=client_ip,
            api_credential=row.id if row else None,
            reason="unknown, revoked or expired",
        )
        raise NotAuthenticated("This API key is unknown, revoked or expired.")
    entity = session.get(Entity, row.entity_id)
    if entity is None or entity.status != EntityStatus.APPROVED:
        security_event(
            "api_key.refused",
            entity_id=row.entity_id,
            client_ip=client_ip,
            api_credential=row.id,
            reason="business not active",
        )
        raise NotAuthenticated("This API key's business is not active.")
    last_used = row.last_used_at
    if last_used is None or last_used <= now - LAST_USED_GRANULARITY:
        mark_used(session, row.id, now)
        last_used = now
    state = key_state(row, last_used)
    principal_cache.remember_api_key(key_hash, state)
    return _identity(state, client_ip)


def key_state(row: ApiKey, last_used: datetime | None) -> dict:
    """What the principal cache keeps of a usable key (read back by `held_identity`)."""
    return {
        "id": row.id,
        "user": row.user_id,
        "entity": row.entity_id,
        "role": row.role,
        "rate": row.rate_limit_per_minute,
        "exp": _epoch(row.expires_at),
        "used": _epoch(last_used),
    }


def held_identity(presented: object, client_ip: str | None = None) -> tuple[KeyIdentity, bool] | None:
    """`authenticate` + `enforce_rate_limit` without the database, for a key this process (or the
    shared cache) resolved before: (identity, whether last_used_at is due an update: `mark_used`).
    The key's rate limit is counted in the same Redis round trip that checks that the shared entry
    still exists, so a key revoked (or whose business changed) in any process is refused at once.
    None when the key is not cached, expired, or its entry was invalidated: authenticate it with a
    session, then `enforce_rate_limit`."""
    key_hash = hash_secret(_check_presented(presented))
    state = principal_cache.api_key_held(key_hash)
    if state is None:
        state = principal_cache.api_key_shared(key_hash)
        if state is None:
            return None
    now = time.time()
    if state["exp"] is not None and state["exp"] <= now:
        principal_cache.forget_api_key_here(key_hash)
        return None  # the database refuses it, with the security event
    try:
        present = ratelimit.enforce_if_present(
            principal_cache.api_key_entry(key_hash), _rate_key(state["id"]), _rate(state["rate"]), RATE_MESSAGE
        )
    except RateLimited:
        _identity(state, client_ip)  # logged as a use, as on the database path, before the 429
        raise
    if not present:
        principal_cache.forget_api_key_here(key_hash)
        return None
    due = state["used"] is None or state["used"] <= now - LAST_USED_GRANULARITY.total_seconds()
    if due:
        state["used"] = now  # this process writes it; others see it within a minute from their own copy
    return _identity(state, client_ip), due


def mark_used(session: Session, key_id: int, now: datetime | None = None) -> None:
    """last_used_at of a key (at most once a minute)."""
    now = now or utcnow()
    stale = or_(col(ApiKey.last_used_at).is_(None), col(ApiKey.last_used_at) <= now - LAST_USED_GRANULARITY)
    session.execute(update(ApiKey).where(col(ApiKey.id) == key_id, stale).values(last_used_at=now))


RATE_MESSAGE = "Too many requests for this API key. Slow down and retry after the indicated time."


def _rate_key(key_id: int) -> str:
    return f"api:key:{key_id}"


def _rate(per_minute: int) -> ratelimit.Limit:
    return ratelimit.Limit(per_minute, 60)


def enforce_rate_limit(identity: KeyIdentity) -> None:
    """Per key, shared by every worker through the rate-limit backend (Redis when configured)."""
    ratelimit.enforce(_rate_key(identity.key_id), _rate(identity.rate_limit_per_minute), RATE_MESSAGE)
