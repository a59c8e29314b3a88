"""Password hashing (argon2id via argon2-cffi) and the password policy.

passlib is unmaintained; its argon2 hashes are standard PHC strings (`$argon2id$v=19$m=...`), which
argon2-cffi verifies as they are. A hash made with other parameters (passlib's defaults, or ours
before a change) is replaced at the next successful sign-in (`maybe_rehash`).
"""

from __future__ import annotations

from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from reup_app.security.breached import is_breached

# argon2-cffi's defaults: RFC 9106's second recommended profile (argon2id, t=3, m=64 MiB, p=4).
_hasher = PasswordHasher()
BREACHED = "This password appears in lists of passwords leaked in data breaches. Please choose another one."

MIN_LENGTH = 12
MAX_LENGTH = 256


class PasswordPolicyError(ValueError):
    pass


def check_policy(password: str, *, email: str | None = None) -> None:
    """Raise PasswordPolicyError with a specific message when the password is unacceptable."""
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        raise PasswordPolicyError(f"Password must be at least {MIN_LENGTH} characters long.")
    if len(password) > MAX_LENGTH:
        raise PasswordPolicyError(f"Password must be at most {MAX_LENGTH} characters long.")
    if len(set(password)) < 5:
        raise PasswordPolicyError("Password is too repetitive; use a mix of characters or words.")
    if is_breached(password):
        raise PasswordPolicyError(BREACHED)
    if email and email.split("@")[0].lower() in password.lower() and len(email.split("@")[0]) >= 4:
        raise PasswordPolicyError("Password must not contain your email name.")
    classes = sum(
        [
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        ]
    )
    if classes < 2 and len(password) < 20:
        raise PasswordPolicyError(
            "Password needs at least two of: lower-case, upper-case, digits, symbols (or be 20+ characters)."
        )


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError, ValueError, TypeError):
        return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return True


def maybe_rehash(user: Any, password: str) -> bool:
    """After a successful verification: store a fresh hash if the stored one uses old parameters."""
    if not needs_rehash(user.password_hash):
        return False
    user.password_hash = hash_password(password)
    return True


# Verifying against this keeps the response time the same for unknown users.
DUMMY_HASH = _hasher.hash("reup-dummy-password-for-timing")
