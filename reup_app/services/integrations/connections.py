"""A business's METRC connections, one per license: list them with their status and last sync,
connect a license (its user API key, encrypted at rest), ask for a sync now, disconnect.

Owners and admins of the license's entity only (`integration.manage`, checked on the license row);
platform admins may also choose another base URL. Credentials never leave this module except
encrypted: views carry only whether a key is stored. Testing a connection talks to METRC and lives
in `connection_check` (outside any transaction).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from reup_app.errors import Conflict, NotFound, PermissionDenied
from reup_app.models import IntegrationConnection, License
from reup_app.models.enums import Provider
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services.integrations import connection_steps as steps
from reup_app.services.integrations.connection_steps import (
    LastSync,
    Vendor,
    clean_base_url,
    clean_key,
    find_connection,
    last_sync,
    queue_sync,
    save_credentials,
    wipe_credentials,
)
from reup_app.settings import get_settings

METRC = str(Provider.METRC)
OK, ERROR, QUEUED, DISCONNECTED = steps.OK, steps.ERROR, steps.QUEUED, steps.DISCONNECTED  # for the page and the check


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


METRC_VENDOR = Vendor(METRC, "METRC", "License")


def _entity_licenses(session: Session, entity_id: int) -> list[License]:
    return list(session.exec(select(License).where(License.entity_id == entity_id).order_by(col(License.id))).all())


def _connection(session: Session, license_id: int, *, lock: bool = False) -> IntegrationConnection | None:
    return find_connection(session, license_id, METRC, lock=lock)


def _license_for(session: Session, principal: Principal, license_id: object) -> License:
    """The license row, after checking the principal manages its entity's integrations."""
    if not isinstance(license_id, int) or isinstance(license_id, bool) or license_id <= 0:
        raise NotFound("That license does not exist.")
    lic = session.get(License, license_id)
    if lic is None:
        raise NotFound("That license does not exist.")
    authorize(principal, "integration.manage", lic.entity_id)
    return lic


def _view(session: Session, lic: License, conn: IntegrationConnection | None) -> ConnectionView:
    last, running = last_sync(session, conn.id) if conn is not None else (None, False)
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


def connect_license(
    session: Session, principal: Principal, license_id: int, user_key: str, base_url: str | None = None
) -> ConnectionView:
    """Store (or replace) the license's METRC user key, encrypted, and enable its connection. The
    license's state is the license row's; the vendor key comes from settings."""
    lic = _license_for(session, principal, license_id)
    key = clean_key(
        user_key,
        "user_key",
        "Enter the license's METRC user API key.",
        "That does not look like a METRC user API key (8 to 255 letters, digits or - _ . ~ + / =).",
    )
    url = clean_base_url(principal, base_url, get_settings().metrc_base_url, METRC_VENDOR)
    if lic.status != "active":
        raise Conflict(f"License {lic.number} is {lic.status}; only an active license can be connected to METRC.")
    conn = save_credentials(session, lic, METRC_VENDOR, {"user_key": key, "state": lic.state}, url)
    session.flush()
    return _view(session, lic, conn)


def sync_now(session: Session, principal: Principal, license_id: int) -> ConnectionView:
    """Queue a sync of the license (see `queue_sync`)."""
    lic = _license_for(session, principal, license_id)
    return _view(session, lic, queue_sync(session, lic, METRC_VENDOR))


def disconnect(session: Session, principal: Principal, license_id: int) -> ConnectionView:
    """Stop syncing the license and wipe its stored key (the history of runs stays)."""
    lic = _license_for(session, principal, license_id)
    return _view(session, lic, wipe_credentials(session, lic, METRC_VENDOR))


def entity_has_licenses(session: Session, principal: Principal) -> bool:
    """Whether the principal's business holds any license (the page shows METRC only then)."""
    if principal.entity_id is None:
        return False
    count = session.exec(select(func.count()).select_from(License).where(License.entity_id == principal.entity_id))
    return bool(count.one())
