"""A retailer's Dutchie store connections, one per retail license: connect with the location key
(encrypted at rest), record what /whoami said (name; a licence that differs is a warning and the
sync refuses the key), store settings, sync now, disconnect.

Owners and admins (`integration.manage` on the license's entity). Views never carry the key."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlmodel import Session, col, select

from reup_app.errors import Conflict, PermissionDenied, ValidationError
from reup_app.models import IntegrationConnection, License, PosProduct, PosStoreSettings
from reup_app.models.enums import Provider
from reup_app.models.types import utcnow
from reup_app.security.crypto import encrypt_credentials
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services.integrations.connections import (
    DISCONNECTED,
    QUEUED,
    URL_RE,
    LastSync,
    _last_sync,
    _license_for,
)
from reup_app.settings import get_settings

DUTCHIE = str(Provider.DUTCHIE)
RETAIL = "adult_use_retail"
KEY_RE = re.compile(r"^[A-Za-z0-9_\-.~+/=]{8,255}$")
PUSH_MODES = ("receive", "purchase_order")


@dataclass(frozen=True)
class StoreView:
    license_id: int
    license_number: str
    premises_name: str
    connection_id: int | None
    connected: bool
    status: str  # not_connected, ok, error, retry, disconnected
    location_name: str
    location_license: str
    license_warning: str  # non-empty when /whoami named another licence
    last_error: str
    last_sync: LastSync | None
    running: bool
    target_cover_days: int
    share_sell_through: bool
    push_mode: str
    products: int
    unmatched: int


def store_settings(session: Session, license_id: int, *, lock: bool = False) -> PosStoreSettings:
    """The store's settings row (created with the defaults on first use)."""
    query = select(PosStoreSettings).where(PosStoreSettings.license_id == license_id)
    row = session.exec(query.with_for_update() if lock else query).first()
    if row is None:
        row = PosStoreSettings(license_id=license_id, updated_at=utcnow())
        session.add(row)
        session.flush()
    return row


def license_warning(lic: License, settings: PosStoreSettings) -> str:
    theirs = (settings.location_license or "").strip().upper()
    if theirs and theirs != lic.number.strip().upper():
        return (
            f"This key belongs to Dutchie location {settings.location_name or '?'} with licence {theirs}, "
            f"not {lic.number}. Syncing is refused until the key of this store is entered."
        )
    return ""


def _connection(session: Session, license_id: int, *, lock: bool = False) -> IntegrationConnection | None:
    query = select(IntegrationConnection).where(
        IntegrationConnection.license_id == license_id, IntegrationConnection.provider == DUTCHIE
    )
    return session.exec(query.with_for_update() if lock else query).first()


def _store_license(session: Session, principal: Principal, license_id: object) -> License:
    lic = _license_for(session, principal, license_id)
    if lic.license_type != RETAIL:
        raise Conflict(f"License {lic.number} is not a retail licence; only stores connect to Dutchie.")
    return lic


def _counts(session: Session, license_id: int) -> tuple[int, int]:
    rows = session.exec(select(PosProduct.match_rule).where(PosProduct.license_id == license_id)).all()
    return len(rows), sum(1 for r in rows if r == "none")


def _view(session: Session, lic: License, conn: IntegrationConnection | None) -> StoreView:
    settings = store_settings(session, lic.id)
    last, running = _last_sync(session, conn.id) if conn else (None, False)
    products, unmatched = _counts(session, lic.id)
    return StoreView(
        lic.id, lic.number, lic.premises_name or "", conn.id if conn else None,
        bool(conn and conn.enabled and conn.credentials_encrypted), conn.status if conn else "not_connected",
        settings.location_name or "", settings.location_license or "", license_warning(lic, settings),
        (conn.last_error or "") if conn else "", last, running, settings.target_cover_days,
        settings.share_sell_through, settings.push_mode, products, unmatched,
    )  # fmt: skip


def list_stores(session: Session, principal: Principal) -> list[StoreView]:
    """The principal's retail licences with their Dutchie connections."""
    if principal.entity_id is None:
        raise PermissionDenied("You are not allowed to do that.")
    authorize(principal, "integration.manage", principal.entity_id)
    licenses = session.exec(
        select(License)
        .where(License.entity_id == principal.entity_id, License.license_type == RETAIL)
        .order_by(col(License.id))
    ).all()
    return [_view(session, lic, _connection(session, lic.id)) for lic in licenses]


def store_view(session: Session, principal: Principal, license_id: int) -> StoreView:
    lic = _store_license(session, principal, license_id)
    return _view(session, lic, _connection(session, lic.id))


def _clean_key(key: object) -> str:
    text = key.strip() if isinstance(key, str) else ""
    if not text:
        raise ValidationError("Enter the store's Dutchie location API key.", field="location_key")
    if not KEY_RE.match(text):
        raise ValidationError("That does not look like a Dutchie location key.", field="location_key")
    return text


def _clean_url(principal: Principal, base_url: object) -> str:
    default = get_settings().dutchie_base_url
    url = base_url.strip().rstrip("/") if isinstance(base_url, str) else ""
    if not url or url == default.rstrip("/"):
        return default
    if not principal.is_platform_admin:
        raise PermissionDenied("Only a platform admin can point a connection at another Dutchie address.")
    if not URL_RE.match(url):
        raise ValidationError("Enter the Dutchie address as http(s)://host[:port][/path].", field="base_url")
    return url


def connect_store(
    session: Session, principal: Principal, license_id: int, location_key: str, base_url: str | None = None
) -> StoreView:
    """Store (or replace) the store's location key, encrypted; the next sync pass runs it."""
    lic = _store_license(session, principal, license_id)
    key, url = _clean_key(location_key), _clean_url(principal, base_url)
    conn = _connection(session, lic.id, lock=True)
    now = utcnow()
    if conn is None:
        conn = IntegrationConnection(entity_id=lic.entity_id, license_id=lic.id, provider=DUTCHIE, created_at=now)
    conn.credentials_encrypted = encrypt_credentials(lic.id, DUTCHIE, {"location_key": key})
    conn.base_url, conn.enabled, conn.status, conn.last_error, conn.updated_at = url, True, QUEUED, None, now
    session.add(conn)
    settings = store_settings(session, lic.id, lock=True)
    settings.location_name, settings.location_license, settings.updated_at = None, None, now  # a new key: test again
    session.add(settings)
    session.flush()
    return _view(session, lic, conn)


def record_identity(session: Session, license_id: int, location_name: str, license_number: str) -> str:
    """What /whoami answered for the store's key (the test and every sync write it); returns the warning."""
    settings = store_settings(session, license_id, lock=True)
    settings.location_name, settings.location_license = location_name[:255], license_number[:64]
    settings.updated_at = utcnow()
    session.add(settings)
    lic = session.get(License, license_id)
    return license_warning(lic, settings) if lic else ""


def update_settings(
    session: Session,
    principal: Principal,
    license_id: int,
    *,
    target_cover_days: object = None,
    share_sell_through: object = None,
    push_mode: object = None,
) -> StoreView:
    lic = _store_license(session, principal, license_id)
    settings = store_settings(session, lic.id, lock=True)
    if target_cover_days is not None:
        if not isinstance(target_cover_days, int) or isinstance(target_cover_days, bool):
            raise ValidationError("Target cover is a whole number of days.", field="target_cover_days")
        if not 1 <= target_cover_days <= 120:
            raise ValidationError("Target cover must be 1 to 120 days.", field="target_cover_days")
        settings.target_cover_days = target_cover_days
    if share_sell_through is not None:
        settings.share_sell_through = bool(share_sell_through)
    if push_mode is not None:
        if push_mode not in PUSH_MODES:
            raise ValidationError("Choose a draft receive at delivery or a purchase order at acceptance.")
        settings.push_mode = str(push_mode)
    settings.updated_at = utcnow()
    session.add(settings)
    session.flush()
    return _view(session, lic, _connection(session, lic.id))


def sync_now(session: Session, principal: Principal, license_id: int) -> StoreView:
    lic = _store_license(session, principal, license_id)
    conn = _connection(session, lic.id, lock=True)
    if conn is None or not conn.enabled or not conn.credentials_encrypted:
        raise Conflict(f"Store {lic.number} is not connected to Dutchie; connect it first.")
    if _last_sync(session, conn.id)[1]:
        raise Conflict(f"A sync of store {lic.number} is already running.")
    conn.status, conn.updated_at = QUEUED, utcnow()
    session.add(conn)
    session.flush()
    return _view(session, lic, conn)


def disconnect_store(session: Session, principal: Principal, license_id: int) -> StoreView:
    lic = _store_license(session, principal, license_id)
    conn = _connection(session, lic.id, lock=True)
    if conn is None or (not conn.enabled and not conn.credentials_encrypted):
        raise Conflict(f"Store {lic.number} is not connected to Dutchie.")
    conn.enabled, conn.credentials_encrypted, conn.status = False, "", DISCONNECTED
    conn.last_error, conn.updated_at = None, utcnow()
    session.add(conn)
    session.flush()
    return _view(session, lic, conn)


def store_connection(session: Session, principal: Principal, license_id: int) -> IntegrationConnection:
    """The store's enabled connection (for the Test button, which calls Dutchie outside the transaction)."""
    lic = _store_license(session, principal, license_id)
    conn = _connection(session, lic.id)
    if conn is None or not conn.enabled or not conn.credentials_encrypted:
        raise Conflict(f"Store {lic.number} is not connected to Dutchie; save its key first.")
    return conn
