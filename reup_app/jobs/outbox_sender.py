"""The outbox sender: claims due rows (FOR UPDATE SKIP LOCKED on MariaDB), dispatches each to the
handler registered for its kind outside any transaction, and records the outcome in a second short
transaction. Both transactions check the leader's fencing token, so a stale leader claims nothing
and records nothing.

Handlers: `@outbox_handler("metrc.create_transfer")` on `fn(msg: OutboxDelivery) -> dict | None`.
`msg.maybe_sent` is True when an earlier try may have reached the vendor (it timed out, or the
worker died mid-send): the handler must look the object up by `msg.reference` before sending again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from reup_app.backoff import next_attempt_at
from reup_app.jobs.fencing import check_fence
from reup_app.models.enums import OutboxStatus
from reup_app.models.outbox import OutboxMessage
from reup_app.models.types import utcnow

log = logging.getLogger(__name__)

FENCE_NAME = "scheduler"
CLAIM_TIMEOUT = timedelta(minutes=5)  # a 'sending' row older than this was abandoned by a dead sender


@dataclass(frozen=True)
class OutboxDelivery:
    id: int
    kind: str
    target_table: str
    target_id: int
    payload: dict[str, Any]
    reference: str
    attempt: int
    maybe_sent: bool
    created_at: datetime


Handler = Callable[[OutboxDelivery], dict[str, Any] | None]
_HANDLERS: dict[str, Handler] = {}


def outbox_handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that delivers outbox rows of `kind` (one per kind)."""

    def register(fn: Handler) -> Handler:
        if kind in _HANDLERS and _HANDLERS[kind] is not fn:
            raise ValueError(f"an outbox handler for {kind!r} is already registered")
        _HANDLERS[kind] = fn
        return fn

    return register


def unregister(kind: str) -> None:
    _HANDLERS.pop(kind, None)


@dataclass(frozen=True)
class Fence:
    token: int
    name: str = FENCE_NAME


def claim_due(engine: Engine, fence: Fence, *, limit: int = 20, now: datetime | None = None) -> list[OutboxDelivery]:
    """Take up to `limit` due rows for this sender (status -> sending) in one short transaction."""
    now = now or utcnow()
    with Session(engine, expire_on_commit=False) as session:
        check_fence(session, fence.name, fence.token)
        due = or_(
            (col(OutboxMessage.status).in_([OutboxStatus.PENDING, OutboxStatus.FAILED]))
            & (OutboxMessage.next_attempt_at <= now),
            (col(OutboxMessage.status) == OutboxStatus.SENDING) & (col(OutboxMessage.next_attempt_at) <= now),
        )
        query = (
            select(OutboxMessage)
            .where(due)
            .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
            .limit(limit)
        )
        if engine.dialect.name != "sqlite":
            query = query.with_for_update(skip_locked=True)
        rows = session.exec(query).all()
        out = []
        for row in rows:
            assert row.id is not None  # a loaded row has its key
            maybe_sent = row.send_started_at is not None
            row.status, row.attempts = OutboxStatus.SENDING, row.attempts + 1
            row.send_started_at, row.fencing_token = now, fence.token
            row.next_attempt_at, row.updated_at = now + CLAIM_TIMEOUT, now
            session.add(row)
            out.append(
                OutboxDelivery(
                    row.id,
                    row.kind,
                    row.target_table,
                    row.target_id,
                    json.loads(row.payload),
                    row.reference,
                    row.attempts,
                    maybe_sent,
                    row.created_at,
                )
            )
        session.commit()
        return out


def _record(engine: Engine, fence: Fence, msg: OutboxDelivery, values: dict[str, Any]) -> bool:
    """Write the outcome unless the row was re-claimed meanwhile (or this leader went stale)."""
    with Session(engine) as session:
        check_fence(session, fence.name, fence.token)
        result = session.execute(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.id) == msg.id,
                col(OutboxMessage.status) == OutboxStatus.SENDING,
                col(OutboxMessage.fencing_token) == fence.token,
                col(OutboxMessage.attempts) == msg.attempt,
            )
            .values(updated_at=utcnow(), **values)
            .execution_options(synchronize_session=False)
        )
        session.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]  # an UPDATE/DELETE yields a CursorResult; Session.execute is typed Result


def deliver(engine: Engine, fence: Fence, msg: OutboxDelivery) -> str:
    """Run the handler for one claimed row and record sent / failed / dead; returns the new status."""
    from reup_app.integrations.errors import IntegrationError, Rejected

    handler = _HANDLERS.get(msg.kind)
    try:
        if handler is None:
            raise LookupError(f"no outbox handler registered for {msg.kind!r}")
        result = handler(msg)
    except Exception as exc:  # every failure is recorded on the row, never raised to the scheduler
        permanent = isinstance(exc, Rejected | LookupError)
        dead = permanent or msg.attempt >= _max_attempts(engine, msg.id)
        definitely_not_sent = permanent or (isinstance(exc, IntegrationError) and getattr(exc, "not_sent", False))
        values: dict[str, Any] = {
            "status": OutboxStatus.DEAD if dead else OutboxStatus.FAILED,
            "last_error": f"{type(exc).__name__}: {exc}"[:4000],
            "next_attempt_at": next_attempt_at(msg.attempt, retry_after=getattr(exc, "retry_after", None)),
        }
        if definitely_not_sent and not msg.maybe_sent:
            values["send_started_at"] = None  # nothing reached the vendor: no reconcile needed next time
        log.warning("outbox %s #%d (%s) attempt %d failed: %s", msg.kind, msg.id, msg.reference, msg.attempt, exc)
        _record(engine, fence, msg, values)
        return values["status"]
    _record(
        engine,
        fence,
        msg,
        {
            "status": OutboxStatus.SENT,
            "sent_at": utcnow(),
            "last_error": None,
            "result": json.dumps(result or {}, default=str),
        },
    )
    return OutboxStatus.SENT


def _max_attempts(engine: Engine, message_id: int) -> int:
    with Session(engine) as session:
        row = session.get(OutboxMessage, message_id)
        return row.max_attempts if row else 1


def send_due(engine: Engine, fence: Fence, *, limit: int = 20, concurrency: int = 4) -> dict[str, int]:
    """One sender pass: claim, deliver concurrently (bounded), record. Returns counts by outcome."""
    claimed = claim_due(engine, fence, limit=limit)
    counts: dict[str, int] = {}
    if not claimed:
        return counts
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(claimed))), thread_name_prefix="outbox") as pool:
        for status in pool.map(lambda m: deliver(engine, fence, m), claimed):
            counts[str(status)] = counts.get(str(status), 0) + 1
    return counts
