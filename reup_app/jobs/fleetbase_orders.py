"""The Fleetbase order of a shipped order, created after the ship commit exactly once.

`create_order` is the outbox handler for "fleetbase.create_order" (enqueued by
services/logistics/fleetbase_plan.plan_fleetbase_delivery). It runs outside any transaction. When an
earlier try may have reached Fleetbase (`msg.maybe_sent`) it first looks the order up by its
internal id (`fleetbase:<order number>`) and adopts it. The pickup and dropoff places are found or
created per licence, and the driver and vehicle the seller named at ship (the same ones the METRC
manifest carries) are found or created and assigned. While Fleetbase cannot be reached the delivery
says "waiting for Fleetbase" and the outbox retries with backoff.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from reup_app.db import get_engine, unit_of_work
from reup_app.integrations.errors import IntegrationError, Rejected
from reup_app.integrations.fleetbase.client import FleetbaseClient
from reup_app.jobs.fleetbase_updates import driver_and_vehicle  # also registers the update/cancel handlers
from reup_app.jobs.outbox_sender import OutboxDelivery, outbox_handler
from reup_app.models import Delivery, IntegrationConnection
from reup_app.models.types import utcnow
from reup_app.security.principal import system_principal
from reup_app.services.integrations.vendor_access import fleetbase_client
from reup_app.services.logistics import fleetbase_events, fleetbase_plan

PRINCIPAL = system_principal("fleetbase.orders")


def _create(client: FleetbaseClient, p: dict[str, Any], manifest: str | None):
    pickup = client.find_or_create_place(**p["pickup"])
    dropoff = client.find_or_create_place(**p["dropoff"])
    driver, vehicle = driver_and_vehicle(client, p)
    return client.create_order(fleetbase_plan.order_body(p, pickup.id, dropoff.id, driver, vehicle, manifest))


def _note(delivery_id: int, message: str, *, failed: bool = False) -> None:
    with unit_of_work(PRINCIPAL) as session:
        fleetbase_plan.record_send_problem(session, delivery_id, message, failed=failed)


@outbox_handler(fleetbase_plan.CREATE_ORDER)
def create_order(msg: OutboxDelivery) -> dict[str, Any]:
    p = msg.payload
    with Session(get_engine(), expire_on_commit=False) as session:
        delivery = session.get(Delivery, p["delivery_id"])
        connection = session.get(IntegrationConnection, p["connection_id"])
        manifest = fleetbase_plan.manifest_number(session, delivery.order_id) if delivery else None
    if delivery is None:
        raise Rejected(f"delivery {p['delivery_id']} no longer exists")
    if delivery.external_id:  # recorded by an earlier try (or a webhook) whose outbox outcome was lost
        return {"order_id": delivery.external_id, "adopted": True}
    if connection is None or not connection.enabled:
        message = (
            f"License {p['pickup']['license_number']} was disconnected from Fleetbase before the delivery was sent."
        )
        _note(delivery.id, message, failed=True)
        raise Rejected(message)
    client = fleetbase_client(connection)
    try:
        found = client.find_order(p["internal_id"]) if msg.maybe_sent else None
        created = found or _create(client, p, manifest)
    except Rejected as err:
        _note(delivery.id, f"Fleetbase refused the delivery: {err.vendor_message or err}", failed=True)
        raise
    except IntegrationError as err:
        _note(delivery.id, fleetbase_plan.waiting_message(str(err)))
        raise
    with unit_of_work(PRINCIPAL) as session:
        row = session.get(Delivery, delivery.id)
        assert row is not None
        fleetbase_events.apply_snapshot(session, row, created, created.updated_at or utcnow())
        row.updated_at = utcnow()
        session.add(row)
        fleetbase_events.emit_delivery_updated(session, row)
    return {"order_id": created.id, "adopted": found is not None}
