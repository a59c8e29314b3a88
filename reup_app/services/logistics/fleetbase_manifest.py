"""The METRC manifest number reaches the Fleetbase order, also when METRC issues it after the order
was created.

`enqueue_manifest_updates` joins every transaction that emits events (registered with
`events.core.register_precommit`; `reup_app/services/__init__.py` imports this module). When a
"manifest.status_changed" event carries a manifest number and the order's delivery goes through
Fleetbase (its create intent exists), it enqueues one outbox row "fleetbase.update_order_meta" in
that same transaction, referenced `fleetbase-manifest:<order number>`: METRC numbers never change,
so one intent per order, however often the manifest changes later. The job
(`jobs/fleetbase_updates.py`) sends it after commit: PUT /orders/{id} with the order's meta plus the
manifest number, and the manifest's driver and vehicle when Fleetbase holds others.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session, col

from reup_app.events.core import DomainEvent, register_precommit
from reup_app.events.kinds import MANIFEST_STATUS_CHANGED
from reup_app.models import Delivery, Order, OutboxMessage
from reup_app.models.enums import Provider
from reup_app.services.integrations.outbox import enqueue
from reup_app.services.logistics.fleetbase_plan import internal_id

UPDATE_META = "fleetbase.update_order_meta"


def reference(order_number: str) -> str:
    return f"fleetbase-manifest:{order_number}"


def _enqueue_one(session: Session, order_number: str, manifest_number: str) -> None:
    order_id = session.execute(select(col(Order.id)).where(col(Order.number) == order_number)).scalar()
    if order_id is None:
        return
    delivery = (
        session.execute(
            select(Delivery).where(
                col(Delivery.order_id) == order_id, col(Delivery.provider) == str(Provider.FLEETBASE)
            )
        )
        .scalars()
        .first()
    )
    planned = session.execute(
        select(col(OutboxMessage.id)).where(col(OutboxMessage.reference) == internal_id(order_number))
    ).scalar()
    if delivery is None or planned is None:  # not shipped through Fleetbase: nothing to tell it
        return
    enqueue(
        session,
        UPDATE_META,
        target_table="deliveries",
        target_id=delivery.id,
        payload={"delivery_id": delivery.id, "order_number": order_number, "manifest_number": manifest_number},
        reference=reference(order_number),
    )


def enqueue_manifest_updates(session: Session, events: list[DomainEvent]) -> None:
    """Pre-commit: the manifest numbers this transaction recorded, each as a Fleetbase meta update."""
    for ev in events:
        if ev.kind != MANIFEST_STATUS_CHANGED:
            continue
        number, manifest = ev.payload.get("order_number"), ev.payload.get("manifest_number")
        if number and manifest:
            _enqueue_one(session, str(number), str(manifest))


register_precommit(enqueue_manifest_updates)
