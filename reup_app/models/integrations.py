"""Connections to METRC, Dutchie and Fleetbase per license, their sync cursors and runs, and the
received-webhook log used to drop duplicates."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from reup_app.models.types import opt_ts_field, str_field, text_field, ts_field


class IntegrationConnection(SQLModel, table=True):
    __tablename__ = "integration_connections"
    __table_args__ = (UniqueConstraint("license_id", "provider", name="uq_connections_license_provider"),)

    id: int = Field(default=None, primary_key=True)
    entity_id: int = Field(foreign_key="entities.id", index=True)
    license_id: int = Field(foreign_key="licenses.id")
    provider: str = str_field(16)  # Provider
    base_url: str = str_field(255)
    # AES-GCM ciphertext of the JSON credentials (see reup_app.security.crypto).
    credentials_encrypted: str = text_field()
    enabled: bool = Field(default=True)
    status: str = str_field(16, default="ok")
    last_error: str | None = text_field(default=None)
    created_at: datetime = ts_field()
    updated_at: datetime = ts_field()


class SyncCursor(SQLModel, table=True):
    __tablename__ = "sync_cursors"
    __table_args__ = (UniqueConstraint("connection_id", "resource", name="uq_sync_cursors_conn_resource"),)

    id: int = Field(default=None, primary_key=True)
    connection_id: int = Field(foreign_key="integration_connections.id")
    resource: str = str_field(64)
    cursor_value: str | None = str_field(255, default=None)
    fencing_token: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    updated_at: datetime = ts_field()


class SyncRun(SQLModel, table=True):
    __tablename__ = "sync_runs"
    __table_args__ = (Index("ix_sync_runs_conn_started", "connection_id", "started_at"),)

    id: int = Field(default=None, primary_key=True)
    connection_id: int = Field(foreign_key="integration_connections.id")
    resource: str = str_field(64)
    status: str = str_field(16, default="running")  # SyncStatus
    started_at: datetime = ts_field()
    finished_at: datetime | None = opt_ts_field()
    items_seen: int = Field(default=0)
    items_changed: int = Field(default=0)
    error: str | None = text_field(default=None)
    fencing_token: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


class WebhookReceipt(SQLModel, table=True):
    __tablename__ = "webhook_receipts"
    __table_args__ = (
        UniqueConstraint("provider", "external_event_id", name="uq_webhooks_provider_event"),
        Index("ix_webhook_receipts_status", "status", "received_at"),
    )

    id: int = Field(default=None, primary_key=True)
    provider: str = str_field(16)
    external_event_id: str = str_field(128)
    event_type: str | None = str_field(64, default=None)
    payload: str = text_field()
    status: str = str_field(16, default="received")
    error: str | None = text_field(default=None)
    received_at: datetime = ts_field()
    processed_at: datetime | None = opt_ts_field()
    # Migration 0014: processing tries so far, and when a failed one may be tried again (the retry
    # budget; past it the receipt is "dead" and waits for an admin's Retry on /admin/jobs).
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = opt_ts_field()
