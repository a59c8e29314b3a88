"""The Dutchie sandbox's in-memory state: locations (one API key each) and, per location, its
products (camelCase dicts, as answered), inventory rows and transactions (compact tuples rendered
on request, so a benchmark location with 200,000 sale lines stays small), vendors, saved receives
and purchase orders."""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple


class Stock(NamedTuple):
    inventory_id: int
    product_id: int
    quantity: Decimal
    package_label: str  # the METRC tag (externalPackageId)
    unit_cost: Decimal


class Line(NamedTuple):
    product_id: int
    inventory_id: int
    quantity: Decimal
    unit_price: Decimal
    unit_cost: Decimal


class Sale(NamedTuple):
    transaction_id: int
    when: datetime
    is_void: bool
    lines: tuple[Line, ...]
    modified: datetime


@dataclass
class Location:
    key: str
    location_id: int
    name: str
    license_number: str
    lsp_name: str
    state: str = "CA"
    products: dict[int, dict[str, Any]] = field(default_factory=dict)
    inventory: list[Stock] = field(default_factory=list)
    sales: list[Sale] = field(default_factory=list)  # sorted by `when`
    sale_times: list[datetime] = field(default_factory=list)
    vendors: list[dict[str, Any]] = field(default_factory=list)
    receives: list[dict[str, Any]] = field(default_factory=list)
    purchase_orders: list[dict[str, Any]] = field(default_factory=list)

    def add_sale(self, sale: Sale) -> None:
        i = bisect.bisect_right(self.sale_times, sale.when)
        self.sale_times.insert(i, sale.when)
        self.sales.insert(i, sale)

    def extend_sorted(self, sales: list[Sale]) -> None:
        """Append many sales (the seed's); re-sorts once."""
        self.sales.extend(sales)
        self.sales.sort(key=lambda s: s.when)
        self.sale_times = [s.when for s in self.sales]

    def sales_between(self, start: datetime, end: datetime) -> list[Sale]:
        lo = bisect.bisect_left(self.sale_times, start)
        hi = bisect.bisect_left(self.sale_times, end)
        return self.sales[lo:hi]


@dataclass
class DutchieState:
    locations: dict[str, Location] = field(default_factory=dict)  # by API key
    last_id: int = 1000

    def next_id(self) -> int:
        self.last_id += 1
        return self.last_id


class DutchieStore:
    def __init__(self, state: DutchieState) -> None:
        self.state = state
        self.lock = threading.RLock()

    def replace(self, state: DutchieState) -> None:
        with self.lock:
            self.state = state
