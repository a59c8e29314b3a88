"""Password hashing (argon2 via passlib) and the password policy."""

from __future__ import annotations

from passlib.context import CryptContext

_context = CryptContext(schemes=["argon2"], deprecated="auto")

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
    return _context.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return _context.verify(password, password_hash)
    except (ValueError, TypeError):
        return False


# Verifying against this keeps the response time the same for unknown users.
DUMMY_HASH = _context.hash("reup-dummy-password-for-timing")
