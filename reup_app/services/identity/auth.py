"""Sessions: issue, refresh, resolve and end sign-in sessions, switch business, cookie and tab tokens.

Each event handler: ``principal = resolve_principal(None, access_token, client_ip=ip)``; on
TokenExpired call ``refresh(s, refresh_token)`` and keep the new pair (the old refresh token is
dead; presenting it again signs the whole family out). Sign out with
``logout(s, principal, refresh_token, everywhere=False, access_token=access_token)``. Signing in
is in `sign_in`, passwords in `password_reset`, two-factor settings in `mfa_settings`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from reup_app.errors import (
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from reup_app.models import Entity, Membership, User
from reup_app.models.enums import EntityStatus
from reup_app.security.events import security_event
from reup_app.security.principal import Principal
from reup_app.security.tokens import (
    RefreshTokenInvalid,
    TokenExpired,
    TokenInvalid,
    create_access_token,
    decode_access_token,
    find_refresh_token,
    issue_refresh_token,
    revoke_family,
    revoke_user_tokens,
    rotate_refresh_token,
)
from reup_app.services.identity import principal_cache
from reup_app.services.identity.common import (
    AccountBlocked,
    EntityChoice,
    act_as,
    bump_token_version,
    entity_block_message,
    entity_choices,
    mfa_required_for,
    require_user,
)

__all__ = [
    "AccountBlocked",
    "EntityChoice",
    "LoginResult",
    "SessionEnded",
    "list_my_entities",
    "logout",
    "refresh",
    "resolve_principal",
    "switch_entity",
]


class SessionEnded(NotAuthenticated):
    """A well-formed token whose session no longer holds (signed out, disabled, removed ...)."""


@dataclass(frozen=True)
class LoginResult:
    status: str  # "ok" | "mfa_required" | "mfa_enrolment_required"
    user_id: int
    entity_id: int | None = None
    principal: Principal | None = None
    access_token: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    access_expires_at: int | None = None  # unix seconds
    challenge: str | None = field(default=None, repr=False)
    recovery_codes: tuple[str, ...] = field(default=(), repr=False)  # only right after enrolment
    recovery_codes_remaining: int | None = None  # set when a recovery code was just used
    entities: tuple[EntityChoice, ...] = ()  # the user's businesses, for an entity switcher
    email: str | None = None
    entity_kind: str | None = None  # "retailer" | "wholesaler" | None (platform)
    full_name: str | None = None  # shown in the header

    @property
    def ok(self) -> bool:
        return self.status == "ok"


# --- sessions -------------------------------------------------------------------------------


def _issue(
    session: Session,
    user: User,
    entity: Entity | None,
    role: str | None,
    *,
    client_ip: str | None,
    user_agent: str | None,
    family_id: str | None = None,
    raw_refresh: str | None = None,
    **extra,
) -> LoginResult:
    entity_id = entity.id if entity is not None else None
    roles = frozenset({role}) if role else frozenset()
    access = create_access_token(
        user_id=user.id,
        entity_id=entity_id,
        roles=roles,
        is_platform_admin=user.is_platform_admin,
        token_version=user.token_version,
    )
    if raw_refresh is None:
        raw_refresh, _ = issue_refresh_token(
            session,
            user_id=user.id,
            entity_id=entity_id,
            family_id=family_id,
            client_ip=client_ip,
            user_agent=user_agent,
        )
    claims = decode_access_token(access)
    principal = Principal(
        user_id=user.id,
        entity_id=entity_id,
        roles=roles,
        is_platform_admin=bool(user.is_platform_admin),
        token_version=user.token_version,
        client_ip=client_ip,
    )
    security_event("signin.success", user_id=user.id, entity_id=entity_id, client_ip=client_ip, role=role)
    return LoginResult(
        status="ok",
        user_id=user.id,
        entity_id=entity_id,
        principal=principal,
        access_token=access,
        refresh_token=raw_refresh,
        access_expires_at=claims.expires_at,
        entities=entity_choices(session, user.id),
        email=user.email,
        entity_kind=(entity.kind if entity is not None else None),
        full_name=user.full_name,
        **extra,
    )


def refresh(
    session: Session, raw_refresh: str, *, client_ip: str | None = None, user_agent: str | None = None
) -> LoginResult:
    """Rotate the refresh token and issue a new access token (status "ok").

    Raises RefreshTokenInvalid / RefreshTokenReused (whole family revoked) / SessionEnded.
    """
    new_raw, row = rotate_refresh_token(session, raw_refresh, client_ip=client_ip, user_agent=user_agent)
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise SessionEnded("This account has been disabled. Please contact your business owner or ReUp support.")
    entity, role = None, None
    if row.entity_id is not None:
        pair = session.exec(
            select(Membership, Entity)
            .join(Entity, col(Entity.id) == col(Membership.entity_id))
            .where(Membership.user_id == user.id, Membership.entity_id == row.entity_id)
        ).first()
        if pair is None:
            raise SessionEnded("You are no longer a member of this business. Please sign in again.")
        membership, entity = pair
        if entity.status != EntityStatus.APPROVED:
            raise SessionEnded(entity_block_message(entity))
        role = membership.role
    elif not user.is_platform_admin:
        raise SessionEnded("Your session is no longer valid. Please sign in again.")
    if mfa_required_for(user, entity) and not user.mfa_enabled:
        raise SessionEnded("Two-factor authentication is now required. Please sign in again to set it up.")
    act_as(session, user, row.entity_id, role, client_ip)
    return _issue(session, user, entity, role, client_ip=client_ip, user_agent=user_agent, raw_refresh=new_raw)


def resolve_principal(session: Session | None, access_token: str, *, client_ip: str | None = None) -> Principal:
    """Who is calling: verify the JWT, then re-check on the server (cached <= 30 s) that the user is
    active, the token version matches, the membership and role still hold, the entity is approved
    and the token was not signed out. Raises TokenExpired, TokenInvalid or SessionEnded.

    `session` is optional: on a cache miss the check uses it, or a short connection of its own.
    """
    claims = decode_access_token(access_token)
    state, revoked = principal_cache.auth_state(claims.user_id, jti=claims.jti, session=session)
    return _checked_principal(claims, state, revoked, client_ip)


def resolve_principal_cached(access_token: str, *, client_ip: str | None = None) -> Principal | None:
    """`resolve_principal` when this process re-checked the same user and token within the last
    second (no I/O, so an event loop may call it directly); None when it has to ask the cache."""
    claims = decode_access_token(access_token)
    held = principal_cache.auth_state_local(claims.user_id, jti=claims.jti)
    if held is None:
        return None
    return _checked_principal(claims, held[0], held[1], client_ip)


def _checked_principal(claims, state: dict | None, revoked: bool, client_ip: str | None) -> Principal:
    if revoked:
        raise SessionEnded("You have signed out. Please sign in again.")
    if state is None:
        raise SessionEnded("This account no longer exists.")
    if not state["a"]:
        raise SessionEnded("This account has been disabled. Please contact your business owner or ReUp support.")
    if state["tv"] != claims.token_version:
        raise SessionEnded("Your session has ended (signed out everywhere or password changed). Please sign in again.")
    if claims.is_platform_admin and not state["adm"]:
        raise SessionEnded("Your session is no longer valid. Please sign in again.")
    if claims.entity_id is None:
        if not state["adm"]:
            raise SessionEnded("Your session is no longer valid. Please sign in again.")
        roles: frozenset[str] = frozenset()
    else:
        member = state["m"].get(str(claims.entity_id))
        if member is None:
            raise SessionEnded("You are no longer a member of this business. Please sign in again.")
        role, status = member
        if status != EntityStatus.APPROVED:
            raise SessionEnded(_STATUS_MESSAGES.get(status, "This business cannot be used right now."))
        roles = frozenset({role})
    return Principal(
        user_id=claims.user_id,
        entity_id=claims.entity_id,
        roles=roles,
        is_platform_admin=bool(state["adm"]),
        token_version=claims.token_version,
        client_ip=client_ip,
    )


_STATUS_MESSAGES = {
    EntityStatus.PENDING.value: "Your business is awaiting approval by ReUp.",
    EntityStatus.REJECTED.value: "Your business application was not approved.",
    EntityStatus.SUSPENDED.value: "Your business is suspended. Please contact ReUp support.",
}


def list_my_entities(session: Session, principal: Principal) -> tuple[EntityChoice, ...]:
    return entity_choices(session, require_user(principal))


def switch_entity(
    session: Session,
    principal: Principal,
    entity_id: int | None,
    *,
    raw_refresh: str | None = None,
    client_ip: str | None = None,
    user_agent: str | None = None,
) -> LoginResult:
    """Act for another of the user's businesses (None: platform admins back to the platform view).

    Returns new tokens; with `raw_refresh` that refresh token is rotated into the new entity
    (same family), otherwise a new family starts.
    """
    user_id = require_user(principal)
    user = session.get(User, user_id)
    if user is None or not user.is_active or user.token_version != principal.token_version:
        raise SessionEnded("Your session is no longer valid. Please sign in again.")
    if entity_id is None:
        if not user.is_platform_admin:
            raise ValidationError("Choose a business.", field="entity_id")
        entity, role = None, None
    else:
        pair = session.exec(
            select(Membership, Entity)
            .join(Entity, col(Entity.id) == col(Membership.entity_id))
            .where(Membership.user_id == user_id, Membership.entity_id == entity_id)
        ).first()
        if pair is None:
            raise PermissionDenied("You are not a member of that business.")
        membership, entity = pair
        if entity.status != EntityStatus.APPROVED:
            raise PermissionDenied(entity_block_message(entity))
        role = membership.role
        if entity.require_mfa and not user.mfa_enabled:
            raise PermissionDenied(
                f"{entity.name} requires two-factor authentication. Set it up in your account settings first."
            )
    target = entity.id if entity else None
    if raw_refresh is not None:
        row = find_refresh_token(session, raw_refresh)
        if row is None or row.user_id != user_id:
            raise RefreshTokenInvalid("Your session is no longer valid. Please sign in again.")
        new_raw, _ = rotate_refresh_token(
            session, raw_refresh, client_ip=client_ip, user_agent=user_agent, entity_id=target
        )
        return _issue(session, user, entity, role, client_ip=client_ip, user_agent=user_agent, raw_refresh=new_raw)
    return _issue(session, user, entity, role, client_ip=client_ip, user_agent=user_agent)


def logout(
    session: Session,
    principal: Principal,
    raw_refresh: str | None = None,
    everywhere: bool = False,
    *,
    access_token: str | None = None,
) -> None:
    """Sign out: revoke this session's refresh-token family and deny its access token.

    `everywhere=True` bumps the user's token_version (every access token dies within the principal
    cache TTL) and revokes all their refresh tokens.
    """
    user_id = principal.user_id if principal.is_authenticated else None
    if raw_refresh:
        row = find_refresh_token(session, raw_refresh, lock=True)
        if row is not None and (user_id is None or row.user_id == user_id):
            revoke_family(session, row.family_id)
            user_id = user_id or row.user_id
    if access_token:
        try:
            claims = decode_access_token(access_token)
        except (TokenExpired, TokenInvalid):
            claims = None
        if claims is not None and (user_id is None or claims.user_id == user_id):
            principal_cache.revoke_access_token(claims.jti, claims.expires_at)
    if everywhere:
        uid = require_user(principal)
        user = session.exec(select(User).where(User.id == uid).with_for_update()).first()
        if user is None:
            raise NotFound("Account not found.")
        bump_token_version(user)
        session.add(user)
        revoke_user_tokens(session, uid)
        principal_cache.invalidate_users(session, uid)
    session.flush()
