"""The METRC sandbox's state: facilities, user keys, packages, templates, transfers and deliveries.

All mutation goes through `MetrcStore` methods, under one lock, stamping `last_modified` from the sandbox clock.
A package is one row per (facility, label): when a transfer is received the shipper's row becomes inactive and
the recipient gets its own row with the same label, as METRC shows it to each licensee.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

LAB_STATES = ("NotSubmitted", "SubmittedForTesting", "TestPassed", "TestFailed", "NotRequired")


@dataclass
class Facility:
    license_number: str
    name: str
    license_type: str
    start_date: date
    end_date: date
    can_sell_to_consumers: bool = False


@dataclass
class Item:
    name: str
    category: str
    strain: str | None
    unit: str  # METRC unit of measure name: "Each", "Grams", "Ounces", "Milliliters"
    thc_percent: Decimal | None = None
    cbd_percent: Decimal | None = None
    brand: str | None = None


@dataclass
class Package:
    id: int
    label: str
    license_number: str
    item: Item
    quantity: Decimal
    lab_state: str
    packaged_date: date
    last_modified: datetime
    expiration_date: date | None = None
    production_batch: str | None = None
    on_hold: bool = False
    in_transit: bool = False
    finished: bool = False  # finished, discontinued or transferred away: inactive
    received_from_manifest: str | None = None
    received_from_license: str | None = None
    received_at: datetime | None = None

    @property
    def active(self) -> bool:
        return not self.finished and not self.in_transit


@dataclass
class DeliveryPackage:
    package_id: int
    label: str
    shipped_quantity: Decimal
    unit: str
    wholesale_price: Decimal | None
    state: str = "Shipped"  # Shipped -> Accepted | Rejected
    received_quantity: Decimal | None = None


@dataclass
class Delivery:
    id: int
    recipient_license: str
    transfer_type: str
    planned_route: str | None
    etd: str | None
    eta: str | None
    packages: list[DeliveryPackage]
    received_at: datetime | None = None


@dataclass
class Template:
    """A registered-or-not outgoing transfer template (ManifestNumber is null until registered)."""

    id: int
    license_number: str
    name: str
    created: datetime
    last_modified: datetime
    transporter: dict
    deliveries: list[Delivery]
    transfer_id: int | None = None
    deleted: bool = False


@dataclass
class Transfer:
    id: int
    manifest_number: str
    license_number: str  # the shipper
    template_id: int | None
    created: datetime
    last_modified: datetime
    transporter: dict
    deliveries: list[Delivery]


@dataclass
class MetrcState:
    facilities: dict[str, Facility] = field(default_factory=dict)
    user_keys: dict[str, set[str]] = field(default_factory=dict)  # user key -> license numbers
    packages: dict[int, Package] = field(default_factory=dict)
    templates: dict[int, Template] = field(default_factory=dict)
    transfers: dict[int, Transfer] = field(default_factory=dict)
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def next_id(self) -> int:
        return next(self.ids)


class MetrcStore:
    """The state plus a lock; readers take snapshots (lists) under the lock."""

    def __init__(self, state: MetrcState) -> None:
        self.lock = threading.RLock()
        self.state = state
        self._sorted: dict[tuple[str, str], list[Package]] = {}
        self.refresh_index()

    def touch(self) -> None:
        """Something may have changed: drop the cached sorted package lists."""
        with self.lock:
            self._sorted.clear()

    def sorted_packages(self, license_number: str, kind: str, keep) -> list[Package]:
        """The facility's packages passing `keep`, oldest LastModified first; cached until `touch`."""
        with self.lock:
            key = (license_number, kind)
            if key not in self._sorted:
                rows = [p for p in self.by_license.get(license_number, ()) if keep(p)]
                rows.sort(key=lambda p: (p.last_modified, p.id))
                self._sorted[key] = rows
            return self._sorted[key]

    def replace(self, state: MetrcState) -> None:
        with self.lock:
            self.state = state
            self.refresh_index()

    def refresh_index(self) -> int:
        """Rebuild the label and facility indexes (after packages were added to the state directly)."""
        with self.lock:
            self._sorted.clear()
            self.by_label: dict[tuple[str, str], int] = {}
            self.by_license: dict[str, list[Package]] = {}
            for package in self.state.packages.values():
                self._index(package)
            return len(self.state.packages)

    def _index(self, package: Package) -> None:
        self.by_label[(package.license_number, package.label)] = package.id
        self.by_license.setdefault(package.license_number, []).append(package)

    def add_package(self, package: Package) -> Package:
        with self.lock:
            self.state.packages[package.id] = package
            self._index(package)
            self._sorted.clear()
            return package

    def package(self, license_number: str, label: str) -> Package | None:
        with self.lock:
            pid = self.by_label.get((license_number, label))
            return self.state.packages.get(pid) if pid else None

    def packages_of(self, license_number: str) -> list[Package]:
        with self.lock:
            return list(self.by_license.get(license_number, ()))

    def transfer_by_delivery(self, delivery_id: int) -> tuple[Transfer, Delivery] | None:
        with self.lock:
            for transfer in self.state.transfers.values():
                for delivery in transfer.deliveries:
                    if delivery.id == delivery_id:
                        return transfer, delivery
        return None
