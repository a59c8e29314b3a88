"""The public REST API's tables: API keys (each acts through its own service-account user), the
Idempotency-Key records of POSTs, and outgoing webhook endpoints with their per-delivery log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from reup_app.models.types import opt_ts_field, str_field, text_field, ts_field


class ApiKey(SQLModel, table=True):
    """A business's API key: only the SHA-256 of the secret is stored. `user_id` is the key's own
    service-account user (no membership, no password), so every change it makes is audited as it."""

    __tablename__ = "api_keys"

    id: int = Field(default=None, primary_key=True)
    entity_id: int = Field(foreign_key="entities.id", index=True)
    user_id: int = Field(foreign_key="users.id", unique=True)
    name: str = str_field(80)
    role: str = str_field(16)  # Role, same permissions as a member with that role
    prefix: str = str_field(16)  # shown in lists to tell keys apart ("rk_ab12cd34")
    key_hash: str = str_field(64, unique=True)
    rate_limit_per_minute: int = Field(default=600)
    created_by_user_id: int = Field(foreign_key="users.id")
    created_at: datetime = ts_field()
    last_used_at: datetime | None = opt_ts_field()
    expires_at: datetime | None = opt_ts_field()
    revoked_at: datetime | None = opt_ts_field()


class ApiIdempotencyRecord(SQLModel, table=True):
    """One Idempotency-Key of one API key on one route, written with the request's effect: the
    stored response is what a replay returns."""

    __tablename__ = "api_idempotency"
    __table_args__ = (UniqueConstraint("api_key_id", "route", "idem_key", name="uq_api_idempotency"),)

    id: int = Field(default=None, primary_key=True)
    api_key_id: int = Field(foreign_key="api_keys.id")
    route: str = str_field(200)
    idem_key: str = str_field(255)
    request_hash: str = str_field(64)
    status: str = str_field(16, default="started")  # "done" (earlier versions also left "started" claims)
    response_code: int | None = Field(default=None)
    response_body: str | None = text_field(default=None)
    created_at: datetime = ts_field(index=True)
    completed_at: datetime | None = opt_ts_field()


class WebhookEndpoint(SQLModel, table=True):
    __tablename__ = "webhook_endpoints"

    id: int = Field(default=None, primary_key=True)
    entity_id: int = Field(foreign_key="entities.id", index=True)
    url: str = str_field(500)
    event_kinds: str = str_field(500)  # comma-separated webhook event kinds
    secret_sealed: str = text_field()  # security.crypto sealed signing secret (shown once)
    enabled: bool = Field(default=True)
    disabled_reason: str | None = str_field(255, default=None)
    created_at: datetime = ts_field()
    updated_at: datetime = ts_field()


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint; sent through the outbox (`webhook.deliver`), logged here."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),)

    id: int = Field(default=None, primary_key=True)
    endpoint_id: int = Field(foreign_key="webhook_endpoints.id")
    event_id: str = str_field(40)
    kind: str = str_field(64)
    payload: str = text_field()  # the exact JSON body that is signed and sent
    status: str = str_field(16, default="pending")  # pending / succeeded / failing / dead
    attempts: int = Field(default=0)
    last_status_code: int | None = Field(default=None)
    last_duration_ms: int | None = Field(default=None)
    last_error: str | None = str_field(500, default=None)
    last_attempt_at: datetime | None = opt_ts_field()
    created_at: datetime = ts_field()
    delivered_at: datetime | None = opt_ts_field()
