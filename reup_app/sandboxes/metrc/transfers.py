"""Transfer workflow: validate and store a template, register it as a transfer with a ManifestNumber, receive it.

Validation failures are METRC's 400 body: a JSON array of {"row": n, "message": "..."} (row = the index of the
object in the request array).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import NoReturn

from reup_app.sandboxes.metrc.store import Delivery, DeliveryPackage, MetrcStore, Package, Template, Transfer

TRANSFER_TYPES = (
    {"Name": "Transfer", "TransactionType": "Standard", "ForLicensedShipments": True},
    {"Name": "Wholesale", "TransactionType": "Wholesale", "ForLicensedShipments": True},
    {"Name": "Wholesale Manifest Paid", "TransactionType": "Wholesale", "ForLicensedShipments": True},
)
TRANSPORTER_FIELDS = (
    "TransporterFacilityLicenseNumber",
    "DriverOccupationalLicenseNumber",
    "DriverName",
    "DriverLicenseNumber",
    "PhoneNumberForQuestions",
    "VehicleMake",
    "VehicleModel",
    "VehicleLicensePlateNumber",
)


class RowErrors(Exception):
    """Validation errors as METRC returns them: [{"row": 0, "message": "..."}]."""

    def __init__(self, errors: list[dict]) -> None:
        super().__init__("; ".join(e["message"] for e in errors))
        self.errors = errors


def create_templates(store: MetrcStore, license_number: str, body: list, now: datetime) -> list[int]:
    """Validate every object first (nothing is stored when one fails), then store them; the new ids."""
    errors: list[dict] = []
    planned = []
    for row, obj in enumerate(body):
        try:
            planned.append(_plan_template(store, license_number, obj, row))
        except RowErrors as err:
            errors.extend(err.errors)
    if errors:
        raise RowErrors(errors)
    ids = []
    with store.lock:
        for name, transporter, destinations in planned:
            deliveries = [_delivery(store, license_number, dest) for dest in destinations]
            template = Template(
                store.state.next_id(), license_number, name, now, now, transporter, deliveries=deliveries
            )
            store.state.templates[template.id] = template
            ids.append(template.id)
    return ids


def _plan_template(store: MetrcStore, license_number: str, obj, row: int):
    def fail(message: str) -> NoReturn:
        raise RowErrors([{"row": row, "message": message}])

    if not isinstance(obj, dict):
        fail("The request object is not valid.")
    name = obj.get("Name")
    if not isinstance(name, str) or not name.strip():
        fail("Name is required.")
    destinations = obj.get("Destinations")
    if not isinstance(destinations, list) or not destinations:
        fail("At least one Destination is required.")
    type_names = {t["Name"] for t in TRANSFER_TYPES}
    seen: set[str] = set()
    for dest in destinations:
        if not isinstance(dest, dict):
            fail("Destination is not valid.")
        recipient = dest.get("RecipientLicenseNumber")
        if recipient not in store.state.facilities:
            fail(f"Recipient License Number {recipient} is not valid.")
        if recipient == license_number:
            fail("The recipient facility cannot be the same as the shipper facility.")
        if dest.get("TransferTypeName") not in type_names:
            fail(f"Transfer Type {dest.get('TransferTypeName')} is not valid.")
        packages = dest.get("Packages")
        if not isinstance(packages, list) or not packages:
            fail("At least one Package is required.")
        for item in packages:
            label = item.get("PackageLabel") if isinstance(item, dict) else None
            package = store.package(license_number, label) if isinstance(label, str) else None
            if package is None or package.finished or not isinstance(label, str):
                fail(f"Package {label} was not found or is not active at facility {license_number}.")
            if package.in_transit or label in seen:
                fail(f"Package {label} is already on a transfer.")
            if package.on_hold:
                fail(f"Package {label} is on hold and cannot be transferred.")
            if package.lab_state == "TestFailed":
                fail(f"Package {label} failed lab testing and cannot be transferred.")
            seen.add(label)
            price = item.get("WholesalePrice")
            if price is not None:
                try:
                    Decimal(str(price))
                except InvalidOperation:
                    fail(f"WholesalePrice {price!r} for package {label} is not a number.")
    transporter = {k: obj.get(k) for k in TRANSPORTER_FIELDS}
    return name.strip(), transporter, destinations


def _delivery(store: MetrcStore, license_number: str, dest: dict) -> Delivery:
    items = []
    for item in dest["Packages"]:
        package = store.package(license_number, item["PackageLabel"])
        assert package is not None  # _plan_template checked every package before anything is stored
        price = item.get("WholesalePrice")
        items.append(
            DeliveryPackage(
                package.id,
                package.label,
                package.quantity,
                package.item.unit,
                Decimal(str(price)) if price is not None else None,
            )
        )
    return Delivery(
        store.state.next_id(),
        dest["RecipientLicenseNumber"],
        dest["TransferTypeName"],
        dest.get("PlannedRoute"),
        dest.get("EstimatedDepartureDateTime"),
        dest.get("EstimatedArrivalDateTime"),
        items,
    )


def register_template(store: MetrcStore, template_id: int, now: datetime) -> Transfer:
    """The licensee registers the template in METRC: a transfer with a ManifestNumber; packages go in transit."""
    with store.lock:
        template = store.state.templates.get(template_id)
        if template is None or template.deleted:
            raise LookupError(f"no outgoing template {template_id}")
        if template.transfer_id is not None:
            return store.state.transfers[template.transfer_id]
        transfer_id = store.state.next_id()
        deliveries = []
        for d in template.deliveries:
            copy = Delivery(
                store.state.next_id(),
                d.recipient_license,
                d.transfer_type,
                d.planned_route,
                d.etd,
                d.eta,
                [
                    DeliveryPackage(p.package_id, p.label, p.shipped_quantity, p.unit, p.wholesale_price)
                    for p in d.packages
                ],
            )
            for p in copy.packages:
                package = store.state.packages[p.package_id]
                if not package.active or package.on_hold:
                    raise ValueError(f"package {p.label} is no longer available to ship")
            deliveries.append(copy)
        for d in deliveries:
            for p in d.packages:
                package = store.state.packages[p.package_id]
                package.in_transit = True
                p.shipped_quantity = package.quantity
                package.last_modified = now
        transfer = Transfer(
            transfer_id,
            f"{transfer_id:010d}",
            template.license_number,
            template.id,
            now,
            now,
            template.transporter,
            deliveries,
        )
        store.state.transfers[transfer.id] = transfer
        template.transfer_id = transfer.id
        template.last_modified = now
        store.touch()
        return transfer


def receive_delivery(store: MetrcStore, delivery_id: int, decisions: dict[str, dict], now: datetime) -> Delivery:
    """The buyer receives: each package Accepted (with a received quantity) or Rejected; default accept all.

    Accepted packages move to the recipient (same label, new row); the shipper's row becomes inactive.
    Rejected packages return to the shipper's active inventory.
    """
    with store.lock:
        found = store.transfer_by_delivery(delivery_id)
        if found is None:
            raise LookupError(f"no transfer delivery {delivery_id}")
        transfer, delivery = found
        if delivery.received_at is not None:
            raise ValueError(f"delivery {delivery_id} was already received")
        unknown = set(decisions) - {p.label for p in delivery.packages}
        if unknown:
            raise ValueError(f"not on delivery {delivery_id}: {', '.join(sorted(unknown))}")
        for line in delivery.packages:
            _receive_line(store, transfer, delivery, line, decisions.get(line.label, {}), now)
        delivery.received_at = now
        transfer.last_modified = now
        store.touch()
        return delivery


def _receive_line(store, transfer: Transfer, delivery: Delivery, line: DeliveryPackage, decision: dict, now):
    shipped = store.state.packages[line.package_id]
    shipped.in_transit = False
    shipped.last_modified = now
    if decision.get("accepted", True) is False:
        line.state = "Rejected"
        return
    quantity = Decimal(str(decision.get("received_quantity", line.shipped_quantity)))
    if quantity < 0 or quantity > line.shipped_quantity:
        raise ValueError(f"received quantity for {line.label} must be between 0 and {line.shipped_quantity}")
    line.state = "Accepted"
    line.received_quantity = quantity
    shipped.finished = True
    shipped.quantity = Decimal("0")
    held = store.package(delivery.recipient_license, shipped.label)
    if held is not None and not held.finished:  # the buyer already holds this package: it grows
        held.quantity += quantity
        held.received_from_manifest, held.received_at, held.last_modified = transfer.manifest_number, now, now
        return
    store.add_package(
        Package(
            id=store.state.next_id(),
            label=shipped.label,
            license_number=delivery.recipient_license,
            item=shipped.item,
            quantity=quantity,
            lab_state=shipped.lab_state,
            packaged_date=shipped.packaged_date,
            last_modified=now,
            expiration_date=shipped.expiration_date,
            production_batch=shipped.production_batch,
            received_from_manifest=transfer.manifest_number,
            received_from_license=transfer.license_number,
            received_at=now,
        )
    )
