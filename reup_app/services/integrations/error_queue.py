"""The admin error queue: outbox rows that spent their retry budget, sync runs that failed (with
retry), vendor webhooks whose processing spent its budget (with retry), and vendor webhooks ReUp
could not match to anything (listed). Platform admins only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from reup_app.errors import NotFound, ValidationError
from reup_app.models.enums import OutboxStatus, SyncStatus
from reup_app.models.integrations import IntegrationConnection, SyncRun, WebhookReceipt
from reup_app.models.outbox import OutboxMessage
from reup_app.models.types import utcnow
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services.audit.trail import audit_also

LIMIT = 200


@dataclass(frozen=True)
class DeadMessage:
    id: int
    kind: str
    reference: str
    target: str
    attempts: int
    last_error: str
    updated_at: datetime


@dataclass(frozen=True)
class FailedRun:
    id: int
    connection_id: int
    provider: str
    resource: str
    started_at: datetime
    error: str


def dead_messages(session: Session, principal: Principal) -> list[DeadMessage]:
    authorize(principal, "platform.jobs.manage", None)
    rows = session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.DEAD)
        .order_by(col(OutboxMessage.updated_at).desc())
        .limit(LIMIT)
    ).all()
    return [
        DeadMessage(
            r.id, r.kind, r.reference, f"{r.target_table}#{r.target_id}", r.attempts, r.last_error or "", r.updated_at
        )
        for r in rows
        if r.id is not None  # a loaded row has its key
    ]


def failing_runs(session: Session, principal: Principal) -> list[FailedRun]:
    """The latest run per (connection, resource) when that latest run failed."""
    authorize(principal, "platform.jobs.manage", None)
    latest = (
        select(func.max(col(SyncRun.id)).label("id"))
        .group_by(col(SyncRun.connection_id), col(SyncRun.resource))
        .subquery()
    )
    rows = session.exec(
        select(SyncRun, IntegrationConnection.provider)
        .join(latest, latest.c.id == SyncRun.id)
        .join(IntegrationConnection, col(IntegrationConnection.id) == col(SyncRun.connection_id))
        .where(SyncRun.status == SyncStatus.FAILED)
        .order_by(col(SyncRun.started_at).desc())
        .limit(LIMIT)
    ).all()
    return [FailedRun(r.id, r.connection_id, provider, r.resource, r.started_at, r.error or "") for r, provider in rows]


def retry_message(session: Session, principal: Principal, message_id: int) -> OutboxMessage:
    """Put a dead row back in the queue with a fresh budget (it still reconciles first if it was sent)."""
    authorize(principal, "platform.jobs.manage", None)
    if not isinstance(message_id, int) or message_id <= 0:
        raise ValidationError("Unknown message.", field="message_id")
    row = session.get(OutboxMessage, message_id, with_for_update=True)
    if row is None:
        raise NotFound("That outbox message no longer exists.")
    if row.status != OutboxStatus.DEAD:
        raise ValidationError(f"Only dead messages can be retried; this one is {row.status}.", field="message_id")
    now = utcnow()
    row.status, row.attempts, row.next_attempt_at, row.updated_at = OutboxStatus.PENDING, 0, now, now
    session.add(row)
    return row


def retry_sync(session: Session, principal: Principal, run_id: int) -> IntegrationConnection:
    """Ask the next scheduler tick to sync this run's connection again (clears its error state)."""
    authorize(principal, "platform.jobs.manage", None)
    run = session.get(SyncRun, run_id) if isinstance(run_id, int) and run_id > 0 else None
    if run is None:
        raise NotFound("That sync run no longer exists.")
    conn = session.get(IntegrationConnection, run.connection_id, with_for_update=True)
    if conn is None:
        raise NotFound("That connection no longer exists.")
    conn.status, conn.last_error, conn.updated_at = "retry", None, utcnow()
    session.add(conn)
    return conn


@dataclass(frozen=True)
class UnmatchedWebhook:
    id: int
    provider: str
    event_id: str
    event_type: str
    error: str
    received_at: datetime


def _receipts(session: Session, principal: Principal, status: str) -> list[WebhookReceipt]:
    """The latest stored vendor events in `status` (platform admins only)."""
    authorize(principal, "platform.jobs.manage", None)
    rows = session.exec(
        select(WebhookReceipt)
        .where(WebhookReceipt.status == status)
        .order_by(col(WebhookReceipt.received_at).desc())
        .limit(LIMIT)
    ).all()
    return [r for r in rows if r.id is not None]


def unmatched_webhooks(session: Session, principal: Principal) -> list[UnmatchedWebhook]:
    """Signed vendor events for an order ReUp does not know (e.g. a Fleetbase order made by hand)."""
    return [
        UnmatchedWebhook(r.id, r.provider, r.external_event_id, r.event_type or "", r.error or "", r.received_at)
        for r in _receipts(session, principal, "unmatched")
    ]


@dataclass(frozen=True)
class DeadWebhook:
    id: int
    provider: str
    event_id: str
    event_type: str
    attempts: int
    error: str
    received_at: datetime


def dead_webhooks(session: Session, principal: Principal) -> list[DeadWebhook]:
    """Stored vendor events whose processing kept failing until their retry budget was spent."""
    return [
        DeadWebhook(r.id, r.provider, r.external_event_id, r.event_type or "", r.attempts, r.error or "", r.received_at)
        for r in _receipts(session, principal, "dead")
    ]


def retry_webhook(session: Session, principal: Principal, receipt_id: int) -> WebhookReceipt:
    """Put a dead receipt back for processing with a fresh budget (the sweep takes it within seconds).

    Receipts are not in the audit trail (machine bookkeeping), but this admin action is: the session
    asks the trail to include webhook_receipts for this change, as the outbox retry is audited."""
    authorize(principal, "platform.jobs.manage", None)
    if not isinstance(receipt_id, int) or receipt_id <= 0:
        raise ValidationError("Unknown webhook.", field="receipt_id")
    row = session.get(WebhookReceipt, receipt_id, with_for_update=True)
    if row is None:
        raise NotFound("That webhook no longer exists.")
    if row.status != "dead":
        raise ValidationError(f"Only dead webhooks can be retried; this one is {row.status}.", field="receipt_id")
    audit_also(session, WebhookReceipt.__tablename__)
    row.status, row.attempts, row.next_attempt_at = "received", 0, utcnow()
    session.add(row)
    return row
