"""Users and the credentials attached to them (all secret columns are hashes or ciphertext)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from reup_app.models.types import opt_ts_field, str_field, text_field, ts_field


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int = Field(default=None, primary_key=True)
    email: str = str_field(255, unique=True, index=True)
    full_name: str = str_field(255)
    password_hash: str = str_field(255)
    is_active: bool = Field(default=True)
    is_platform_admin: bool = Field(default=False)
    # Bumped on logout-everywhere, password change and disable: tokens carrying an older version die.
    token_version: int = Field(default=1)
    mfa_enabled: bool = Field(default=False)
    mfa_secret_encrypted: str | None = text_field(default=None)
    phone: str | None = str_field(32, default=None)
    last_login_at: datetime | None = opt_ts_field()
    created_at: datetime = ts_field()
    updated_at: datetime = ts_field()


class RefreshToken(SQLModel, table=True):
    """A rotating refresh token; only its SHA-256 is stored. Reuse of a used one kills its family."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (Index("ix_refresh_tokens_family", "family_id"),)

    id: int = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    entity_id: int | None = Field(default=None, foreign_key="entities.id")
    family_id: str = str_field(36)
    token_hash: str = str_field(64, unique=True)
    issued_at: datetime = ts_field()
    expires_at: datetime = ts_field()
    used_at: datetime | None = opt_ts_field()
    revoked_at: datetime | None = opt_ts_field()
    user_agent: str | None = str_field(255, default=None)
    client_ip: str | None = str_field(64, default=None)


class MfaRecoveryCode(SQLModel, table=True):
    __tablename__ = "mfa_recovery_codes"

    id: int = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    code_hash: str = str_field(255)
    used_at: datetime | None = opt_ts_field()
    created_at: datetime = ts_field()


class OneTimeToken(SQLModel, table=True):
    """Invitation and password-reset links: random token, stored hashed, expiring, single use."""

    __tablename__ = "one_time_tokens"

    id: int = Field(default=None, primary_key=True)
    purpose: str = str_field(32)
    token_hash: str = str_field(64, unique=True)
    email: str = str_field(255, index=True)
    user_id: int | None = Field(default=None, foreign_key="users.id")
    entity_id: int | None = Field(default=None, foreign_key="entities.id")
    role: str | None = str_field(32, default=None)
    created_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    expires_at: datetime = ts_field()
    used_at: datetime | None = opt_ts_field()
    created_at: datetime = ts_field()


class EmailOutbox(SQLModel, table=True):
    """Every e-mail ReUp sends. The request writes the row ('pending'); the sender job delivers it
    by SMTP ('sent'), or logs it when no SMTP is configured ('logged'), retrying with backoff until
    the retry budget is spent ('failed'; platform admins can retry it)."""

    __tablename__ = "email_outbox"
    __table_args__ = (Index("ix_email_outbox_due", "status", "next_attempt_at"),)

    id: int = Field(default=None, primary_key=True)
    to_address: str = str_field(255, index=True)
    subject: str = str_field(255)
    body: str = text_field()
    # Carries a sign-in link (invite, reset): once sent, the body is replaced and only its hash kept.
    sensitive: bool = Field(default=False)
    body_sha256: str | None = str_field(64, default=None)
    status: str = str_field(16, default="pending")  # EmailStatus
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = opt_ts_field()
    created_at: datetime = ts_field()
    sent_at: datetime | None = opt_ts_field()
    last_error: str | None = text_field(default=None)


__all__ = ["User", "RefreshToken", "MfaRecoveryCode", "OneTimeToken", "EmailOutbox", "UniqueConstraint"]
