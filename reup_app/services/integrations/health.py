"""Integration health for the admin console: every connection of every business with its last
sync, its error queue (failed runs in the last week, the newest error) and a retry.

Retry reuses `error_queue`'s rule (status "retry": the `retry_syncs` pass runs it within 15 s).
Platform admins only (`platform.jobs.manage`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from reup_app.errors import NotFound
from reup_app.models import Entity, IntegrationConnection, License
from reup_app.models.enums import SyncStatus
from reup_app.models.integrations import SyncRun
from reup_app.models.types import utcnow
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal

WINDOW = timedelta(days=7)
LIMIT = 500


@dataclass(frozen=True)
class ConnectionHealth:
    connection_id: int
    business: str
    license_number: str
    provider: str
    enabled: bool
    status: str
    last_sync_at: datetime | None  # start of the newest finished run
    last_sync_status: str  # "" when it never ran
    failed_runs_week: int
    last_error: str


def connection_health(session: Session, principal: Principal) -> list[ConnectionHealth]:
    authorize(principal, "platform.jobs.manage", None)
    conns = session.exec(
        select(IntegrationConnection, Entity.name, License.number)
        .join(Entity, col(Entity.id) == col(IntegrationConnection.entity_id))
        .join(License, col(License.id) == col(IntegrationConnection.license_id))
        .order_by(col(Entity.name), col(License.number))
        .limit(LIMIT)
    ).all()
    ids = [c.id for c, _n, _l in conns]
    failed: dict[int, int] = {}
    last: dict[int, tuple[datetime, str, str]] = {}
    if ids:
        since = utcnow() - WINDOW
        failed = dict(
            session.exec(
                select(SyncRun.connection_id, func.count())
                .where(
                    col(SyncRun.connection_id).in_(ids),
                    col(SyncRun.status) == SyncStatus.FAILED,
                    col(SyncRun.started_at) >= since,
                )
                .group_by(col(SyncRun.connection_id))
            ).all()
        )
        newest = (
            select(func.max(col(SyncRun.id)))
            .where(col(SyncRun.connection_id).in_(ids), col(SyncRun.status) != SyncStatus.RUNNING)
            .group_by(col(SyncRun.connection_id))
        )
        for run in session.exec(select(SyncRun).where(col(SyncRun.id).in_(newest))).all():
            last[run.connection_id] = (run.started_at, str(run.status), run.error or "")
    return [
        ConnectionHealth(
            connection_id=c.id,
            business=name,
            license_number=number,
            provider=c.provider,
            enabled=bool(c.enabled),
            status=c.status,
            last_sync_at=last[c.id][0] if c.id in last else None,
            last_sync_status=last[c.id][1] if c.id in last else "",
            failed_runs_week=int(failed.get(c.id, 0)),
            last_error=(c.last_error or (last[c.id][2] if c.id in last else ""))[:300],
        )
        for c, name, number in conns
    ]


def retry_connection(session: Session, principal: Principal, connection_id: int) -> IntegrationConnection:
    """Queue a sync of the connection now (clears its error state)."""
    authorize(principal, "platform.jobs.manage", None)
    conn = (
        session.get(IntegrationConnection, connection_id, with_for_update=True)
        if isinstance(connection_id, int) and connection_id > 0
        else None
    )
    if conn is None:
        raise NotFound("That connection no longer exists.")
    conn.status, conn.last_error, conn.updated_at = "retry", None, utcnow()
    session.add(conn)
    return conn
