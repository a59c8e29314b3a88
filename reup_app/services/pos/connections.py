"""A retailer's Dutchie store connections, one per retail license: connect with the location key
(encrypted at rest), record what /whoami said (name; a licence that differs is a warning and the
sync refuses the key), store settings, sync now, disconnect.

Owners and admins (`integration.manage` on the license's entity). Views never carry the key."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from reup_app.errors import Conflict, PermissionDenied, ValidationError
from reup_app.models import IntegrationConnection, License, PosProduct, PosStoreSettings
from reup_app.models.enums import Provider
from reup_app.models.types import utcnow
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
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
from reup_app.services.integrations.connections import _license_for
from reup_app.settings import get_settings

DUTCHIE = str(Provider.DUTCHIE)
DUTCHIE_VENDOR = Vendor(DUTCHIE, "Dutchie", "Store")
RETAIL = "adult_use_retail"
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
    return find_connection(session, license_id, DUTCHIE, lock=lock)


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
    last, running = last_sync(session, conn.id) if conn else (None, False)
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


def connect_store(
    session: Session, principal: Principal, license_id: int, location_key: str, base_url: str | None = None
) -> StoreView:
    """Store (or replace) the store's location key, encrypted; the next sync pass runs it."""
    lic = _store_license(session, principal, license_id)
    key = clean_key(
        location_key,
        "location_key",
        "Enter the store's Dutchie location API key.",
        "That does not look like a Dutchie location key.",
    )
    url = clean_base_url(principal, base_url, get_settings().dutchie_base_url, DUTCHIE_VENDOR)
    conn = save_credentials(session, lic, DUTCHIE_VENDOR, {"location_key": key}, url)
    settings = store_settings(session, lic.id, lock=True)
    settings.location_name, settings.location_license, settings.updated_at = None, None, conn.updated_at  # test again
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
    return _view(session, lic, queue_sync(session, lic, DUTCHIE_VENDOR))


def disconnect_store(session: Session, principal: Principal, license_id: int) -> StoreView:
    lic = _store_license(session, principal, license_id)
    return _view(session, lic, wipe_credentials(session, lic, DUTCHIE_VENDOR))


def store_connection(session: Session, principal: Principal, license_id: int) -> IntegrationConnection:
    """The store's enabled connection (for the Test button, which calls Dutchie outside the transaction)."""
    lic = _store_license(session, principal, license_id)
    conn = _connection(session, lic.id)
    if conn is None or not conn.enabled or not conn.credentials_encrypted:
        raise Conflict(f"Store {lic.number} is not connected to Dutchie; save its key first.")
    return conn
