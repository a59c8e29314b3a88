"""METRC manifests of shipped orders: what both parties see, and the one writer of their progress.

Shipping records a pending ComplianceManifest (services/ordering/shipping.py). The METRC job then
reports each step through `record_manifest_update` (template created, manifest number issued,
received, failed with the vendor's message, voided), which emits "manifest.status_changed" to the
buyer and the seller so their open order pages refresh live. Reads (`get_order_manifest`) and the
printable manifest are for the order's two parties only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from reup_app.errors import Conflict, NotFound, PermissionDenied, ValidationError
from reup_app.events import emit
from reup_app.events.kinds import MANIFEST_STATUS_CHANGED
from reup_app.models import (
    ComplianceManifest,
    Delivery,
    Entity,
    License,
    Order,
    OrderLine,
    OrderLineAllocation,
    Product,
)
from reup_app.models.enums import ManifestStatus
from reup_app.models.types import utcnow
from reup_app.security.principal import Principal
from reup_app.services.common import authorize_party, clean_text, get_row, parse_datetime, parse_int, q2

MANIFEST_STATUSES = frozenset(str(s) for s in ManifestStatus)
# Once voided a manifest is finished: METRC never revives a voided transfer.
_FINAL = frozenset({str(ManifestStatus.VOIDED)})
# How far along the transfer is; a manifest never moves to a lower rank (a late or replayed poll).
_S = ManifestStatus
RANK = {
    str(_S.PENDING): 0,
    str(_S.NOT_CONNECTED): 0,
    str(_S.FAILED): 0,
    str(_S.SUBMITTED): 1,
    str(_S.ACCEPTED): 2,
    str(_S.RECEIVED): 3,
    str(_S.REJECTED): 3,
    str(_S.VOIDED): 4,
}


@dataclass(frozen=True)
class ReceivedPackage:
    label: str
    state: str  # Accepted / Rejected (METRC's ShipmentPackageState)
    shipped: Decimal | None
    received: Decimal | None


@dataclass(frozen=True)
class Party:
    name: str
    license_number: str
    license_type: str
    address: list[str]


@dataclass(frozen=True)
class ManifestPackage:
    package_label: str
    item: str
    sku: str
    quantity: Decimal
    unit: str
    wholesale_price: Decimal  # per unit

    @property
    def wholesale_value(self) -> Decimal:
        return q2(self.quantity * self.wholesale_price)


@dataclass(frozen=True)
class ManifestView:
    order_number: str
    status: str
    manifest_number: str | None
    last_error: str | None
    submitted_at: datetime | None
    updated_at: datetime
    shipper: Party
    recipient: Party
    departure: datetime | None  # ETD: when the order shipped
    arrival: datetime | None  # ETA from the delivery, if known
    driver_name: str | None
    driver_phone: str | None
    vehicle: str | None
    packages: list[ManifestPackage] = field(default_factory=list)
    received: list[ReceivedPackage] = field(default_factory=list)


@dataclass(frozen=True)
class ManifestUpdate:
    order_number: str
    status: str
    manifest_number: str | None
    changed: bool


def _party(session: Session, license_id: int) -> Party:
    lic = get_row(session, License, license_id)
    entity = get_row(session, Entity, lic.entity_id)
    city = ", ".join(p for p in (lic.premises_city or entity.city, lic.state) if p)
    address = [
        x
        for x in (
            lic.premises_name,
            lic.premises_address or entity.address_line1,
            " ".join(p for p in (city, lic.premises_postal_code or entity.postal_code or "") if p),
        )
        if x
    ]
    return Party(entity.name, lic.number, lic.license_type, address)


def _packages(session: Session, order_id: int) -> list[ManifestPackage]:
    rows = session.execute(
        select(OrderLineAllocation, OrderLine, col(Product.unit_of_measure))
        .join(OrderLine, col(OrderLine.id) == col(OrderLineAllocation.order_line_id))
        .join(Product, col(Product.id) == col(OrderLine.product_id))
        .where(col(OrderLine.order_id) == order_id)
        .order_by(col(OrderLine.id), col(OrderLineAllocation.id))
    ).all()
    return [
        ManifestPackage(a.package_label, ln.product_name, ln.sku, a.quantity, uom, ln.unit_price) for a, ln, uom in rows
    ]


def _load_party_order(session: Session, principal: Principal, order_number: Any) -> Order:
    number = clean_text(order_number, "order_number", max_len=32, required=True, label="an order number")
    order = session.execute(select(Order).where(col(Order.number) == number)).scalars().first()
    owners = [order.buyer_entity_id, order.seller_entity_id] if order else []
    authorize_party(principal, "order.view", owners, f"Order {number} was not found.")
    assert order is not None  # authorize_party raised NotFound for a missing order
    return order


def get_order_manifest(session: Session, principal: Principal, order_number: Any) -> ManifestView | None:
    """The order's METRC manifest (None before it ships), for the buyer or the seller only."""
    order = _load_party_order(session, principal, order_number)
    m = (
        session.execute(select(ComplianceManifest).where(col(ComplianceManifest.order_id) == order.id))
        .scalars()
        .first()
    )
    if m is None:
        return None
    delivery = session.execute(select(Delivery).where(col(Delivery.order_id) == order.id)).scalars().first()
    return ManifestView(
        order_number=order.number,
        status=m.status,
        manifest_number=m.manifest_number,
        last_error=m.last_error,
        submitted_at=m.submitted_at,
        updated_at=m.updated_at,
        shipper=_party(session, order.seller_license_id),
        recipient=_party(session, order.buyer_license_id),
        departure=order.shipped_at,
        arrival=delivery.eta if delivery else None,
        driver_name=delivery.driver_name if delivery else None,
        driver_phone=delivery.driver_phone if delivery else None,
        vehicle=delivery.vehicle if delivery else None,
        packages=_packages(session, order.id),
        received=_received(m.received_packages),
    )


def _received(raw: str | None) -> list[ReceivedPackage]:
    rows = json.loads(raw) if raw else []
    return [
        ReceivedPackage(
            r["label"],
            r["state"],
            Decimal(r["shipped"]) if r.get("shipped") is not None else None,
            Decimal(r["received"]) if r.get("received") is not None else None,
        )
        for r in rows
    ]


def _received_json(packages: Any) -> str | None:
    if packages is None:
        return None
    if not isinstance(packages, list) or not all(isinstance(p, ReceivedPackage) for p in packages):
        raise ValidationError("Received packages must be a list of ReceivedPackage.", "received_packages")
    rows = [
        {
            "label": p.label,
            "state": p.state,
            "shipped": None if p.shipped is None else str(p.shipped),
            "received": None if p.received is None else str(p.received),
        }
        for p in packages
    ]
    return json.dumps(rows, sort_keys=True)


def _changes(
    m: ComplianceManifest,
    status: Any,
    manifest_number: Any,
    transfer_id: Any,
    last_error: Any,
    submitted_at: Any,
    template_id: Any = None,
    received: Any = None,
):
    """The validated new values (column -> value) for the fields that differ."""
    st = clean_text(status, "status", max_len=16, required=True, label="a manifest status")
    if st not in MANIFEST_STATUSES:
        raise ValidationError(
            f"Unknown manifest status {st!r}; use one of {', '.join(sorted(MANIFEST_STATUSES))}.", "status"
        )
    if m.status in _FINAL and st != m.status:
        raise Conflict(f"The manifest for this order was {m.status}; it can't become {st}.")
    if RANK.get(st, 0) < RANK.get(m.status, 0):
        raise Conflict(f"The manifest for this order is already {m.status}; it can't go back to {st}.")
    number = clean_text(manifest_number, "manifest_number", max_len=64) or None
    if number and m.manifest_number and number != m.manifest_number:
        raise Conflict(f"The manifest already has number {m.manifest_number}; METRC numbers never change.")
    transfer = clean_text(transfer_id, "external_transfer_id", max_len=64) or None
    error = clean_text(last_error[:2000] if isinstance(last_error, str) else last_error, "last_error", max_len=2000)
    if st == ManifestStatus.FAILED and not error:
        raise ValidationError("A failed manifest needs the error that made it fail.", "last_error")
    template = clean_text(template_id, "template_id", max_len=64) or None
    wanted = {
        "template_id": template or m.template_id,
        "received_packages": _received_json(received) or m.received_packages,
        "status": st,
        "manifest_number": number or m.manifest_number,
        "external_transfer_id": transfer or m.external_transfer_id,
        "last_error": error,
        "submitted_at": parse_datetime(submitted_at, "submitted_at") if submitted_at is not None else m.submitted_at,
    }
    return {k: v for k, v in wanted.items() if getattr(m, k) != v}


def record_manifest_update(
    session: Session,
    principal: Principal,
    manifest_id: Any,
    *,
    status: Any,
    manifest_number: Any = None,
    external_transfer_id: Any = None,
    last_error: Any = None,
    submitted_at: Any = None,
    template_id: Any = None,
    received_packages: list[ReceivedPackage] | None = None,
) -> ManifestUpdate:
    """Record the METRC job's latest word on a manifest (system or platform admin only).

    `status` is required; `manifest_number`/`external_transfer_id`/`submitted_at` are kept when
    omitted; `last_error` is the error of this attempt (None clears it). When anything changed,
    both parties get "manifest.status_changed" after commit. Replaying the same update is a no-op.
    """
    if not (principal.is_system or (principal.is_authenticated and principal.is_platform_admin)):
        raise PermissionDenied("Only the METRC integration or a platform admin can update a manifest.")
    mid = parse_int(manifest_id, "manifest_id")
    m = (
        session.execute(select(ComplianceManifest).where(col(ComplianceManifest.id) == mid).with_for_update())
        .scalars()
        .first()
    )
    if m is None:
        raise NotFound(f"Manifest {mid} was not found.")
    changes = _changes(
        m, status, manifest_number, external_transfer_id, last_error, submitted_at, template_id, received_packages
    )
    order = get_row(session, Order, m.order_id)
    if not changes:
        return ManifestUpdate(order.number, m.status, m.manifest_number, changed=False)
    previous = m.status
    for k, v in changes.items():
        setattr(m, k, v)
    m.updated_at = utcnow()
    session.add(m)
    session.flush()
    emit(
        session,
        MANIFEST_STATUS_CHANGED,
        entity_ids=[order.buyer_entity_id, order.seller_entity_id],
        payload={
            "order_number": order.number,
            "buyer_entity_id": order.buyer_entity_id,
            "seller_entity_id": order.seller_entity_id,
            "manifest_status": m.status,
            "from_status": previous,
            "manifest_number": m.manifest_number,
        },
    )
    return ManifestUpdate(order.number, m.status, m.manifest_number, changed=True)
