"""Inventory: stock reservations and consumption (`StockLock`), a seller's lots, and the packages
picked for each order line at fulfillment.

Modules, and the public functions re-exported here (loaded on first use):

- `lot_management`: A seller's lots: create and adjust lots, list them, and the licenses and package
  labels they carry. `list_own_licenses`, `validate_package_label`, `create_lot`, `adjust_lot`,
  `list_lots`.
- `lots`: Stock: reservations for orders, their release, and consumption on shipment (`StockLock`).
  `allocations_of`, `reserve_orders`, `reserve`, `release`, `consume`.
- `package_allocation`: Fulfillment: pick the packages (lots) that fill each order line, by the
  seller's choice or first-expiring first. `allocate_for_fulfillment`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reup_app.services.lazy_exports import exports

if TYPE_CHECKING:
    from reup_app.services.inventory.lot_management import (
        LicenseOption,
        LotDTO,
        adjust_lot,
        create_lot,
        list_lots,
        list_own_licenses,
        validate_package_label,
    )
    from reup_app.services.inventory.lots import (
        StockLock,
        allocations_of,
        consume,
        release,
        reserve,
        reserve_orders,
    )
    from reup_app.services.inventory.package_allocation import (
        allocate_for_fulfillment,
    )

__all__ = [
    "LotDTO",
    "LicenseOption",
    "list_own_licenses",
    "validate_package_label",
    "create_lot",
    "adjust_lot",
    "list_lots",
    "StockLock",
    "allocations_of",
    "reserve_orders",
    "reserve",
    "release",
    "consume",
    "allocate_for_fulfillment",
]

_HOME = {
    "LotDTO": "lot_management",
    "LicenseOption": "lot_management",
    "list_own_licenses": "lot_management",
    "validate_package_label": "lot_management",
    "create_lot": "lot_management",
    "adjust_lot": "lot_management",
    "list_lots": "lot_management",
    "StockLock": "lots",
    "allocations_of": "lots",
    "reserve_orders": "lots",
    "reserve": "lots",
    "release": "lots",
    "consume": "lots",
    "allocate_for_fulfillment": "package_allocation",
}

__getattr__ = exports(__name__, _HOME)
