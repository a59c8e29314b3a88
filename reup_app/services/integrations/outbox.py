"""The outbox: a business change and the intent to tell a vendor about it commit together.

`enqueue(session, ...)` adds the row inside the caller's unit of work; the sender job
(`reup_app.jobs.outbox_sender`) delivers it after the commit. `reference` is unique: enqueueing
the same reference twice returns the existing row (one intent, one message)."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, select

from reup_app.errors import ValidationError
from reup_app.models.enums import OutboxStatus
from reup_app.models.outbox import OutboxMessage
from reup_app.models.types import utcnow

MAX_REFERENCE = 128
DEFAULT_MAX_ATTEMPTS = 8


def enqueue(
    session: Session,
    kind: str,
    *,
    target_table: str,
    target_id: int,
    payload: dict[str, Any],
    reference: str,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> OutboxMessage:
    """Add (or find, by reference) the outbox row for one intent; flushed, not committed."""
    if not kind or "." not in kind or len(kind) > 64:
        raise ValidationError(f"outbox kind must look like 'vendor.action', got {kind!r}", field="kind")
    if not reference or len(reference) > MAX_REFERENCE:
        raise ValidationError(f"outbox reference must be 1..{MAX_REFERENCE} characters", field="reference")
    if max_attempts < 1:
        raise ValidationError("max_attempts must be at least 1", field="max_attempts")
    existing = session.exec(select(OutboxMessage).where(OutboxMessage.reference == reference)).first()
    if existing is not None:
        if existing.kind != kind or existing.target_table != target_table or existing.target_id != target_id:
            raise ValidationError(
                f"outbox reference {reference!r} is already used by another intent", field="reference"
            )
        return existing
    now = utcnow()
    row = OutboxMessage(
        kind=kind,
        target_table=target_table,
        target_id=int(target_id),
        payload=json.dumps(payload, default=str, sort_keys=True),
        reference=reference,
        status=OutboxStatus.PENDING,
        max_attempts=max_attempts,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row
