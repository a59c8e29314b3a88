"""How a shipment travels: driver, vehicle, departure and arrival, and the packages on board.

Told by the seller at ship (validated in services/ordering/shipment_details.py) and carried onto the
METRC manifest (compliance/metrc_transfers.py) and later the delivery order, so both name the same
driver and vehicle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class ShipmentDetails:
    """What the seller told us when shipping (all optional) and the packages on board."""

    driver_name: str | None = None
    driver_phone: str | None = None
    vehicle: str | None = None
    eta: datetime | None = None
    package_labels: list[str] = field(default_factory=list)
    driver_license_number: str | None = None
    vehicle_make: str | None = None
    vehicle_model: str | None = None
    vehicle_plate: str | None = None
    etd: datetime | None = None

    @property
    def vehicle_text(self) -> str | None:
        """The vehicle as one line ("Ford Transit, plate 8ABC123"), from its parts or the free text."""
        parts = " ".join(p for p in (self.vehicle_make, self.vehicle_model) if p)
        if self.vehicle_plate:
            parts = f"{parts}, plate {self.vehicle_plate}" if parts else f"plate {self.vehicle_plate}"
        return parts or self.vehicle or None
