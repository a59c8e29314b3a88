"""TOTP two-factor authentication (RFC 6238, pyotp) and single-use recovery codes.

- Secrets are stored encrypted (`reup_app.security.crypto`, AAD ``users.mfa_secret:<id>``).
- Verification accepts the current 30-second step and one step either side (valid_window=1)
  and refuses a step at or before the last one accepted for that user (replay protection, kept
  in the rate-limit backend: Redis when configured, else memory).
- Recovery codes look like ``abcd-efgh-ijkl`` (60 random bits), are stored as salted SHA-256
  (``sha256$<salt>$<hex>``) and are consumed on use.
- The QR code is an SVG data URI (Pillow is not installed; qrcode's SVG factory needs nothing).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import re
import secrets
import time
from datetime import datetime

import pyotp
from sqlmodel import Session, col, select

from reup_app.models import MfaRecoveryCode
from reup_app.models.types import utcnow
from reup_app.security import crypto
from reup_app.security.ratelimit import get_backend

ISSUER = "ReUp"
DIGITS = 6
INTERVAL = 30
VALID_WINDOW = 1
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
_CODE_RE = re.compile(r"^\d{6}$")
_RECOVERY_RE = re.compile(r"^[a-z0-9]{12}$")


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """An ``data:image/svg+xml;base64,...`` QR code for `uri` (safe to put in an <img src>)."""
    import qrcode
    import qrcode.image.svg

    img = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    buf = io.BytesIO()
    img.save(buf)
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def encrypt_secret(user_id: int, secret: str) -> str:
    return crypto.encrypt(secret, crypto.mfa_secret_aad(user_id))


def decrypt_secret(user_id: int, token: str) -> str:
    return crypto.decrypt(token, crypto.mfa_secret_aad(user_id))


def normalize_code(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "")


def looks_like_totp(code: str) -> bool:
    return bool(_CODE_RE.match(normalize_code(code)))


def matching_step(
    secret: str, code: str, *, for_time: float | datetime | None = None, valid_window: int = VALID_WINDOW
) -> int | None:
    """The time step whose code equals `code` within the window, or None."""
    code = normalize_code(code)
    if not _CODE_RE.match(code):
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL)
    when = for_time if for_time is not None else time.time()
    step = totp.timecode(when) if isinstance(when, datetime) else int(when // INTERVAL)
    found = None
    for offset in range(-valid_window, valid_window + 1):  # constant work: check all
        if hmac.compare_digest(totp.generate_otp(step + offset), code):
            found = step + offset
    return found


def _replay_key(user_id: int) -> str:
    return f"mfa:last_step:{int(user_id)}"


def verify_totp(user_id: int, secret: str, code: str, *, for_time: float | datetime | None = None) -> bool:
    """True once per time step: a code whose step is not after the last accepted one is refused."""
    step = matching_step(secret, code, for_time=for_time)
    if step is None:
        return False
    ttl = INTERVAL * (2 * VALID_WINDOW + 2)
    return get_backend().set_if_greater(_replay_key(user_id), step, ttl)


def current_code(secret: str, for_time: float | datetime | None = None) -> str:
    """The code an authenticator shows now (tests, CLI)."""
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL)
    return totp.at(for_time if for_time is not None else time.time())


# --- recovery codes -------------------------------------------------------------------------


def generate_recovery_codes(n: int = RECOVERY_CODE_COUNT) -> list[str]:
    codes = []
    for _ in range(n):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(12))
        codes.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:]}")
    return codes


def normalize_recovery_code(code: str) -> str | None:
    c = normalize_code(code).lower()
    return c if _RECOVERY_RE.match(c) else None


def hash_recovery_code(code: str, salt: str | None = None) -> str:
    norm = normalize_recovery_code(code)
    if norm is None:
        raise ValueError("not a recovery code")
    salt = salt or secrets.token_hex(16)
    return f"sha256${salt}${hashlib.sha256((salt + norm).encode()).hexdigest()}"


def check_recovery_code(code: str, stored: str) -> bool:
    try:
        algo, salt, _digest = stored.split("$", 2)
    except ValueError:
        return False
    if algo != "sha256":
        return False
    try:
        return hmac.compare_digest(hash_recovery_code(code, salt), stored)
    except ValueError:
        return False


def replace_recovery_codes(session: Session, user_id: int) -> list[str]:
    """Delete the user's recovery codes and store 10 new ones; returns them in clear (show once)."""
    for old in session.exec(select(MfaRecoveryCode).where(MfaRecoveryCode.user_id == user_id).with_for_update()).all():
        session.delete(old)
    codes = generate_recovery_codes()
    for c in codes:
        session.add(MfaRecoveryCode(user_id=user_id, code_hash=hash_recovery_code(c)))
    session.flush()
    return codes


def delete_recovery_codes(session: Session, user_id: int) -> None:
    for old in session.exec(select(MfaRecoveryCode).where(MfaRecoveryCode.user_id == user_id)).all():
        session.delete(old)
    session.flush()


def use_recovery_code(session: Session, user_id: int, code: str) -> bool:
    """Consume a matching unused code (row-locked, so it works once even under concurrency)."""
    if normalize_recovery_code(code) is None:
        return False
    rows = session.exec(
        select(MfaRecoveryCode)
        .where(MfaRecoveryCode.user_id == user_id, col(MfaRecoveryCode.used_at).is_(None))
        .with_for_update()
    ).all()
    match = None
    for r in rows:  # check all: time does not reveal which one matched
        if check_recovery_code(code, r.code_hash):
            match = r
    if match is None:
        return False
    match.used_at = utcnow()
    session.add(match)
    session.flush()
    return True


def remaining_recovery_codes(session: Session, user_id: int) -> int:
    return len(
        session.exec(
            select(MfaRecoveryCode.id).where(MfaRecoveryCode.user_id == user_id, col(MfaRecoveryCode.used_at).is_(None))
        ).all()
    )


__all__ = [
    "check_recovery_code",
    "current_code",
    "decrypt_secret",
    "delete_recovery_codes",
    "encrypt_secret",
    "generate_recovery_codes",
    "hash_recovery_code",
    "looks_like_totp",
    "matching_step",
    "new_secret",
    "provisioning_uri",
    "qr_data_uri",
    "remaining_recovery_codes",
    "replace_recovery_codes",
    "use_recovery_code",
    "verify_totp",
]
