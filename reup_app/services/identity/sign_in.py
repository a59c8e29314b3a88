"""Sign-in: the password step, the MFA challenge, and MFA enrolment forced at sign-in.

How a UI uses it (every call inside ``with unit_of_work(principal) as s:``; tokens live only in
backend-only state or server-side storage, never in a frontend var):
``res = login(s, email=..., password=..., client_ip=..., user_agent=...)``, then

- ``res.status == "ok"``: keep ``res.access_token`` / ``res.refresh_token`` (sessions: `auth`).
- ``"mfa_required"``: keep ``res.challenge`` (5 min); ask for a code; then
  ``complete_mfa(s, res.challenge, code_or_recovery_code, client_ip=..., user_agent=...)``.
- ``"mfa_enrolment_required"`` (admin, or a business that requires 2FA, and the user has none):
  ``res.challenge`` (15 min) only allows enrolment:
  ``begin_mfa_enrolment_with_challenge(s, challenge)`` -> QR/secret, then
  ``confirm_mfa_enrolment_with_challenge(s, challenge, code, ...)`` -> an "ok" LoginResult
  whose ``recovery_codes`` must be shown once. No access token exists before that.
"""

from __future__ import annotations

import logging
import time

from sqlmodel import Session, select

from reup_app.errors import (
    ChallengeRequired,
    Conflict,
    NotAuthenticated,
)
from reup_app.models import Entity, User
from reup_app.models.types import utcnow
from reup_app.security import mfa, passwords, ratelimit, signin_throttle
from reup_app.security.events import bind, security_event
from reup_app.security.ratelimit import enforce, get_backend
from reup_app.security.tokens import (
    TYP_MFA,
    TYP_MFA_ENROL,
    ChallengeClaims,
    TokenInvalid,
    create_challenge_token,
    decode_challenge_token,
)
from reup_app.services.identity.auth import LoginResult, _issue
from reup_app.services.identity.common import (
    AccountBlocked,
    act_as,
    choose_membership,
    mfa_required_for,
    normalize_email,
    rate_key,
)
from reup_app.services.identity.mfa_settings import MfaSetup, _confirm_pending_secret, _new_pending_secret
from reup_app.services.notifications.email import send_email
from reup_app.settings import get_settings

__all__ = [
    "BAD_CREDENTIALS",
    "begin_mfa_enrolment_with_challenge",
    "complete_mfa",
    "confirm_mfa_enrolment_with_challenge",
    "login",
]


BAD_CREDENTIALS = "Email or password is incorrect."


BAD_CODE = "That code is incorrect or has already been used."


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


CHALLENGED = (
    "For your security, this account needs a sign-in link after several failed attempts. "
    "We have e-mailed the owner of the address a link; open it to sign in."
)


def _challenge(session: Session, user: User | None, acct_key: str) -> None:
    """Past `CHALLENGE_AFTER` failures: e-mail the unlock link (once per 15 minutes) and refuse."""
    if user is not None and user.is_active and signin_throttle.first_notice(acct_key):
        code = signin_throttle.issue_unlock(acct_key)
        link = f"{get_settings().app_url}/login?unlock={code}"
        send_email(
            session,
            user.email,
            "Sign in to ReUp: several failed attempts",
            f"Hello {user.full_name},\n\nSomeone (maybe you) entered a wrong password for your ReUp account "
            f"several times. To keep guessing out, signing in now needs this link (valid 30 minutes):\n\n"
            f"{link}\n\nIf this was not you, your password was not accepted and nothing changed; "
            f"consider changing it.\n",
        )
        session.commit()  # the e-mail goes out although this attempt is refused
    security_event("signin.challenged", user_id=user.id if user else None, level=logging.WARNING)
    raise ChallengeRequired(CHALLENGED)


def _check_password(session: Session, addr: str, password: object, keys: tuple[str, str | None]) -> User:
    """The user whose password this is, or NotAuthenticated (counted as a failure)."""
    user = session.exec(select(User).where(User.email == addr)).first() if addr else None
    pw = password if isinstance(password, str) and 0 < len(password) <= passwords.MAX_LENGTH else ""
    if user is None or not pw:
        passwords.verify_password(pw or "x", passwords.DUMMY_HASH)  # same time as a real check
    elif passwords.verify_password(pw, user.password_hash):
        return user
    n = signin_throttle.failed(*keys)
    security_event("signin.failure", user_id=user.id if user else None, failures=n, level=logging.WARNING)
    raise NotAuthenticated(BAD_CREDENTIALS)


def login(
    session: Session,
    *,
    email: str,
    password: str,
    client_ip: str | None = None,
    user_agent: str | None = None,
    entity_id: int | None = None,
    unlock: str | None = None,
) -> LoginResult:
    """Check e-mail and password; return tokens, or an MFA challenge (see module docstring).

    Raises NotAuthenticated(BAD_CREDENTIALS) for an unknown user or a wrong password alike;
    RateLimited (a few seconds) while a progressive delay of the account or the client address runs;
    ChallengeRequired once the account has had too many failures, unless `unlock` is the code of the
    link e-mailed to the owner (`reup_app.security.signin_throttle`); AccountBlocked (disabled user,
    business pending / rejected / suspended) after a correct password.
    """
    addr = normalize_email(email) if isinstance(email, str) else ""
    bind(client_ip=client_ip)
    ip_key = f"signin:ip:{client_ip}" if client_ip else None  # callers must pass the real client address
    acct_key = rate_key("signin:acct", addr)
    unlocked = signin_throttle.unlock_matches(acct_key, unlock)
    if not unlocked:
        signin_throttle.check(acct_key, ip_key)
        if signin_throttle.needs_challenge(acct_key):
            _challenge(session, session.exec(select(User).where(User.email == addr)).first(), acct_key)
    user = _check_password(session, addr, password, (acct_key, ip_key))
    signin_throttle.succeeded(acct_key)  # a correct password clears the account's count
    if unlocked:
        signin_throttle.use_unlock(unlock)
    passwords.maybe_rehash(user, password)  # hashes from passlib or older parameters: upgraded now
    if not user.is_active:
        security_event("signin.blocked", user_id=user.id, reason="disabled", level=logging.WARNING)
        raise AccountBlocked("This account has been disabled. Please contact your business owner or ReUp support.")
    # Sign-ins of one user (several tabs at once) take turns on the user's row: each writes the row
    # and rows pointing at it, which deadlocks in InnoDB when two run interleaved.
    session.exec(select(User.id).where(User.id == user.id).with_for_update()).first()
    entity, role = choose_membership(session, user, entity_id)
    act_as(session, user, entity.id if entity else None, role, client_ip)
    security_event("signin.password_ok", user_id=user.id, entity_id=entity.id if entity else None)
    return _finish_password_step(session, user, entity, role, client_ip=client_ip, user_agent=user_agent)


def _challenge_user(
    session: Session,
    challenge: str,
    typ: str,
    *,
    lock: bool = False,
) -> tuple[User, ChallengeClaims, Entity | None, str | None]:
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
        security_event("signin.mfa_failure", user_id=user.id, level=logging.WARNING)
        raise NotAuthenticated(BAD_CODE)
    _burn_challenge(c.jti, c.expires_at)
    security_event(
        "signin.mfa_ok", user_id=user.id, entity_id=entity.id if entity else None, recovery=remaining is not None
    )
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
