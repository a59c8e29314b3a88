"""The seam between shipping an order and the outside world (METRC manifests, Fleetbase deliveries).

The order state machine calls the registered `ShippingHooks` inside the shipping transaction:
`order_shipped` when an order moves fulfilled -> shipped, `order_delivered` when it moves shipped
-> delivered. Hooks run in the caller's unit of work, so they must only write rows (and perhaps
enqueue work); they must not call remote APIs, which could neither be rolled back nor retried
safely. The default implementation records a pending ComplianceManifest (METRC transfer) and a
pending Delivery (Fleetbase order) per shipment; the integration jobs pick pending rows up, talk
to the vendor and fill in transfer ids, manifest numbers, drivers and ETAs.

To plug in a different behaviour (tests, or a richer integration):

    from reup_app.services.ordering import shipping
    previous = shipping.set_shipping_hooks(MyHooks())
"""

from __future__ import annotations

import threading
from typing import Protocol, runtime_checkable

from sqlalchemy import select
from sqlmodel import Session, col

from reup_app.models import ComplianceManifest, Delivery, Order
from reup_app.models.enums import DeliveryStatus, ManifestStatus, Provider
from reup_app.models.types import utcnow
from reup_app.services.compliance.metrc_transfers import plan_metrc_transfer
from reup_app.services.compliance.transport import ShipmentDetails
from reup_app.services.logistics.fleetbase_plan import plan_fleetbase_delivery


@runtime_checkable
class ShippingHooks(Protocol):
    def order_shipped(self, session: Session, order: Order, details: ShipmentDetails) -> None:
        """The order has just shipped (inventory already consumed, invoice created)."""

    def order_delivered(self, session: Session, order: Order) -> None:
        """The order has just been marked delivered."""


class PendingRecordsHooks:
    """Default: record a pending METRC manifest and a pending Fleetbase delivery for the order."""

    def order_shipped(self, session: Session, order: Order, details: ShipmentDetails) -> None:
        now = utcnow()
        has_manifest = select(col(ComplianceManifest.id)).where(col(ComplianceManifest.order_id) == order.id)
        if session.execute(has_manifest).first() is None:
            manifest = ComplianceManifest(
                order_id=order.id,
                license_id=order.seller_license_id,
                provider=str(Provider.METRC),
                status=str(ManifestStatus.PENDING),
                created_at=now,
                updated_at=now,
            )
            session.add(manifest)
            session.flush()
            plan_metrc_transfer(session, order, manifest, details)
        if session.execute(select(col(Delivery.id)).where(col(Delivery.order_id) == order.id)).first() is None:
            delivery = Delivery(
                order_id=order.id,
                provider=str(Provider.FLEETBASE),
                status=str(DeliveryStatus.PENDING),
                driver_name=details.driver_name,
                driver_phone=details.driver_phone,
                vehicle=details.vehicle_text,
                eta=details.eta,
                created_at=now,
                updated_at=now,
            )
            session.add(delivery)
            session.flush()
            plan_fleetbase_delivery(session, order, delivery, details)

    def order_delivered(self, session: Session, order: Order) -> None:
        now = utcnow()
        for delivery in session.execute(select(Delivery).where(col(Delivery.order_id) == order.id)).scalars():
            if delivery.status not in (DeliveryStatus.DELIVERED, DeliveryStatus.CANCELLED):
                delivery.status = str(DeliveryStatus.DELIVERED)
                delivery.delivered_at = order.delivered_at or now
                delivery.updated_at = now
                session.add(delivery)


_lock = threading.Lock()
_hooks: ShippingHooks = PendingRecordsHooks()


def get_shipping_hooks() -> ShippingHooks:
    return _hooks


def set_shipping_hooks(hooks: ShippingHooks | None) -> ShippingHooks:
    """Install `hooks` (None restores the default); returns the previous hooks."""
    global _hooks
    with _lock:
        previous = _hooks
        _hooks = hooks if hooks is not None else PendingRecordsHooks()
        return previous
