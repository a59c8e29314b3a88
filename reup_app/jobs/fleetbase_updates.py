"""Outbox handlers that change an existing Fleetbase order, after the commit that decided it.

- "fleetbase.update_order_meta" (services/logistics/fleetbase_manifest.py): the METRC manifest
  number issued after the Fleetbase order was created. Reads the order, and PUTs its meta with the
  number added (Fleetbase's update replaces meta as a whole, so the rest is sent back unchanged),
  plus the manifest's driver and vehicle when Fleetbase holds others and the driver has not started:
  the manifest and the Fleetbase order name the same people and van. A PUT of the same values is
  harmless, so a retry after a lost answer needs no reconciling. While the Fleetbase order does not
  exist yet the row is retried (the create, if still to come, reads the number itself).
- "fleetbase.cancel_order" (services/logistics/delivery_cancel.py): the seller's cancel. A retry
  that may have been sent reads the order first, and a refusal is checked against the order: one
  already cancelled (a retried DELETE whose first answer was lost) is adopted.
Either answer is applied to the delivery like a webhook's snapshot (forward only).
"""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, col, select

from reup_app.db import get_engine, unit_of_work
from reup_app.integrations.errors import Rejected, Unavailable
from reup_app.integrations.fleetbase import records as fb
from reup_app.integrations.fleetbase.client import FleetbaseClient
from reup_app.jobs.outbox_sender import OutboxDelivery, outbox_handler
from reup_app.models import Delivery, IntegrationConnection, Order, OutboxMessage
from reup_app.models.enums import OutboxStatus, Provider
from reup_app.models.types import utcnow
from reup_app.security.principal import system_principal
from reup_app.services.integrations.vendor_access import connection_for_license, fleetbase_client
from reup_app.services.logistics import delivery_cancel, fleetbase_events, fleetbase_manifest, fleetbase_plan

PRINCIPAL = system_principal("fleetbase.updates")
BEFORE_START = frozenset({"created", "dispatched"})


def driver_and_vehicle(client: FleetbaseClient, p: dict[str, Any]) -> tuple[str | None, str | None]:
    """The ids of the driver and vehicle named at ship (the METRC manifest's), found or created."""
    driver_id = vehicle_id = None
    d, v = p.get("driver") or {}, p.get("vehicle") or {}
    if d.get("name"):
        found = [x for x in client.drivers(d["name"]) if x.name == d["name"]]
        driver_id = found[0].id if found else client.create_driver(name=d["name"], phone=d.get("phone")).id
    if v.get("plate_number"):
        found_v = [x for x in client.vehicles(v["plate_number"]) if x.plate_number == v["plate_number"]]
        vehicle_id = found_v[0].id if found_v else client.create_vehicle(**v).id
    return driver_id, vehicle_id


def _load(delivery_id: int) -> tuple[Delivery, IntegrationConnection | None, OutboxMessage | None]:
    with Session(get_engine(), expire_on_commit=False) as session:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None:
            raise Rejected(f"delivery {delivery_id} no longer exists")
        order = session.get(Order, delivery.order_id)
        connection = (
            connection_for_license(session, order.seller_license_id, str(Provider.FLEETBASE)) if order else None
        )
        create = (
            session.exec(
                select(OutboxMessage).where(col(OutboxMessage.reference) == fleetbase_plan.internal_id(order.number))
            ).first()
            if order
            else None
        )
        return delivery, connection, create


def _client(connection: IntegrationConnection | None, order_number: str) -> FleetbaseClient:
    if connection is None:
        raise Rejected(f"The seller's license for order {order_number} is no longer connected to Fleetbase.")
    return fleetbase_client(connection)


def _apply(delivery_id: int, order: fb.Order) -> None:
    with unit_of_work(PRINCIPAL) as session:
        row = session.get(Delivery, delivery_id)
        if row is None:
            return
        before = fleetbase_events.shown(row)
        moved = fleetbase_events.apply_snapshot(session, row, order, order.updated_at or utcnow())
        if moved or fleetbase_events.shown(row) != before:  # also a driver put back by the manifest's PUT
            row.updated_at = utcnow()
            session.add(row)
            fleetbase_events.emit_delivery_updated(session, row)


def _manifest_people(client: FleetbaseClient, create: OutboxMessage | None, current: fb.Order) -> dict[str, str]:
    """The manifest's driver and vehicle ids, for those Fleetbase holds differently (before the start)."""
    if create is None or current.status not in BEFORE_START:
        return {}
    planned = json.loads(create.payload)
    want_driver = (planned.get("driver") or {}).get("name")
    want_plate = (planned.get("vehicle") or {}).get("plate_number")
    driver_ok = not want_driver or (current.driver is not None and current.driver.name == want_driver)
    vehicle_ok = not want_plate or (current.vehicle is not None and current.vehicle.plate_number == want_plate)
    if driver_ok and vehicle_ok:
        return {}
    driver, vehicle = driver_and_vehicle(client, planned)
    out = {}
    if driver and not driver_ok:
        out["driver"] = driver
    if vehicle and not vehicle_ok:
        out["vehicle"] = vehicle
    return out


@outbox_handler(fleetbase_manifest.UPDATE_META)
def update_order_meta(msg: OutboxDelivery) -> dict[str, Any]:
    p = msg.payload
    delivery, connection, create = _load(p["delivery_id"])
    if not delivery.external_id:
        if create is None or create.status == OutboxStatus.DEAD:
            return {"skipped": "the Fleetbase order was never created"}
        raise Unavailable("The Fleetbase order is not created yet; the manifest number follows it.")
    client = _client(connection, p["order_number"])
    current = client.get_order(delivery.external_id)
    fields: dict[str, Any] = _manifest_people(client, create, current)
    if current.meta.get("metrc_manifest_number") != p["manifest_number"]:
        fields["meta"] = {**current.meta, "metrc_manifest_number": p["manifest_number"]}
    if not fields:
        return {"order_id": current.id, "unchanged": True}
    updated = client.update_order(current.id, fields)
    _apply(delivery.id, updated)
    return {"order_id": updated.id, "updated": sorted(fields)}


@outbox_handler(delivery_cancel.CANCEL_ORDER)
def cancel_order(msg: OutboxDelivery) -> dict[str, Any]:
    p = msg.payload
    delivery, connection, _create = _load(p["delivery_id"])
    client = _client(connection, p["order_number"])
    current = client.get_order(p["order_id"]) if msg.maybe_sent else None
    if current is None or current.status != "canceled":
        try:
            current = client.cancel_order(p["order_id"])
        except Rejected as err:
            current = client.get_order(p["order_id"])  # a retried DELETE finds it "already canceled"
            if current.status != "canceled":  # e.g. the driver started meanwhile: say so on the delivery
                _refused(delivery.id, f"Fleetbase did not cancel the delivery: {err.vendor_message or err}")
                raise
    _apply(delivery.id, current)
    return {"order_id": current.id, "status": current.status}


def _refused(delivery_id: int, message: str) -> None:
    with unit_of_work(PRINCIPAL) as session:
        row = session.get(Delivery, delivery_id)
        if row is None:
            return
        row.last_error, row.cancel_requested_at, row.updated_at = message[:2000], None, utcnow()
        session.add(row)
        fleetbase_events.emit_delivery_updated(session, row)
