"""The steps every vendor connection shares (METRC licences in services/integrations/connections.py,
Dutchie stores in services/pos/connections.py), given the provider: find the licence's connection,
clean a submitted key and base URL, store the key encrypted (AAD licence + provider), queue a sync,
wipe the key; and a connection's last sync run. Authorization stays with the callers (they load and
authorize the licence row first)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from reup_app.errors import Conflict, PermissionDenied, ValidationError
from reup_app.models import IntegrationConnection, License
from reup_app.models.enums import SyncStatus
from reup_app.models.integrations import SyncRun
from reup_app.models.types import utcnow
from reup_app.security.crypto import encrypt_credentials
from reup_app.security.principal import Principal

# Connection statuses (integration_connections.status): the sync runtime writes ok / error and reads retry.
OK, ERROR, QUEUED, DISCONNECTED = "ok", "error", "retry", "disconnected"
KEY_RE = re.compile(r"^[A-Za-z0-9_\-.~+/=]{8,255}$")
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
class Vendor:
    """What the shared connection steps need to know of a provider (METRC here, Dutchie in services/pos)."""

    provider: str  # integration_connections.provider
    name: str  # in messages: "METRC"
    noun: str  # what is connected, in messages: "License", "Store"


def find_connection(
    session: Session, license_id: int, provider: str, *, lock: bool = False
) -> IntegrationConnection | None:
    query = select(IntegrationConnection).where(
        IntegrationConnection.license_id == license_id, IntegrationConnection.provider == provider
    )
    return session.exec(query.with_for_update() if lock else query).first()


def last_sync(session: Session, connection_id: int) -> tuple[LastSync | None, bool]:
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


def clean_key(value: object, field: str, missing: str, malformed: str) -> str:
    """A vendor key from a form: stripped, present and of the shape every vendor's keys have."""
    key = value.strip() if isinstance(value, str) else ""
    if not key:
        raise ValidationError(missing, field=field)
    if not KEY_RE.match(key):
        raise ValidationError(malformed, field=field)
    return key


def clean_base_url(principal: Principal, base_url: object, default: str, vendor: Vendor) -> str:
    """The default vendor address, or (platform admins only) another well-formed one."""
    url = base_url.strip().rstrip("/") if isinstance(base_url, str) else ""
    if not url or url == default.rstrip("/"):
        return default
    if not principal.is_platform_admin:
        raise PermissionDenied(f"Only a platform admin can point a connection at another {vendor.name} address.")
    if not URL_RE.match(url):
        raise ValidationError(f"Enter the {vendor.name} address as http(s)://host[:port][/path].", field="base_url")
    return url


def save_credentials(
    session: Session, lic: License, vendor: Vendor, credentials: dict[str, str], url: str
) -> IntegrationConnection:
    """Lock (or create) the licence's connection, store the credentials encrypted (AAD licence + provider),
    enable it and queue its first sync. The caller flushes."""
    conn = find_connection(session, lic.id, vendor.provider, lock=True)
    now = utcnow()
    if conn is None:
        conn = IntegrationConnection(
            entity_id=lic.entity_id, license_id=lic.id, provider=vendor.provider, created_at=now
        )
    conn.credentials_encrypted = encrypt_credentials(lic.id, vendor.provider, credentials)
    conn.base_url, conn.enabled, conn.status, conn.last_error, conn.updated_at = url, True, QUEUED, None, now
    session.add(conn)
    return conn


def queue_sync(session: Session, lic: License, vendor: Vendor) -> IntegrationConnection:
    """Mark the licence's connection "retry": the worker's `retry_syncs` pass (every 15 s) runs it without
    waiting for the five-minute pass or a failure backoff."""
    conn = find_connection(session, lic.id, vendor.provider, lock=True)
    if conn is None or not conn.enabled or not conn.credentials_encrypted:
        raise Conflict(f"{vendor.noun} {lic.number} is not connected to {vendor.name}; connect it first.")
    if last_sync(session, conn.id)[1]:
        raise Conflict(f"A sync of {vendor.noun.lower()} {lic.number} is already running.")
    conn.status, conn.updated_at = QUEUED, utcnow()
    session.add(conn)
    session.flush()
    return conn


def wipe_credentials(session: Session, lic: License, vendor: Vendor) -> IntegrationConnection:
    """Stop syncing the licence and wipe its stored key (the history of runs stays)."""
    conn = find_connection(session, lic.id, vendor.provider, lock=True)
    if conn is None or (not conn.enabled and not conn.credentials_encrypted):
        raise Conflict(f"{vendor.noun} {lic.number} is not connected to {vendor.name}.")
    conn.enabled, conn.credentials_encrypted, conn.status = False, "", DISCONNECTED
    conn.last_error, conn.updated_at = None, utcnow()
    session.add(conn)
    session.flush()
    return conn
