"""Typed Dutchie records, parsed from the spec's shapes: `/whoami` answers in PascalCase
(`LocationIdentity`), every other endpoint in camelCase. Unknown fields are ignored; a missing
required field raises ValueError naming it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any


def _dt(value: Any) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _dec(value: Any) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal("0")


def _req(row: dict[str, Any], key: str) -> Any:
    if row.get(key) is None:
        raise ValueError(f"Dutchie record without {key!r}: {sorted(row)[:12]}")
    return row[key]


def _str(value: Any) -> str:
    return str(value).strip() if value is not None else ""


@dataclass(frozen=True)
class LocationIdentity:
    location_id: int
    location_name: str
    license_number: str
    lsp_name: str
    state: str

    @classmethod
    def parse(cls, row: dict[str, Any]) -> LocationIdentity:
        """`/whoami` is PascalCase (LocationId, LocationName, LicenseNumber, ...)."""
        return cls(
            int(_req(row, "LocationId")),
            _str(row.get("LocationName")),
            _str(row.get("LicenseNumber")),
            _str(row.get("LspName")),
            _str(row.get("State")),
        )


@dataclass(frozen=True)
class InventoryItem:
    inventory_id: int
    product_id: int
    sku: str
    product_name: str
    brand_name: str
    category: str
    quantity_available: Decimal
    unit_cost: Decimal | None
    package_id: str
    external_package_id: str  # the METRC package label

    @classmethod
    def parse(cls, row: dict[str, Any]) -> InventoryItem:
        cost = row.get("unitCost")
        return cls(
            int(_req(row, "inventoryId")),
            int(_req(row, "productId")),
            _str(row.get("sku")),
            _str(row.get("productName")),
            _str(row.get("brandName")),
            _str(row.get("category") or row.get("masterCategory")),
            _dec(row.get("quantityAvailable")),
            _dec(cost) if cost is not None else None,
            _str(row.get("packageId")),
            _str(row.get("externalPackageId")),
        )


@dataclass(frozen=True)
class ProductDetail:
    product_id: int
    sku: str
    name: str
    brand_name: str
    category: str
    is_active: bool
    unit_cost: Decimal | None
    last_modified: datetime | None

    @classmethod
    def parse(cls, row: dict[str, Any]) -> ProductDetail:
        cost = row.get("unitCost")
        return cls(
            int(_req(row, "productId")),
            _str(row.get("sku")),
            _str(row.get("productName") or row.get("internalName")),
            _str(row.get("brandName")),
            _str(row.get("category") or row.get("masterCategory")),
            bool(row.get("isActive", True)),
            _dec(cost) if cost is not None else None,
            _dt(row.get("lastModifiedDateUTC")),
        )


@dataclass(frozen=True)
class TransactionItem:
    product_id: int
    quantity: Decimal
    total_price: Decimal
    is_returned: bool


@dataclass(frozen=True)
class Transaction:
    transaction_id: int
    transaction_date: datetime
    is_void: bool
    is_return: bool
    items: tuple[TransactionItem, ...]

    @classmethod
    def parse(cls, row: dict[str, Any]) -> Transaction:
        items = tuple(
            TransactionItem(
                int(_req(i, "productId")), _dec(i.get("quantity")), _dec(i.get("totalPrice")), bool(i.get("isReturned"))
            )
            for i in (row.get("items") or [])
        )
        when = _dt(_req(row, "transactionDate"))
        assert when is not None
        return cls(int(_req(row, "transactionId")), when, bool(row.get("isVoid")), bool(row.get("isReturn")), items)


@dataclass(frozen=True)
class Vendor:
    vendor_id: int
    vendor_name: str
    license_number: str

    @classmethod
    def parse(cls, row: dict[str, Any]) -> Vendor:
        return cls(int(_req(row, "vendorId")), _str(row.get("vendorName")), _str(row.get("licenseNumber")))


@dataclass(frozen=True)
class ReceivedInventory:
    receive_inventory_history_id: int
    title: str
    status: str

    @classmethod
    def parse(cls, row: dict[str, Any]) -> ReceivedInventory:
        return cls(int(_req(row, "receiveInventoryHistoryId")), _str(row.get("title")), _str(row.get("status")))


@dataclass(frozen=True)
class PurchaseOrder:
    purchase_order_id: int
    purchase_order_number: str
    title: str

    @classmethod
    def parse(cls, row: dict[str, Any]) -> PurchaseOrder:
        return cls(int(_req(row, "purchaseOrderId")), _str(row.get("purchaseOrderNumber")), _str(row.get("title")))
