"""Shared setup for the Fleetbase delivery tests: the app's API served on a real socket (the sandbox
sends its signed webhooks there), a seller connected to the sandbox, a fulfilled order, and waits."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select

import reup_app.jobs.fleetbase_orders  # noqa: F401  registers the outbox handler
from reup_app.models import ComplianceManifest, Delivery, IntegrationConnection, Order, OrderEvent, WebhookReceipt
from reup_app.models.types import utcnow
from reup_app.security.crypto import encrypt_credentials
from reup_app.security.principal import system_principal
from reup_app.services.compliance.manifests import record_manifest_update
from reup_app.services.logistics.fleetbase_events import signature_for
from reup_app.services.logistics.fleetbase_plan import internal_id
from reup_app.services.ordering import orders
from reup_app.settings import reset_settings_cache
from tests.integration.metrc_transfer_kit import drain, fence
from tests.integration.orderkit import Party, advance, call, fresh, key, make_buyer, make_seller, place_one, stock
from tests.sandboxes import FleetbaseSandbox

SECRET = "whsec_reup_test_secret"
METRC = system_principal("metrc.transfers")
DRIVER = {
    "driver_name": "Dana Ruiz",
    "driver_license_number": "CA-D1234567",
    "driver_phone": "(510) 555-0142",
    "vehicle_make": "Ford",
    "vehicle_model": "Transit",
    "vehicle_plate": "8ABC123",
}


def fleetbase_env(fleetbase_sandbox: FleetbaseSandbox, app_server, **env):
    mp = pytest.MonkeyPatch()
    mp.setenv("REUP_FLEETBASE_WEBHOOK_SECRET", SECRET)
    mp.setenv("REUP_FLEETBASE_TIMEOUT_SECONDS", "2")
    for k, v in env.items():
        mp.setenv(k, v)
    reset_settings_cache()
    fleetbase_sandbox.register_webhook(app_server.base_url + "/api/webhooks/fleetbase", SECRET)
    yield fleetbase_sandbox
    mp.undo()
    reset_settings_cache()


def make_fleetbase_connection(session, license_row, base_url: str, api_key: str = FleetbaseSandbox.API_KEY):
    now = utcnow()
    conn = IntegrationConnection(
        entity_id=license_row.entity_id,
        license_id=license_row.id,
        provider="fleetbase",
        base_url=base_url,
        credentials_encrypted=encrypt_credentials(license_row.id, "fleetbase", {"api_key": api_key}),
        enabled=True,
        created_at=now,
        updated_at=now,
    )
    session.add(conn)
    session.commit()
    return conn


@dataclass
class Shipment:
    seller: Party
    buyer: Party
    number: str
    label: str

    @property
    def reference(self) -> str:
        return internal_id(self.number)


def fulfilled(session, engine, sb: FleetbaseSandbox, *, connected: bool = True) -> Shipment:
    seller, buyer = make_seller(session), make_buyer(session)
    product, (lot,) = stock(session, seller, qty="10", price="12.50")
    lot.package_label = f"1A40{key()[:20].upper()}"
    session.add(lot)
    session.commit()
    if connected:
        make_fleetbase_connection(session, seller.license, sb.base_url)
    number = place_one(engine, buyer, product, "4")
    advance(engine, seller, number, "accept", "fulfill")
    return Shipment(seller, buyer, number, lot.package_label)


def ship(engine, s: Shipment, **details):
    return call(
        engine, s.seller.owner, orders.transition, s.number, "ship", idempotency_key=key(), **(details or DRIVER)
    )


def create_delivery(engine, s: Shipment) -> list[str]:
    return drain(engine, fence(), s.reference)


def issue_manifest(engine, number: str, manifest_number: str, transfer_id: str) -> None:
    """What the METRC transfer follower records when METRC registers the transfer."""
    with fresh(engine) as db:
        oid = db.execute(select(Order.id).where(Order.number == number)).scalar_one()
        mid = db.execute(select(ComplianceManifest.id).where(ComplianceManifest.order_id == oid)).scalar_one()
    call(engine, METRC, record_manifest_update, mid, status="submitted", template_id=f"t{transfer_id}")
    call(
        engine,
        METRC,
        record_manifest_update,
        mid,
        status="accepted",
        manifest_number=manifest_number,
        external_transfer_id=transfer_id,
    )


def delivery_of(engine, number: str) -> Delivery:
    with fresh(engine) as db:
        oid = db.execute(select(Order.id).where(Order.number == number)).scalar_one()
        return db.execute(select(Delivery).where(Delivery.order_id == oid)).scalar_one()


def order_status(engine, number: str) -> str:
    with fresh(engine) as db:
        return db.execute(select(Order.status).where(Order.number == number)).scalar_one()


def delivered_events(engine, number: str) -> int:
    with fresh(engine) as db:
        oid = db.execute(select(Order.id).where(Order.number == number)).scalar_one()
        return db.execute(
            select(func.count()).where(OrderEvent.order_id == oid, OrderEvent.kind == "delivered")
        ).scalar_one()


def receipts(engine, event_ids) -> list[WebhookReceipt]:
    with fresh(engine) as db:
        return list(
            db.execute(select(WebhookReceipt).where(WebhookReceipt.external_event_id.in_(list(event_ids)))).scalars()
        )


def settle(engine, sb: FleetbaseSandbox, timeout: float = 20.0) -> list[dict]:
    """Wait until the sandbox sent everything and every stored event it sent was processed."""
    sb.flush(timeout)
    deadline = time.monotonic() + timeout
    while True:
        log = sb.webhook_log()
        ids = {row["event_id"] for row in log if row.get("status") == 200}
        pending = [r for r in receipts(engine, ids) if r.status in ("received", "processing")]
        if not pending:
            return log
        if time.monotonic() > deadline:
            raise AssertionError(f"receipts not processed: {[(r.external_event_id, r.status) for r in pending]}")
        time.sleep(0.1)


def wait_for(predicate, timeout: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def signed_post(app_url: str, body: dict | bytes, secret: str | None = SECRET, signature: str | None = None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Fleetbase-Signature"] = signature
    elif secret is not None:
        headers["X-Fleetbase-Signature"] = signature_for(secret, raw)
    return httpx.post(app_url + "/api/webhooks/fleetbase", content=raw, headers=headers, timeout=10)


def fleetbase_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
