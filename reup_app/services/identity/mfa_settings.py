"""Two-factor settings for a signed-in user: enrol, confirm, disable, regenerate recovery codes."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, select

from reup_app.errors import (
    Conflict,
    PermissionDenied,
    ValidationError,
)
from reup_app.models import User
from reup_app.models.types import utcnow
from reup_app.security import mfa, passwords, ratelimit
from reup_app.security.events import security_event
from reup_app.security.principal import Principal
from reup_app.security.ratelimit import enforce
from reup_app.services.identity.auth import SessionEnded
from reup_app.services.identity.common import (
    mfa_required_anywhere,
    require_user,
)
from reup_app.services.identity.password_reset import PASSWORD_CHANGE_LIMIT
from reup_app.services.notifications.email import send_email

__all__ = ["MfaSetup", "begin_mfa_enrolment", "confirm_mfa_enrolment", "disable_mfa", "regenerate_recovery_codes"]


@dataclass(frozen=True)
class MfaSetup:
    secret: str = field(repr=False)  # for manual entry in the authenticator app
    provisioning_uri: str = field(repr=False)
    qr_data_uri: str = field(repr=False)  # data:image/svg+xml;base64,...


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
    codes = _confirm_pending_secret(session, _locked_self(session, principal), code)
    security_event("mfa.enabled", user_id=principal.user_id, entity_id=principal.entity_id)
    return codes


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
    security_event("mfa.disabled", user_id=user.id, entity_id=principal.entity_id)
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
    security_event("mfa.recovery_codes_replaced", user_id=user.id, entity_id=principal.entity_id)
    return mfa.replace_recovery_codes(session, user.id)
