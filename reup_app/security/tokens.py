"""Access tokens (JWT), MFA challenge tokens (JWT) and rotating refresh tokens (opaque, DB).

Access token: HS256 signed with settings.secret_key, issuer and audience "reup", claims
``sub`` (user id, string), ``ent`` (entity id or null), ``roles``, ``adm`` (platform admin),
``tv`` (users.token_version), ``iat``, ``exp`` (at most 60 minutes), ``jti``, ``typ="access"``.
A valid signature is not enough: `reup_app.services.identity.auth.resolve_principal` re-checks the user,
token version, membership and entity on the server for every call.

Refresh token: ``secrets.token_urlsafe(32)``; only its SHA-256 is stored (`RefreshToken`). Each
use rotates it (old one marked used, a new one issued in the same family). Presenting a used token
again means it was stolen or replayed: the whole family is revoked (committed even though the
call then fails) and `RefreshTokenReused` is raised.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

import jwt
from sqlmodel import Session, col, select

from reup_app.errors import NotAuthenticated
from reup_app.models import RefreshToken
from reup_app.models.types import utcnow
from reup_app.settings import get_settings

ISSUER = "reup"
AUDIENCE = "reup"
ALGORITHM = "HS256"
MAX_ACCESS_MINUTES = 60
MFA_CHALLENGE_MINUTES = 5
MFA_ENROL_CHALLENGE_MINUTES = 15
LEEWAY_SECONDS = 5

TYP_ACCESS = "access"
TYP_MFA = "mfa"
TYP_MFA_ENROL = "mfa_enrol"


class TokenError(NotAuthenticated):
    """Base class of token failures; `str(err)` is fit to show."""


class TokenExpired(TokenError):
    pass


class TokenInvalid(TokenError):
    pass


class RefreshTokenInvalid(TokenError):
    pass


class RefreshTokenReused(RefreshTokenInvalid):
    pass


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    entity_id: int | None
    roles: frozenset[str]
    is_platform_admin: bool
    token_version: int
    jti: str
    issued_at: int
    expires_at: int


@dataclass(frozen=True)
class ChallengeClaims:
    user_id: int
    entity_id: int | None
    token_version: int
    jti: str
    typ: str
    expires_at: int


def _secret() -> str:
    return get_settings().secret_key


def _encode(claims: dict, typ: str, ttl: timedelta, now: datetime | None) -> str:
    now = now or utcnow()
    iat = int(now.timestamp())
    payload = {
        **claims,
        "typ": typ,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": iat,
        "exp": iat + int(ttl.total_seconds()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(payload, _secret(), algorithm=ALGORITHM)


_EXPIRED_MESSAGES = {
    TYP_ACCESS: "Your session has expired. Please sign in again.",
    TYP_MFA: "The sign-in attempt expired. Please enter your email and password again.",
    TYP_MFA_ENROL: "The two-factor setup session expired. Please sign in again.",
}


def _decode(token: str, typ: str) -> dict:
    if not isinstance(token, str) or not token or len(token) > 4096:
        raise TokenInvalid("Invalid session. Please sign in again.")
    try:
        data = jwt.decode(
            token,
            _secret(),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "sub", "typ", "jti", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenExpired(_EXPIRED_MESSAGES.get(typ, "Token expired.")) from exc
    except jwt.InvalidTokenError as exc:
        raise TokenInvalid("Invalid session. Please sign in again.") from exc
    if data.get("typ") != typ:
        raise TokenInvalid("Invalid session. Please sign in again.")
    try:
        int(data["sub"])
        int(data.get("tv", ""))
    except (TypeError, ValueError) as exc:
        raise TokenInvalid("Invalid session. Please sign in again.") from exc
    return data


def access_token_ttl() -> timedelta:
    return timedelta(minutes=max(1, min(get_settings().access_token_minutes, MAX_ACCESS_MINUTES)))


def create_access_token(
    *,
    user_id: int,
    entity_id: int | None,
    roles,
    is_platform_admin: bool,
    token_version: int,
    ttl: timedelta | None = None,
    now: datetime | None = None,
) -> str:
    ttl = ttl if ttl is not None else access_token_ttl()
    if ttl > timedelta(minutes=MAX_ACCESS_MINUTES):
        raise ValueError("access tokens live at most 60 minutes")
    return _encode(
        {
            "sub": str(int(user_id)),
            "ent": entity_id,
            "roles": sorted(roles),
            "adm": bool(is_platform_admin),
            "tv": int(token_version),
        },
        TYP_ACCESS,
        ttl,
        now,
    )


# Verified access tokens (by secret and token text) -> claims: a tab presents the same token with
# every event and push, and its signature check is the costliest part of re-validating the caller.
# Only the expiry can change the verdict on a token already verified; it is checked on every use.
_verified: dict[tuple[str, str], AccessClaims] = {}
_VERIFIED_MAX = 20_000


def decode_access_token(token: str) -> AccessClaims:
    """Verify signature, issuer, audience, expiry and type; raise TokenExpired / TokenInvalid."""
    key = (_secret(), token)
    claims = _verified.get(key) if isinstance(token, str) else None
    if claims is not None:
        if time.time() > claims.expires_at + LEEWAY_SECONDS:
            _verified.pop(key, None)
            raise TokenExpired(_EXPIRED_MESSAGES[TYP_ACCESS])
        return claims
    claims = _decode_access_token(token)
    if len(_verified) >= _VERIFIED_MAX:
        _verified.clear()
    _verified[key] = claims
    return claims


def _decode_access_token(token: str) -> AccessClaims:
    d = _decode(token, TYP_ACCESS)
    ent = d.get("ent")
    roles = d.get("roles") or []
    if (ent is not None and not isinstance(ent, int)) or not isinstance(roles, list):
        raise TokenInvalid("Invalid session. Please sign in again.")
    return AccessClaims(
        user_id=int(d["sub"]),
        entity_id=ent,
        roles=frozenset(str(r) for r in roles),
        is_platform_admin=bool(d.get("adm")),
        token_version=int(d["tv"]),
        jti=str(d["jti"]),
        issued_at=int(d["iat"]),
        expires_at=int(d["exp"]),
    )


def create_challenge_token(
    *, user_id: int, entity_id: int | None, token_version: int, typ: str = TYP_MFA, now: datetime | None = None
) -> str:
    """A short-lived token proving the password step succeeded (typ "mfa" or "mfa_enrol")."""
    if typ not in (TYP_MFA, TYP_MFA_ENROL):
        raise ValueError(typ)
    minutes = MFA_CHALLENGE_MINUTES if typ == TYP_MFA else MFA_ENROL_CHALLENGE_MINUTES
    return _encode(
        {"sub": str(int(user_id)), "ent": entity_id, "tv": int(token_version)}, typ, timedelta(minutes=minutes), now
    )


def decode_challenge_token(token: str, typ: str = TYP_MFA) -> ChallengeClaims:
    d = _decode(token, typ)
    ent = d.get("ent")
    if ent is not None and not isinstance(ent, int):
        raise TokenInvalid("Invalid session. Please sign in again.")
    return ChallengeClaims(
        user_id=int(d["sub"]),
        entity_id=ent,
        token_version=int(d["tv"]),
        jti=str(d["jti"]),
        typ=typ,
        expires_at=int(d["exp"]),
    )


# --- refresh tokens -------------------------------------------------------------------------


def hash_token(raw: str) -> str:
    """SHA-256 hex of a random token (refresh, invite, reset); the DB stores only this."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def issue_refresh_token(
    session: Session,
    *,
    user_id: int,
    entity_id: int | None,
    family_id: str | None = None,
    client_ip: str | None = None,
    user_agent: str | None = None,
) -> tuple[str, RefreshToken]:
    """Create a refresh token (a new family unless `family_id`); returns (raw token, row)."""
    raw = secrets.token_urlsafe(32)
    now = utcnow()
    row = RefreshToken(
        user_id=user_id,
        entity_id=entity_id,
        family_id=family_id or str(uuid.uuid4()),
        token_hash=hash_token(raw),
        issued_at=now,
        expires_at=now + timedelta(days=get_settings().refresh_token_days),
        client_ip=(client_ip or None) and client_ip[:64],
        user_agent=(user_agent or None) and user_agent[:255],
    )
    session.add(row)
    session.flush()
    return raw, row


KEEP = object()  # rotate_refresh_token: keep the family's entity
_INVALID_REFRESH = "Your session is no longer valid. Please sign in again."


def revoke_family(session: Session, family_id: str) -> int:
    """Revoke every live token of a family; returns how many."""
    rows = session.exec(
        select(RefreshToken).where(RefreshToken.family_id == family_id, col(RefreshToken.revoked_at).is_(None))
    ).all()
    now = utcnow()
    for r in rows:
        r.revoked_at = now
        session.add(r)
    session.flush()
    return len(rows)


def revoke_user_tokens(session: Session, user_id: int, *, entity_id: int | None = None) -> int:
    """Revoke all live refresh tokens of a user (optionally only those for one entity)."""
    q = select(RefreshToken).where(
        RefreshToken.user_id == user_id, col(RefreshToken.revoked_at).is_(None), RefreshToken.expires_at > utcnow()
    )
    if entity_id is not None:
        q = q.where(RefreshToken.entity_id == entity_id)
    rows = session.exec(q).all()
    now = utcnow()
    for r in rows:
        r.revoked_at = now
        session.add(r)
    session.flush()
    return len(rows)


def find_refresh_token(session: Session, raw: str, *, lock: bool = False) -> RefreshToken | None:
    if not isinstance(raw, str) or not raw or len(raw) > 256:
        return None
    q = select(RefreshToken).where(RefreshToken.token_hash == hash_token(raw))
    if lock:
        q = q.with_for_update()
    return session.exec(q).first()


def rotate_refresh_token(
    session: Session,
    raw: str,
    *,
    client_ip: str | None = None,
    user_agent: str | None = None,
    entity_id: object = KEEP,
) -> tuple[str, RefreshToken]:
    """Use a refresh token once: mark it used and issue its successor in the same family.

    Raises RefreshTokenInvalid (unknown, expired, revoked) or RefreshTokenReused (already used:
    the family is revoked and **committed** before raising, so the caller's rollback keeps it).
    `entity_id` (when given) moves the successor to another entity (see switch_entity).
    """
    row = find_refresh_token(session, raw, lock=True)
    if row is None or row.revoked_at is not None:
        raise RefreshTokenInvalid(_INVALID_REFRESH)
    if row.used_at is not None:
        revoke_family(session, row.family_id)
        session.commit()
        raise RefreshTokenReused(
            "This session was signed out because its refresh token was used twice. Please sign in again."
        )
    now = utcnow()
    if row.expires_at <= now:
        raise RefreshTokenInvalid("Your session has expired. Please sign in again.")
    row.used_at = now
    session.add(row)
    new_raw, new_row = issue_refresh_token(
        session,
        user_id=row.user_id,
        entity_id=row.entity_id if entity_id is KEEP else cast("int | None", entity_id),
        family_id=row.family_id,
        client_ip=client_ip or row.client_ip,
        user_agent=user_agent or row.user_agent,
    )
    return new_raw, new_row


__all__ = [
    "AccessClaims",
    "ChallengeClaims",
    "RefreshTokenInvalid",
    "RefreshTokenReused",
    "TokenError",
    "TokenExpired",
    "TokenInvalid",
    "create_access_token",
    "create_challenge_token",
    "decode_access_token",
    "decode_challenge_token",
    "find_refresh_token",
    "hash_token",
    "issue_refresh_token",
    "revoke_family",
    "revoke_user_tokens",
    "rotate_refresh_token",
]
