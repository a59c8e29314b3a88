"""The audit trail: one row per insert/update/delete of business data, written by the ORM
listener in `reup_app.services.audit.trail` inside the same transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, Integer
from sqlmodel import Field, SQLModel

from reup_app.models.types import str_field, text_field, ts_field


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_subject_entity_time", "subject_entity_id", "occurred_at"),
        Index("ix_audit_table_row", "table_name", "row_id"),
        Index("ix_audit_time", "occurred_at"),
    )

    id: int = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    )
    occurred_at: datetime = ts_field()
    actor_user_id: int | None = Field(default=None, index=True)
    actor_entity_id: int | None = Field(default=None)
    # The entity whose data changed (lets an entity's owners browse their own trail).
    subject_entity_id: int | None = Field(default=None)
    client_ip: str | None = str_field(64, default=None)
    action: str = str_field(8)  # insert / update / delete
    table_name: str = str_field(64)
    row_id: str = str_field(64)
    changes: str = text_field()  # JSON {"field": [before, after]}, secrets redacted
