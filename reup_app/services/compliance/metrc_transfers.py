"""The METRC outgoing transfer of a shipped order: planned at ship, sent by the worker after commit.

`plan_metrc_transfer` runs inside the ship transaction (the shipping hook): when the seller's
shipping license has an enabled METRC connection it enqueues one outbox row "metrc.create_transfer"
whose reference is the template's unique Name ("ReUp <order number>"); otherwise the manifest is
marked "not_connected" with a message saying the transfer must be reported in METRC by hand. The
worker (`jobs/metrc_transfers.py`) builds the template from the payload with `template_body`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from reup_app.models import ComplianceManifest, License, Order, OrderLine, OrderLineAllocation
from reup_app.models.enums import ManifestStatus, Provider
from reup_app.models.types import utcnow
from reup_app.services.common import get_row
from reup_app.services.compliance.license_calendar import state_zone
from reup_app.services.compliance.transport import ShipmentDetails
from reup_app.services.integrations.outbox import enqueue
from reup_app.services.integrations.vendor_access import connection_for_license

CREATE_TRANSFER = "metrc.create_transfer"
DEFAULT_TRIP = timedelta(hours=4)  # ETA when the seller gave none: ETD + 4 h
METRC_TIME = "%Y-%m-%dT%H:%M:%S.000"  # facility-local, as METRC's examples


def template_name(order_number: str) -> str:
    """The unique Name of the order's outgoing template (the outbox reference, the reconcile key)."""
    return f"ReUp {order_number}"


def not_connected_message(license_number: str) -> str:
    return (
        f"Shipping license {license_number} is not connected to METRC, so ReUp did not report this transfer. "
        "Create the manifest in METRC yourself, or connect the license under Settings > Integrations."
    )


def _packages(session: Session, order_id: int) -> list[dict[str, str]]:
    rows = session.execute(
        select(col(OrderLineAllocation.package_label), col(OrderLineAllocation.quantity), col(OrderLine.unit_price))
        .join(OrderLine, col(OrderLine.id) == col(OrderLineAllocation.order_line_id))
        .where(col(OrderLine.order_id) == order_id)
        .order_by(col(OrderLine.id), col(OrderLineAllocation.id))
    ).all()
    totals: dict[str, list[Decimal]] = {}
    for label, qty, price in rows:  # one package may serve two lines: one entry, summed
        entry = totals.setdefault(label, [Decimal(0), Decimal(0)])
        entry[0] += qty
        entry[1] += qty * price
    return [
        {"label": label, "quantity": str(q), "wholesale_price": str(v.quantize(Decimal("0.01")))}
        for label, (q, v) in totals.items()
    ]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def plan_metrc_transfer(session: Session, order: Order, manifest: ComplianceManifest, details: ShipmentDetails) -> None:
    """Enqueue the transfer (connected license) or mark the manifest not connected; same transaction."""
    shipper = get_row(session, License, order.seller_license_id)
    recipient = get_row(session, License, order.buyer_license_id)
    connection = connection_for_license(session, shipper.id, str(Provider.METRC))
    if connection is None:
        manifest.status = str(ManifestStatus.NOT_CONNECTED)
        manifest.last_error = not_connected_message(shipper.number)
        manifest.updated_at = utcnow()
        session.add(manifest)
        return
    etd = details.etd or order.shipped_at or utcnow()
    payload: dict[str, Any] = {
        "manifest_id": manifest.id,
        "connection_id": connection.id,
        "order_number": order.number,
        "name": template_name(order.number),
        "shipper_license": shipper.number,
        "recipient_license": recipient.number,
        "state": shipper.state,
        "etd": _iso(etd),
        "eta": _iso(details.eta or etd + DEFAULT_TRIP),
        "driver_name": details.driver_name,
        "driver_license_number": details.driver_license_number,
        "driver_phone": details.driver_phone,
        "vehicle_make": details.vehicle_make,
        "vehicle_model": details.vehicle_model,
        "vehicle_plate": details.vehicle_plate,
        "packages": _packages(session, order.id),
    }
    enqueue(
        session,
        CREATE_TRANSFER,
        target_table="compliance_manifests",
        target_id=manifest.id,
        payload=payload,
        reference=payload["name"],
    )


def _local(iso: str, state: str) -> str:
    return datetime.fromisoformat(iso).astimezone(state_zone(state)).strftime(METRC_TIME)


def template_body(payload: dict[str, Any], transfer_type: str) -> dict[str, Any]:
    """The POST /transfers/v2/templates/outgoing object for a planned transfer (domain.md 2.7)."""
    etd, eta = _local(payload["etd"], payload["state"]), _local(payload["eta"], payload["state"])
    driver = {
        "DriverOccupationalLicenseNumber": payload.get("driver_license_number"),
        "DriverName": payload.get("driver_name"),
        "DriverLicenseNumber": payload.get("driver_license_number"),
        "VehicleMake": payload.get("vehicle_make"),
        "VehicleModel": payload.get("vehicle_model"),
        "VehicleLicensePlateNumber": payload.get("vehicle_plate"),
    }
    transporter = {
        "TransporterFacilityLicenseNumber": payload["shipper_license"],
        "PhoneNumberForQuestions": payload.get("driver_phone"),
        **driver,
    }
    return {
        "Name": payload["name"],
        **transporter,
        "Destinations": [
            {
                "RecipientLicenseNumber": payload["recipient_license"],
                "TransferTypeName": transfer_type,
                "PlannedRoute": None,
                "EstimatedDepartureDateTime": etd,
                "EstimatedArrivalDateTime": eta,
                "Transporters": [
                    {
                        **transporter,
                        "DriverLayoverLeg": None,
                        "IsLayover": False,
                        "EstimatedDepartureDateTime": etd,
                        "EstimatedArrivalDateTime": eta,
                        "TransporterDetails": [{**driver, "DriverLayoverLeg": None}],
                    }
                ],
                "Packages": [
                    {"PackageLabel": p["label"], "WholesalePrice": float(Decimal(p["wholesale_price"]))}
                    for p in payload["packages"]
                ],
            }
        ],
    }
