"""Typed METRC records, parsed leniently: the spec mixes PascalCase (Facility) and camelCase
(Package, Transfer), and real servers vary, so keys are matched case-insensitively and missing
fields become None."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any


class Fields:
    """Case-insensitive read access to one JSON object."""

    def __init__(self, raw: dict[str, Any]) -> None:
        if not isinstance(raw, dict):
            raise ValueError(f"METRC record is not an object: {type(raw).__name__}")
        self.raw = raw
        self._lower: dict[str, Any] | None = None  # built on the first name not spelled as asked

    def get(self, name: str, default: Any = None) -> Any:
        if name in self.raw:  # the spelling the spec uses (most records): no case folding
            value = self.raw[name]
        else:
            if self._lower is None:
                self._lower = {k.lower(): v for k, v in self.raw.items()}
            value = self._lower.get(name.lower(), default)
        return default if value is None else value

    def text(self, name: str) -> str | None:
        value = self.get(name)
        return None if value is None else str(value)

    def integer(self, name: str) -> int | None:
        value = self.get(name)
        try:
            return None if value is None else int(value)
        except (TypeError, ValueError):
            return None

    def decimal(self, name: str) -> Decimal | None:
        value = self.get(name)
        try:
            return None if value is None else Decimal(str(value))
        except InvalidOperation:
            return None

    def flag(self, name: str) -> bool:
        return bool(self.get(name, False))

    def time(self, name: str) -> datetime | None:
        return parse_time(self.get(name))


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 from METRC; naive values are kept naive (METRC sends facility-local times there)."""
    if not value or not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass(frozen=True)
class Facility:
    name: str | None
    license_number: str | None
    license_type: str | None
    facility_type: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Facility:
        f = Fields(raw)
        lic = Fields(f.get("License") or {})
        return cls(
            name=f.text("DisplayName") or f.text("Name"),
            license_number=lic.text("Number"),
            license_type=lic.text("LicenseType"),
            facility_type=f.get("FacilityType") or {},
        )


@dataclass(frozen=True)
class PackageItem:
    id: int | None
    name: str | None
    category: str | None
    strain_name: str | None
    unit_of_measure: str | None

    @classmethod
    def parse(cls, raw: dict[str, Any] | None) -> PackageItem | None:
        if not raw:
            return None
        f = Fields(raw)
        return cls(
            f.integer("Id"),
            f.text("Name"),
            f.text("ProductCategoryName"),
            f.text("StrainName"),
            f.text("UnitOfMeasureName"),
        )


@dataclass(frozen=True)
class Package:
    id: int | None
    label: str
    quantity: Decimal | None
    unit_of_measure: str | None
    lab_testing_state: str | None
    is_on_hold: bool
    is_finished: bool
    item: PackageItem | None
    expiration_date: str | None
    last_modified: datetime | None
    archived: bool

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Package:
        f = Fields(raw)
        label = f.text("Label")
        if not label:
            raise ValueError("METRC package without a Label")
        return cls(
            id=f.integer("Id"),
            label=label,
            quantity=f.decimal("Quantity"),
            unit_of_measure=f.text("UnitOfMeasureName"),
            lab_testing_state=f.text("LabTestingState"),
            is_on_hold=f.flag("IsOnHold"),
            is_finished=f.flag("IsFinished") or f.get("FinishedDate") is not None,
            item=PackageItem.parse(f.get("Item")),
            expiration_date=f.text("ExpirationDate"),
            last_modified=f.time("LastModified"),
            archived=f.get("ArchivedDate") is not None,
        )


@dataclass(frozen=True)
class TransferType:
    name: str
    for_licensed_shipments: bool
    transaction_type: str | None

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> TransferType:
        f = Fields(raw)
        return cls(f.text("Name") or "", f.flag("ForLicensedShipments"), f.text("TransactionType"))


@dataclass(frozen=True)
class Transfer:
    """An outgoing transfer or template (the spec uses one shape for both)."""

    id: int | None
    name: str | None
    manifest_number: str | None
    recipient_license_number: str | None
    delivery_id: int | None
    package_count: int | None
    received_package_count: int | None
    received_at: datetime | None
    last_modified: datetime | None
    is_voided: bool

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Transfer:
        f = Fields(raw)
        return cls(
            id=f.integer("Id"),
            name=f.text("Name"),
            manifest_number=f.text("ManifestNumber"),
            recipient_license_number=f.text("RecipientFacilityLicenseNumber"),
            delivery_id=f.integer("DeliveryId"),
            package_count=f.integer("PackageCount"),
            received_package_count=f.integer("ReceivedPackageCount"),
            received_at=f.time("ReceivedDateTime"),
            last_modified=f.time("LastModified"),
            is_voided=f.flag("IsVoided"),
        )


@dataclass(frozen=True)
class TransferDelivery:
    id: int | None
    recipient_license_number: str | None
    package_count: int | None
    received_package_count: int | None
    received_at: datetime | None

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> TransferDelivery:
        f = Fields(raw)
        return cls(
            f.integer("Id"),
            f.text("RecipientFacilityLicenseNumber"),
            f.integer("DeliveryPackageCount"),
            f.integer("DeliveryReceivedPackageCount"),
            f.time("ReceivedDateTime"),
        )


@dataclass(frozen=True)
class DeliveryPackage:
    package_id: int | None
    label: str | None
    state: str | None  # ShipmentPackageState: Shipped, Accepted, Rejected, ...
    shipped_quantity: Decimal | None
    received_quantity: Decimal | None
    unit_of_measure: str | None

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> DeliveryPackage:
        f = Fields(raw)
        return cls(
            f.integer("PackageId"),
            f.text("PackageLabel"),
            f.text("ShipmentPackageState"),
            f.decimal("ShippedQuantity"),
            f.decimal("ReceivedQuantity"),
            f.text("ShippedUnitOfMeasureName"),
        )


@dataclass(frozen=True)
class WholesalePrice:
    package_id: int | None
    label: str | None
    shipper_price: Decimal | None
    receiver_price: Decimal | None

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> WholesalePrice:
        f = Fields(raw)
        return cls(
            f.integer("PackageId"),
            f.text("PackageLabel"),
            f.decimal("ShipperWholesalePrice"),
            f.decimal("ReceiverWholesalePrice"),
        )


@dataclass(frozen=True)
class WriteResult:
    """`{Ids, Warnings}` from a v2 write (one per chunk, merged)."""

    ids: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, raw: Any) -> WriteResult:
        if not isinstance(raw, dict):
            return cls()
        f = Fields(raw)
        warnings = f.get("Warnings") or []
        return cls(
            [int(i) for i in (f.get("Ids") or [])],
            [str(w) for w in warnings] if isinstance(warnings, list) else [str(warnings)],
        )
