"""Sign-in, sessions, passwords and two-factor authentication.

How a UI uses it (every call inside ``with unit_of_work(principal) as s:``; tokens live only in
backend-only state or server-side storage, never in a frontend var):

1. ``res = login(s, email=..., password=..., client_ip=..., user_agent=...)``
   - ``res.status == "ok"``: keep ``res.access_token`` / ``res.refresh_token``.
   - ``"mfa_required"``: keep ``res.challenge`` (5 min); ask for a code; then
     ``complete_mfa(s, res.challenge, code_or_recovery_code, client_ip=..., user_agent=...)``.
   - ``"mfa_enrolment_required"`` (admin, or a business that requires 2FA, and the user has none):
     ``res.challenge`` (15 min) only allows enrolment:
     ``begin_mfa_enrolment_with_challenge(s, challenge)`` -> QR/secret, then
     ``confirm_mfa_enrolment_with_challenge(s, challenge, code, ...)`` -> an "ok" LoginResult
     whose ``recovery_codes`` must be shown once. No access token exists before that.
2. Each event handler: ``principal = resolve_principal(None, access_token, client_ip=ip)``;
   on TokenExpired call ``refresh(s, refresh_token)`` and keep the new pair (the old refresh
   token is dead; presenting it again signs the whole family out).
3. ``logout(s, principal, refresh_token, everywhere=False, access_token=access_token)``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlmodel import Session, select

from reup_app.errors import (
    Conflict,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from reup_app.models import Entity, Membership, User
from reup_app.models.enums import EntityStatus, OneTimeTokenPurpose
from reup_app.models.types import utcnow
from reup_app.security import mfa, passwords, ratelimit
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.security.ratelimit import Limit, enforce, get_backend
from reup_app.security.tokens import (
    TYP_MFA,
    TYP_MFA_ENROL,
    RefreshTokenInvalid,
    TokenExpired,
    TokenInvalid,
    create_access_token,
    create_challenge_token,
    decode_access_token,
    decode_challenge_token,
    find_refresh_token,
    issue_refresh_token,
    revoke_family,
    revoke_user_tokens,
    rotate_refresh_token,
)
from reup_app.services.identity import principal_cache
from reup_app.services.identity.common import (
    RESET_TTL,
    AccountBlocked,
    EntityChoice,
    act_as,
    bump_token_version,
    choose_membership,
    create_one_time_token,
    entity_block_message,
    entity_choices,
    expire_open_tokens,
    find_one_time_token,
    mfa_required_anywhere,
    mfa_required_for,
    normalize_email,
    rate_key,
    require_user,
    validate_email,
    validate_password,
)
from reup_app.services.notifications.email import send_email
from reup_app.settings import get_settings

BAD_CREDENTIALS = "Email or password is incorrect."
BAD_CODE = "That code is incorrect or has already been used."
PASSWORD_CHANGE_LIMIT = Limit(5, 15 * 60)

__all__ = [
    "AccountBlocked",
    "BAD_CREDENTIALS",
    "EntityChoice",
    "LoginResult",
    "MfaSetup",
    "SessionEnded",
    "admin_reset_mfa",
    "begin_mfa_enrolment",
    "begin_mfa_enrolment_with_challenge",
    "change_password",
    "complete_mfa",
    "confirm_mfa_enrolment",
    "confirm_mfa_enrolment_with_challenge",
    "disable_mfa",
    "disable_user",
    "enable_user",
    "list_my_entities",
    "login",
    "logout",
    "refresh",
    "regenerate_recovery_codes",
    "request_password_reset",
    "reset_password",
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

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True)
class MfaSetup:
    secret: str = field(repr=False)  # for manual entry in the authenticator app
    provisioning_uri: str = field(repr=False)
    qr_data_uri: str = field(repr=False)  # data:image/svg+xml;base64,...


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
        **extra,
    )


def _finish_password_step(
    session: Session,
    user: User,
    entity: Entity | None,
    role: str | None,
    *,
    client_ip: str | None,
    user_agent: str | None,
) -> LoginResult:
    """After the password (or an invitation) is verified: MFA challenge or tokens."""
    entity_id = entity.id if entity is not None else None
    if user.mfa_enabled:
        return LoginResult(
            status="mfa_required",
            user_id=user.id,
            entity_id=entity_id,
            challenge=create_challenge_token(
                user_id=user.id, entity_id=entity_id, token_version=user.token_version, typ=TYP_MFA
            ),
        )
    if mfa_required_for(user, entity):
        return LoginResult(
            status="mfa_enrolment_required",
            user_id=user.id,
            entity_id=entity_id,
            challenge=create_challenge_token(
                user_id=user.id, entity_id=entity_id, token_version=user.token_version, typ=TYP_MFA_ENROL
            ),
        )
    user.last_login_at = utcnow()
    session.add(user)
    return _issue(session, user, entity, role, client_ip=client_ip, user_agent=user_agent)


def login(
    session: Session,
    *,
    email: str,
    password: str,
    client_ip: str | None = None,
    user_agent: str | None = None,
    entity_id: int | None = None,
) -> LoginResult:
    """Check e-mail and password; return tokens, or an MFA challenge (see module docstring).

    Raises NotAuthenticated(BAD_CREDENTIALS) for an unknown user or a wrong password alike,
    RateLimited (5 failures / 15 min per account, 20 / 15 min per client address), or
    AccountBlocked (disabled user, business pending / rejected / suspended) after a correct password.
    """
    addr = normalize_email(email)
    ip_key = f"login:ip:{client_ip}" if client_ip else None  # callers must pass the real client address
    acct_key = rate_key("login:acct", addr)
    if ip_key:
        enforce(ip_key, ratelimit.LOGIN_PER_IP, "Too many sign-in attempts from your network.")
    try:
        enforce(acct_key, ratelimit.LOGIN_PER_ACCOUNT, "Too many sign-in attempts for this account.")
    except Exception:
        if ip_key:
            ratelimit.refund(ip_key)
        raise
    if not isinstance(password, str) or not password or len(password) > passwords.MAX_LENGTH or not addr:
        passwords.verify_password("x", passwords.DUMMY_HASH)
        raise NotAuthenticated(BAD_CREDENTIALS)
    user = session.exec(select(User).where(User.email == addr)).first()
    if user is None:
        passwords.verify_password(password, passwords.DUMMY_HASH)  # same time as a real check
        raise NotAuthenticated(BAD_CREDENTIALS)
    if not passwords.verify_password(password, user.password_hash):
        raise NotAuthenticated(BAD_CREDENTIALS)
    # Correct password: it does not count against the limits.
    ratelimit.reset(acct_key)
    if ip_key:
        ratelimit.refund(ip_key)
    if not user.is_active:
        raise AccountBlocked("This account has been disabled. Please contact your business owner or ReUp support.")
    # Sign-ins of one user (several tabs at once) take turns on the user's row: each writes the row
    # and rows pointing at it, which deadlocks in InnoDB when two run interleaved.
    session.exec(select(User.id).where(User.id == user.id).with_for_update()).first()
    entity, role = choose_membership(session, user, entity_id)
    act_as(session, user, entity.id if entity else None, role, client_ip)
    return _finish_password_step(session, user, entity, role, client_ip=client_ip, user_agent=user_agent)


def _challenge_user(
    session: Session,
    challenge: str,
    typ: str,
    *,
    lock: bool = False,
) -> tuple[User, object, Entity | None, str | None]:
    c = decode_challenge_token(challenge, typ)
    q = select(User).where(User.id == c.user_id)
    user = session.exec(q.with_for_update() if lock else q).first()
    if user is None or user.token_version != c.token_version:
        raise TokenInvalid("This sign-in attempt is no longer valid. Please sign in again.")
    if not user.is_active:
        raise AccountBlocked("This account has been disabled. Please contact your business owner or ReUp support.")
    entity, role = choose_membership(session, user, c.entity_id)
    return user, c, entity, role


def _enforce_mfa_limits(user_id: int, client_ip: str | None) -> None:
    if client_ip:
        enforce(f"mfa:ip:{client_ip}", ratelimit.MFA_PER_IP, "Too many two-factor attempts from your network.")
    enforce(f"mfa:user:{user_id}", ratelimit.MFA_PER_ACCOUNT, "Too many two-factor attempts.")


def _burn_challenge(jti: str, expires_at: int) -> None:
    if not get_backend().set_nx(f"mfa:jti:{jti}", "1", max(1, expires_at - time.time() + 10)):
        raise TokenInvalid("This sign-in attempt was already completed. Please sign in again.")


def complete_mfa(
    session: Session, challenge: str, code: str, *, client_ip: str | None = None, user_agent: str | None = None
) -> LoginResult:
    """Second step: a 6-digit TOTP code or a recovery code (abcd-efgh-ijkl); returns tokens."""
    c = decode_challenge_token(challenge, TYP_MFA)
    _enforce_mfa_limits(c.user_id, client_ip)
    user, c, entity, role = _challenge_user(session, challenge, TYP_MFA)
    if not user.mfa_enabled or not user.mfa_secret_encrypted:
        raise TokenInvalid("This sign-in attempt is no longer valid. Please sign in again.")
    remaining = None
    if mfa.looks_like_totp(code or ""):
        ok = mfa.verify_totp(user.id, mfa.decrypt_secret(user.id, user.mfa_secret_encrypted), code)
    else:
        ok = mfa.use_recovery_code(session, user.id, code or "")
        if ok:
            remaining = mfa.remaining_recovery_codes(session, user.id)
    if not ok:
        raise NotAuthenticated(BAD_CODE)
    _burn_challenge(c.jti, c.expires_at)
    ratelimit.reset(f"mfa:user:{user.id}")
    act_as(session, user, entity.id if entity else None, role, client_ip)
    user.last_login_at = utcnow()
    session.add(user)
    if remaining is not None:
        send_email(
            session,
            user.email,
            "A ReUp recovery code was used",
            f"Hello {user.full_name},\n\nA recovery code was used to sign in to your ReUp account. "
            f"{remaining} recovery code(s) remain. If this was not you, change your password now "
            f"and contact ReUp support.\n",
        )
    return _issue(
        session, user, entity, role, client_ip=client_ip, user_agent=user_agent, recovery_codes_remaining=remaining
    )


def begin_mfa_enrolment_with_challenge(session: Session, challenge: str) -> MfaSetup:
    """For a "mfa_enrolment_required" login: create a pending TOTP secret and its QR code."""
    user, _c, _e, _r = _challenge_user(session, challenge, TYP_MFA_ENROL, lock=True)
    if user.mfa_enabled:
        raise Conflict("Two-factor authentication is already set up. Please sign in again.")
    return _new_pending_secret(session, user)


def confirm_mfa_enrolment_with_challenge(
    session: Session,
    challenge: str,
    code: str,
    *,
    client_ip: str | None = None,
    user_agent: str | None = None,
) -> LoginResult:
    """Finish forced enrolment with the first code; returns tokens and the recovery codes."""
    c = decode_challenge_token(challenge, TYP_MFA_ENROL)
    _enforce_mfa_limits(c.user_id, client_ip)
    user, c, entity, role = _challenge_user(session, challenge, TYP_MFA_ENROL, lock=True)
    if user.mfa_enabled:
        raise TokenInvalid("Two-factor authentication is already set up. Please sign in again.")
    act_as(session, user, entity.id if entity else None, role, client_ip)
    codes = _confirm_pending_secret(session, user, code)
    _burn_challenge(c.jti, c.expires_at)
    user.last_login_at = utcnow()
    session.add(user)
    return _issue(session, user, entity, role, client_ip=client_ip, user_agent=user_agent, recovery_codes=tuple(codes))


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
            .join(Entity, Entity.id == Membership.entity_id)
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
            .join(Entity, Entity.id == Membership.entity_id)
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


# --- browser sessions: the HttpOnly cookie that restores a session in a new tab ------------
# The cookie holds a refresh token of its own family (never shown to page scripts); each tab
# gets a separate token pair kept in backend-only state. See reup_app/api/auth_routes.py.


def _session_subject(
    session: Session,
    user_id: int,
    entity_id: int | None,
    token_version: int,
) -> tuple[User, Entity | None, str | None]:
    """The user, entity and role for a server-verified hand-over; SessionEnded if it no longer holds."""
    user = session.get(User, int(user_id))
    if user is None or not user.is_active or user.token_version != int(token_version):
        raise SessionEnded("Your session is no longer valid. Please sign in again.")
    if entity_id is None:
        if not user.is_platform_admin:
            raise SessionEnded("Your session is no longer valid. Please sign in again.")
        return user, None, None
    pair = session.exec(
        select(Membership, Entity)
        .join(Entity, Entity.id == Membership.entity_id)
        .where(Membership.user_id == user.id, Membership.entity_id == int(entity_id))
    ).first()
    if pair is None or pair[1].status != EntityStatus.APPROVED:
        raise SessionEnded("Your session is no longer valid. Please sign in again.")
    return user, pair[1], pair[0].role


def issue_cookie_token(
    session: Session,
    *,
    user_id: int,
    entity_id: int | None,
    token_version: int,
    client_ip: str | None = None,
    user_agent: str | None = None,
) -> str:
    """A refresh token of a new family for the browser's session cookie (after a verified sign-in)."""
    user, entity, _role = _session_subject(session, user_id, entity_id, token_version)
    raw, _ = issue_refresh_token(
        session, user_id=user.id, entity_id=entity.id if entity else None, client_ip=client_ip, user_agent=user_agent
    )
    return raw


def rotate_cookie_token(
    session: Session, raw_cookie: str, *, client_ip: str | None = None, user_agent: str | None = None
) -> LoginResult:
    """Use the cookie's refresh token once (rotation + reuse detection as for any refresh token)."""
    return refresh(session, raw_cookie, client_ip=client_ip, user_agent=user_agent)


def issue_tab_session(
    session: Session,
    *,
    user_id: int,
    entity_id: int | None,
    token_version: int,
    client_ip: str | None = None,
    user_agent: str | None = None,
) -> LoginResult:
    """A fresh token pair (new family) for one browser tab, after the cookie was verified."""
    user, entity, role = _session_subject(session, user_id, entity_id, token_version)
    if mfa_required_for(user, entity) and not user.mfa_enabled:
        raise SessionEnded("Two-factor authentication is now required. Please sign in again to set it up.")
    return _issue(session, user, entity, role, client_ip=client_ip, user_agent=user_agent)


# --- passwords ------------------------------------------------------------------------------


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


def reset_password(session: Session, token: str, new_password: str) -> None:
    """Set a new password from a reset link; signs out every session of the account."""
    message = "This password reset link is invalid, expired or already used. Please request a new one."
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


# --- two-factor authentication (signed-in user) --------------------------------------------


def _new_pending_secret(session: Session, user: User) -> MfaSetup:
    secret = mfa.new_secret()
    user.mfa_secret_encrypted = mfa.encrypt_secret(user.id, secret)
    user.updated_at = utcnow()
    session.add(user)
    session.flush()
    uri = mfa.provisioning_uri(secret, user.email)
    return MfaSetup(secret=secret, provisioning_uri=uri, qr_data_uri=mfa.qr_data_uri(uri))


def _confirm_pending_secret(session: Session, user: User, code: str) -> list[str]:
    if user.mfa_enabled:
        raise Conflict("Two-factor authentication is already on.")
    if not user.mfa_secret_encrypted:
        raise ValidationError("Start the two-factor setup first.", field="code")
    if not mfa.verify_totp(user.id, mfa.decrypt_secret(user.id, user.mfa_secret_encrypted), code or ""):
        raise ValidationError(
            "That code is incorrect. Check the time on your phone and try the current code.", field="code"
        )
    ratelimit.reset(f"mfa:user:{user.id}")
    user.mfa_enabled = True
    user.updated_at = utcnow()
    session.add(user)
    codes = mfa.replace_recovery_codes(session, user.id)
    send_email(
        session,
        user.email,
        "Two-factor authentication is on",
        f"Hello {user.full_name},\n\nTwo-factor authentication was turned on for your ReUp account.\n",
    )
    return codes


def _locked_self(session: Session, principal: Principal) -> User:
    uid = require_user(principal)
    user = session.exec(select(User).where(User.id == uid).with_for_update()).first()
    if user is None or not user.is_active or user.token_version != principal.token_version:
        raise SessionEnded("Your session is no longer valid. Please sign in again.")
    return user


def pending_mfa_secret(session: Session, user_id: int) -> tuple[str, str] | None:
    """(e-mail, TOTP key) of an enrolment not yet confirmed, for the one-time display route
    (reup_app/api/secret_display.py, reached only with a ticket issued to that user); None once
    two-factor authentication is on or nothing is pending."""
    user = session.get(User, int(user_id))
    if user is None or user.mfa_enabled or not user.mfa_secret_encrypted:
        return None
    return user.email, mfa.decrypt_secret(user.id, user.mfa_secret_encrypted)


def begin_mfa_enrolment(session: Session, principal: Principal) -> MfaSetup:
    """Start (or restart) TOTP setup for the signed-in user; 2FA is on only after confirmation."""
    user = _locked_self(session, principal)
    if user.mfa_enabled:
        raise Conflict("Two-factor authentication is already on. Turn it off first to use a new device.")
    return _new_pending_secret(session, user)


def confirm_mfa_enrolment(session: Session, principal: Principal, code: str) -> list[str]:
    """Turn 2FA on with the first code; returns 10 recovery codes to show once."""
    enforce(f"mfa:user:{require_user(principal)}", ratelimit.MFA_PER_ACCOUNT, "Too many two-factor attempts.")
    return _confirm_pending_secret(session, _locked_self(session, principal), code)


def disable_mfa(session: Session, principal: Principal, *, password: str) -> None:
    """Turn 2FA off (password required); refused where 2FA is required for this user."""
    user = _locked_self(session, principal)
    enforce(f"pwchange:user:{user.id}", PASSWORD_CHANGE_LIMIT, "Too many password attempts.")
    if not isinstance(password, str) or not passwords.verify_password(password, user.password_hash):
        raise ValidationError("Your password is incorrect.", field="password")
    if mfa_required_anywhere(session, user):
        raise PermissionDenied("Two-factor authentication is required for your account and cannot be turned off.")
    if not user.mfa_enabled and not user.mfa_secret_encrypted:
        return
    user.mfa_enabled = False
    user.mfa_secret_encrypted = None
    user.updated_at = utcnow()
    session.add(user)
    mfa.delete_recovery_codes(session, user.id)
    send_email(
        session,
        user.email,
        "Two-factor authentication is off",
        f"Hello {user.full_name},\n\nTwo-factor authentication was turned off for your ReUp account. "
        f"If this was not you, change your password now and contact ReUp support.\n",
    )


def regenerate_recovery_codes(session: Session, principal: Principal, *, password: str) -> list[str]:
    """Replace all recovery codes (password required); returns the new ones to show once."""
    user = _locked_self(session, principal)
    enforce(f"pwchange:user:{user.id}", PASSWORD_CHANGE_LIMIT, "Too many password attempts.")
    if not isinstance(password, str) or not passwords.verify_password(password, user.password_hash):
        raise ValidationError("Your password is incorrect.", field="password")
    if not user.mfa_enabled:
        raise Conflict("Turn on two-factor authentication first.")
    return mfa.replace_recovery_codes(session, user.id)


# --- platform administration of users -------------------------------------------------------


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
