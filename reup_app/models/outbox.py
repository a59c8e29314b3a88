"""The transactional outbox (one row per intent to tell a vendor something) and the fencing
counters that let storage refuse a stale job leader's writes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from reup_app.models.types import opt_ts_field, str_field, text_field, ts_field


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        UniqueConstraint("reference", name="uq_outbox_reference"),
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_target", "target_table", "target_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = str_field(64)  # e.g. "metrc.create_transfer"; dispatches to a registered handler
    target_table: str = str_field(64)
    target_id: int
    payload: str = text_field()  # JSON
    reference: str = str_field(128)  # unique; also the vendor-side idempotency key / name
    status: str = str_field(16, default="pending")  # OutboxStatus
    attempts: int = Field(default=0)
    max_attempts: int = Field(default=8)
    next_attempt_at: datetime = ts_field()
    last_error: str | None = text_field(default=None)
    # A send was started (and maybe reached the vendor): the next try must reconcile first.
    send_started_at: datetime | None = opt_ts_field()
    fencing_token: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    result: str | None = text_field(default=None)  # JSON from the handler (e.g. the vendor's ids)
    created_at: datetime = ts_field()
    updated_at: datetime = ts_field()
    sent_at: datetime | None = opt_ts_field()


class JobFence(SQLModel, table=True):
    """The highest fencing token a lease name has written with; lower tokens are refused."""

    __tablename__ = "job_fences"

    name: str = str_field(64, primary_key=True)
    token: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    updated_at: datetime = ts_field()
