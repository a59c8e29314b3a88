"""The Fleetbase order of a shipped order: planned in the ship transaction, created by the worker.

`plan_fleetbase_delivery` runs inside the ship transaction (the shipping hook). When the seller's
shipping licence has an enabled Fleetbase connection it enqueues one outbox row
"fleetbase.create_order" whose reference is `fleetbase:<order number>` (also the Fleetbase order's
`internal_id`, the key a maybe-sent create is reconciled by); the delivery then shows "waiting for
Fleetbase" until the order exists there. Without a connection the delivery says so and the order
still ships. The driver and vehicle come from the same `ShipmentDetails` as the METRC manifest.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from reup_app.integrations.fleetbase import records as fb
from reup_app.models import ComplianceManifest, Delivery, Entity, License, Order, OrderLine, OrderLineAllocation
from reup_app.models.enums import DeliveryStatus, Provider
from reup_app.models.types import utcnow
from reup_app.services.common import get_row
from reup_app.services.compliance.transport import ShipmentDetails
from reup_app.services.integrations.outbox import enqueue
from reup_app.services.integrations.vendor_access import connection_for_license

CREATE_ORDER = "fleetbase.create_order"
WAITING = "Waiting for Fleetbase: the delivery order is being created."


def internal_id(order_number: str) -> str:
    """The Fleetbase order's internal id and the outbox reference (unique per ReUp order)."""
    return f"fleetbase:{order_number}"


def not_connected_message(license_number: str) -> str:
    return (
        f"Shipping license {license_number} is not connected to Fleetbase, so ReUp is not tracking this delivery. "
        "Connect it under Settings > Integrations to get live delivery updates."
    )


def _place(session: Session, license_id: int) -> dict[str, Any]:
    lic = get_row(session, License, license_id)
    entity = get_row(session, Entity, lic.entity_id)
    return {
        "name": lic.premises_name or entity.name,
        "street1": lic.premises_address or lic.premises_name or entity.name,
        "city": lic.premises_city,
        "postal_code": lic.premises_postal_code,
        "province": lic.state,
        "license_number": lic.number,
    }


def _entities(session: Session, order_id: int) -> list[dict[str, Any]]:
    """One entity per METRC package on board (label, item, quantity)."""
    rows = session.execute(
        select(col(OrderLineAllocation.package_label), col(OrderLineAllocation.quantity), col(OrderLine.product_name))
        .join(OrderLine, col(OrderLine.id) == col(OrderLineAllocation.order_line_id))
        .where(col(OrderLine.order_id) == order_id)
        .order_by(col(OrderLine.id), col(OrderLineAllocation.id))
    ).all()
    return [
        {"name": name, "internal_id": label, "type": "package", "meta": {"metrc_label": label, "quantity": str(q)}}
        for label, q, name in rows
    ]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def plan_fleetbase_delivery(session: Session, order: Order, delivery: Delivery, details: ShipmentDetails) -> None:
    """Enqueue the Fleetbase order (connected licence) or note that it is not connected; same transaction."""
    shipper = get_row(session, License, order.seller_license_id)
    connection = connection_for_license(session, shipper.id, str(Provider.FLEETBASE))
    delivery.scheduled_at = details.etd or order.requested_delivery_start or order.shipped_at or utcnow()
    if details.eta and delivery.eta is None:
        delivery.eta = details.eta
    if connection is None:
        delivery.last_error = not_connected_message(shipper.number)
        session.add(delivery)
        return
    delivery.last_error = WAITING
    session.add(delivery)
    payload: dict[str, Any] = {
        "delivery_id": delivery.id,
        "connection_id": connection.id,
        "order_number": order.number,
        "internal_id": internal_id(order.number),
        "pickup": _place(session, order.seller_license_id),
        "dropoff": _place(session, order.buyer_license_id),
        "entities": _entities(session, order.id),
        "scheduled_at": _iso(delivery.scheduled_at),
        "eta": _iso(delivery.eta),
        "notes": order.delivery_preferences,
        "driver": {"name": details.driver_name, "phone": details.driver_phone},
        "vehicle": {
            "plate_number": details.vehicle_plate,
            "make": details.vehicle_make,
            "model": details.vehicle_model,
        },
    }
    enqueue(
        session,
        CREATE_ORDER,
        target_table="deliveries",
        target_id=delivery.id,
        payload=payload,
        reference=payload["internal_id"],
    )


def manifest_number(session: Session, order_id: int) -> str | None:
    """The METRC manifest number of the order, if METRC issued one already (it goes into the meta)."""
    return session.execute(
        select(col(ComplianceManifest.manifest_number))
        .where(col(ComplianceManifest.order_id) == order_id)
        .order_by(col(ComplianceManifest.id).desc())
    ).scalar()


def order_body(
    payload: dict[str, Any], pickup: str, dropoff: str, driver: str | None, vehicle: str | None, manifest: str | None
) -> dict[str, Any]:
    """The POST /orders body: pickup (seller premises), dropoff (buyer premises), the packages as
    entities, the scheduled window, and meta naming the ReUp order, METRC manifest and licences."""
    body: dict[str, Any] = {
        "internal_id": payload["internal_id"],
        "payload": {"pickup": pickup, "dropoff": dropoff, "entities": payload["entities"]},
        "scheduled_at": payload.get("scheduled_at"),
        "dispatch": True,
        "pod_required": True,
        "pod_method": "signature",
        "type": "transport",
        "notes": payload.get("notes"),
        "meta": {
            "reup_order_number": payload["order_number"],
            "metrc_manifest_number": manifest,
            "seller_license_number": payload["pickup"]["license_number"],
            "buyer_license_number": payload["dropoff"]["license_number"],
            "delivery_window_end": payload.get("eta"),
        },
    }
    if driver:
        body["driver"] = driver
    if vehicle:
        body["vehicle"] = vehicle
    return body


def route_json(order: fb.Order, previous: str | None = None) -> str | None:
    """The route we draw: pickup and dropoff points (and the driver point / progress already held)."""
    route = json.loads(previous) if previous else {}
    if order.pickup and order.pickup.location:
        route["pickup"] = list(order.pickup.location)
    if order.dropoff and order.dropoff.location:
        route["dropoff"] = list(order.dropoff.location)
    return json.dumps(route) if route else previous


def waiting_message(error: str) -> str:
    return f"Waiting for Fleetbase (retrying): {error}"[:1000]


def record_send_problem(session: Session, delivery_id: int, message: str, *, failed: bool = False) -> None:
    """The create could not be sent yet (retried) or was refused (failed); the delivery says why."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or delivery.external_id:
        return
    delivery.last_error = message[:2000]
    if failed:
        delivery.status = str(DeliveryStatus.FAILED)
    delivery.updated_at = utcnow()
    session.add(delivery)
