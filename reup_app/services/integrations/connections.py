"""A business's METRC connections, one per license: list them with their status and last sync,
connect a license (its user API key, encrypted at rest), ask for a sync now, disconnect.

Owners and admins of the license's entity only (`integration.manage`, checked on the license row);
platform admins may also choose another base URL. Credentials never leave this module except
encrypted: views carry only whether a key is stored. Testing a connection talks to METRC and lives
in `connection_check` (outside any transaction).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from reup_app.errors import Conflict, NotFound, PermissionDenied, ValidationError
from reup_app.models import IntegrationConnection, License
from reup_app.models.enums import Provider, SyncStatus
from reup_app.models.integrations import SyncRun
from reup_app.models.types import utcnow
from reup_app.security.crypto import encrypt_credentials
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.settings import get_settings

METRC = str(Provider.METRC)
# Connection statuses (integration_connections.status): the sync runtime writes ok / error and reads retry.
OK, ERROR, QUEUED, DISCONNECTED = "ok", "error", "retry", "disconnected"
USER_KEY_RE = re.compile(r"^[A-Za-z0-9_\-.~+/=]{8,255}$")
URL_RE = re.compile(r"^https?://[A-Za-z0-9.\-]+(:\d{1,5})?(/[\w\-./]*)?$")
STALE_RUN = timedelta(hours=2)  # a "running" run older than this was cut short by a crash


@dataclass(frozen=True)
class LastSync:
    resource: str
    status: str  # SyncStatus
    started_at: datetime
    finished_at: datetime | None
    items_seen: int
    items_changed: int
    error: str

    @property
    def duration_seconds(self) -> float | None:
        return (self.finished_at - self.started_at).total_seconds() if self.finished_at else None


@dataclass(frozen=True)
class ConnectionView:
    """One license and its METRC connection as the connections page shows it (no secrets)."""

    license_id: int
    entity_id: int
    license_number: str
    state: str
    premises_name: str
    connection_id: int | None
    connected: bool  # enabled with a stored user key
    status: str  # "not_connected", ok, error, retry (sync queued), disconnected
    base_url: str
    last_error: str
    last_sync: LastSync | None
    running: bool


def _entity_licenses(session: Session, entity_id: int) -> list[License]:
    return list(session.exec(select(License).where(License.entity_id == entity_id).order_by(col(License.id))).all())


def _connection(session: Session, license_id: int, *, lock: bool = False) -> IntegrationConnection | None:
    query = select(IntegrationConnection).where(
        IntegrationConnection.license_id == license_id, IntegrationConnection.provider == METRC
    )
    if lock:
        query = query.with_for_update()
    return session.exec(query).first()


def _license_for(session: Session, principal: Principal, license_id: object) -> License:
    """The license row, after checking the principal manages its entity's integrations."""
    if not isinstance(license_id, int) or isinstance(license_id, bool) or license_id <= 0:
        raise NotFound("That license does not exist.")
    lic = session.get(License, license_id)
    if lic is None:
        raise NotFound("That license does not exist.")
    authorize(principal, "integration.manage", lic.entity_id)
    return lic


def _last_sync(session: Session, connection_id: int) -> tuple[LastSync | None, bool]:
    """The newest finished run, and whether a run is in progress now."""
    runs = session.exec(
        select(SyncRun).where(SyncRun.connection_id == connection_id).order_by(col(SyncRun.id).desc()).limit(10)
    ).all()
    cutoff = utcnow() - STALE_RUN
    running = any(r.status == SyncStatus.RUNNING and r.started_at >= cutoff for r in runs)
    done = next((r for r in runs if r.status != SyncStatus.RUNNING), None)
    if done is None:
        return None, running
    return (
        LastSync(
            done.resource,
            done.status,
            done.started_at,
            done.finished_at,
            done.items_seen,
            done.items_changed,
            done.error or "",
        ),
        running,
    )


def _view(session: Session, lic: License, conn: IntegrationConnection | None) -> ConnectionView:
    last, running = _last_sync(session, conn.id) if conn is not None else (None, False)
    connected = bool(conn and conn.enabled and conn.credentials_encrypted)
    return ConnectionView(
        license_id=lic.id,
        entity_id=lic.entity_id,
        license_number=lic.number,
        state=lic.state,
        premises_name=lic.premises_name or "",
        connection_id=conn.id if conn else None,
        connected=connected,
        status=conn.status if conn else "not_connected",
        base_url=conn.base_url if conn else "",
        last_error=(conn.last_error or "") if conn else "",
        last_sync=last,
        running=running,
    )


def list_connections(session: Session, principal: Principal, entity_id: int | None = None) -> list[ConnectionView]:
    """Every license of the business (the principal's own unless a platform admin names another)
    with its METRC connection."""
    target = principal.entity_id if entity_id is None else entity_id
    if not isinstance(target, int) or isinstance(target, bool):
        raise PermissionDenied("You are not allowed to do that.")
    authorize(principal, "integration.manage", target)
    licenses = _entity_licenses(session, target)
    conns = {
        c.license_id: c
        for c in session.exec(
            select(IntegrationConnection).where(
                IntegrationConnection.entity_id == target, IntegrationConnection.provider == METRC
            )
        ).all()
    }
    return [_view(session, lic, conns.get(lic.id)) for lic in licenses]


def connection_view(session: Session, principal: Principal, license_id: int) -> ConnectionView:
    lic = _license_for(session, principal, license_id)
    return _view(session, lic, _connection(session, lic.id))


def _clean_user_key(user_key: object) -> str:
    key = user_key.strip() if isinstance(user_key, str) else ""
    if not key:
        raise ValidationError("Enter the license's METRC user API key.", field="user_key")
    if not USER_KEY_RE.match(key):
        raise ValidationError(
            "That does not look like a METRC user API key (8 to 255 letters, digits or - _ . ~ + / =).",
            field="user_key",
        )
    return key


def _clean_base_url(principal: Principal, base_url: object) -> str:
    default = get_settings().metrc_base_url
    url = base_url.strip().rstrip("/") if isinstance(base_url, str) else ""
    if not url or url == default.rstrip("/"):
        return default
    if not principal.is_platform_admin:
        raise PermissionDenied("Only a platform admin can point a connection at another METRC address.")
    if not URL_RE.match(url):
        raise ValidationError("Enter the METRC address as http(s)://host[:port][/path].", field="base_url")
    return url


def connect_license(
    session: Session, principal: Principal, license_id: int, user_key: str, base_url: str | None = None
) -> ConnectionView:
    """Store (or replace) the license's METRC user key, encrypted, and enable its connection. The
    license's state is the license row's; the vendor key comes from settings."""
    lic = _license_for(session, principal, license_id)
    key = _clean_user_key(user_key)
    url = _clean_base_url(principal, base_url)
    if lic.status != "active":
        raise Conflict(f"License {lic.number} is {lic.status}; only an active license can be connected to METRC.")
    conn = _connection(session, lic.id, lock=True)
    now = utcnow()
    if conn is None:
        conn = IntegrationConnection(entity_id=lic.entity_id, license_id=lic.id, provider=METRC, created_at=now)
    conn.credentials_encrypted = encrypt_credentials(lic.id, METRC, {"user_key": key, "state": lic.state})
    conn.base_url, conn.enabled, conn.status, conn.last_error, conn.updated_at = url, True, QUEUED, None, now
    session.add(conn)
    session.flush()
    return _view(session, lic, conn)


def sync_now(session: Session, principal: Principal, license_id: int) -> ConnectionView:
    """Queue a sync: the worker's `retry_syncs` pass (every 15 s) runs connections in status "retry"
    without waiting for the five-minute pass or a failure backoff."""
    lic = _license_for(session, principal, license_id)
    conn = _connection(session, lic.id, lock=True)
    if conn is None or not conn.enabled or not conn.credentials_encrypted:
        raise Conflict(f"License {lic.number} is not connected to METRC; connect it first.")
    last, running = _last_sync(session, conn.id)
    if running:
        raise Conflict(f"A sync of license {lic.number} is already running.")
    conn.status, conn.updated_at = QUEUED, utcnow()
    session.add(conn)
    session.flush()
    return _view(session, lic, conn)


def disconnect(session: Session, principal: Principal, license_id: int) -> ConnectionView:
    """Stop syncing the license and wipe its stored key (the history of runs stays)."""
    lic = _license_for(session, principal, license_id)
    conn = _connection(session, lic.id, lock=True)
    if conn is None or (not conn.enabled and not conn.credentials_encrypted):
        raise Conflict(f"License {lic.number} is not connected to METRC.")
    conn.enabled, conn.credentials_encrypted, conn.status = False, "", DISCONNECTED
    conn.last_error, conn.updated_at = None, utcnow()
    session.add(conn)
    session.flush()
    return _view(session, lic, conn)


def entity_has_licenses(session: Session, principal: Principal) -> bool:
    """Whether the principal's business holds any license (the page shows METRC only then)."""
    if principal.entity_id is None:
        return False
    count = session.exec(select(func.count()).select_from(License).where(License.entity_id == principal.entity_id))
    return bool(count.one())
