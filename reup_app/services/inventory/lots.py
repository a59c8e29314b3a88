"""Stock: reservations for orders, their release, and consumption on shipment (`StockLock`).

Invariants kept here (and backed by CHECK constraints in the database):

- per lot: quantity_available = quantity_on_hand - quantity_reserved, none of them negative;
- per product: Product.available_qty = sum of quantity_available over all of its lots.

Reservations are recorded, per package, as OrderLineAllocation rows from the moment an order is
submitted: the reservation ledger *is* the allocation table. An order that is not yet fulfilled
holds provisional packages (picked first-expiring-first); at fulfillment the seller confirms them
or picks others (`allocate_for_fulfillment`); shipping consumes exactly what is allocated;
cancelling or rejecting releases it. So every unit reserved on a lot is accounted for by an
allocation row of an open order.

Locking: every change first locks the affected products' rows (ascending id) and then all their
lots (ascending id) with SELECT ... FOR UPDATE, and only then writes. Everyone taking locks in
that one order is what keeps concurrent checkouts, transitions and stock edits free of deadlocks;
the product lock also serialises all stock changes of one product, so no update is lost.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session, col

from reup_app.errors import Conflict, NotFound
from reup_app.events import emit
from reup_app.models import (
    InventoryLot,
    License,
    Order,
    OrderLine,
    OrderLineAllocation,
    Product,
)
from reup_app.models.enums import LabTestState
from reup_app.models.types import utcnow
from reup_app.services.common import (
    ZERO,
    fmt_qty,
    load_columns,
)
from reup_app.services.compliance.license_calendar import license_today

# Only the columns stock changes read (narrower rows are cheaper to fetch and decode).
_PRODUCT_COLS = load_columns(
    Product,
    "id",
    "entity_id",
    "sku",
    "name",
    "unit_of_measure",
    "unit_price",
    "min_order_qty",
    "listing_state",
    "available_qty",
)
_LOT_COLS = load_columns(
    InventoryLot,
    "id",
    "product_id",
    "license_id",
    "package_label",
    "quantity_on_hand",
    "quantity_reserved",
    "quantity_available",
    "lab_test_state",
    "on_hold",
    "packaged_on",
    "expires_on",
)


# --------------------------------------------------------------------------------------------
# The locked view of some products' stock
# --------------------------------------------------------------------------------------------


class StockLock:
    """Products and all their lots, locked FOR UPDATE for the rest of the transaction.

    Change lots only through this object; `settle()` then refreshes the products' available
    quantity and emits one "inventory.changed" event per product whose availability moved.
    """

    def __init__(self, session: Session, product_ids: Iterable[int]):
        self.session = session
        ids = sorted({int(p) for p in product_ids})
        self.products: dict[int, Product] = {}
        self.lots: dict[int, list[InventoryLot]] = defaultdict(list)
        self.lots_by_id: dict[int, InventoryLot] = {}
        self._before: dict[int, Decimal] = {}
        self._touched: set[int] = set()
        self._license_states: dict[int, str] = {}
        if not ids:
            return
        for p in session.execute(
            select(Product)
            .options(_PRODUCT_COLS)
            .where(col(Product.id).in_(ids))
            .order_by(col(Product.id))
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalars():
            self.products[p.id] = p
        for lot in session.execute(
            select(InventoryLot)
            .options(_LOT_COLS)
            .with_hint(InventoryLot, "FORCE INDEX (ix_inventory_product_license)", "mysql")
            .where(col(InventoryLot.product_id).in_(ids))
            .order_by(col(InventoryLot.id))
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalars():
            self.lots[lot.product_id].append(lot)
            self.lots_by_id[lot.id] = lot
        self._before = {pid: p.available_qty for pid, p in self.products.items()}

    # -- queries on the locked rows ---------------------------------------------------------

    def product(self, product_id: int) -> Product:
        try:
            return self.products[product_id]
        except KeyError:
            raise NotFound("That product no longer exists.") from None

    @staticmethod
    def sellable(lot: InventoryLot, license_id: int, today: date) -> bool:
        return (
            lot.license_id == license_id
            and lot.lab_test_state != LabTestState.FAILED
            and not lot.on_hold
            and (lot.expires_on is None or lot.expires_on >= today)
        )

    def license_today(self, license_id: int) -> date:
        """Today in the state of the license the lots are held under (see license_calendar)."""
        if license_id not in self._license_states:
            self._license_states[license_id] = self.session.execute(
                select(col(License.state)).where(col(License.id) == license_id)
            ).scalar_one()
        return license_today(self._license_states[license_id])

    def sellable_lots(self, product_id: int, license_id: int) -> list[InventoryLot]:
        """Lots of a product under a license that may be sold, first-expiring first (FIFO)."""
        today = self.license_today(license_id)
        lots = [lot for lot in self.lots.get(product_id, []) if self.sellable(lot, license_id, today)]
        return sorted(lots, key=lambda lot: (lot.expires_on or date.max, lot.packaged_on or date.max, lot.id))

    def sellable_qty(self, product_id: int, license_id: int) -> Decimal:
        return sum((lot.quantity_available for lot in self.sellable_lots(product_id, license_id)), ZERO)

    # -- changes ----------------------------------------------------------------------------

    def _set(self, lot: InventoryLot, on_hand: Decimal, reserved: Decimal) -> None:
        if on_hand < 0 or reserved < 0 or on_hand - reserved < 0:
            # Only reachable if the ledger and the lot disagree; refuse rather than corrupt stock.
            raise Conflict(f"Stock for package {lot.package_label} is inconsistent; nothing was changed.")
        lot.quantity_on_hand = on_hand
        lot.quantity_reserved = reserved
        lot.quantity_available = on_hand - reserved
        lot.updated_at = utcnow()
        self.session.add(lot)
        self._touched.add(lot.product_id)

    def reserve_on(self, lot: InventoryLot, qty: Decimal) -> None:
        if qty > lot.quantity_available:
            product = self.products.get(lot.product_id)
            name = product.name if product else "this product"
            raise Conflict(
                f"Package {lot.package_label} has only {fmt_qty(lot.quantity_available)} of "
                f"{name} available; {fmt_qty(qty)} requested."
            )
        self._set(lot, lot.quantity_on_hand, lot.quantity_reserved + qty)

    def unreserve_on(self, lot: InventoryLot, qty: Decimal) -> None:
        self._set(lot, lot.quantity_on_hand, lot.quantity_reserved - qty)

    def consume_on(self, lot: InventoryLot, qty: Decimal) -> None:
        self._set(lot, lot.quantity_on_hand - qty, lot.quantity_reserved - qty)

    def set_on_hand(self, lot: InventoryLot, on_hand: Decimal) -> None:
        if on_hand < lot.quantity_reserved:
            raise Conflict(
                f"{fmt_qty(lot.quantity_reserved)} of package {lot.package_label} are reserved for open "
                f"orders, so on hand can't go below that. Edit or reject those orders first."
            )
        self._set(lot, on_hand, lot.quantity_reserved)

    def reserve_line(self, line: OrderLine, license_id: int) -> list[OrderLineAllocation]:
        """Reserve a line's whole quantity on sellable lots (FIFO); Conflict if there isn't enough."""
        product = self.product(line.product_id)
        lots = self.sellable_lots(line.product_id, license_id)
        have = sum((lot.quantity_available for lot in lots), ZERO)
        if have < line.quantity:
            raise Conflict(
                f"Only {fmt_qty(have)} {product.unit_of_measure} of {product.name} available; "
                f"{fmt_qty(line.quantity)} requested."
            )
        remaining = line.quantity
        allocations = []
        for lot in lots:
            if remaining <= 0:
                break
            take = min(lot.quantity_available, remaining)
            if take <= 0:
                continue
            self.reserve_on(lot, take)
            allocations.append(
                OrderLineAllocation(
                    order_line_id=line.id, inventory_lot_id=lot.id, package_label=lot.package_label, quantity=take
                )
            )
            remaining -= take
        self.session.add_all(allocations)
        return allocations

    def release(self, allocations: Iterable[OrderLineAllocation]) -> None:
        """Give reserved units back and delete the allocation rows."""
        for alloc in allocations:
            lot = self.lots_by_id.get(alloc.inventory_lot_id)
            if lot is None:
                raise Conflict(f"Package {alloc.package_label} no longer exists; nothing was changed.")
            self.unreserve_on(lot, alloc.quantity)
            self.session.delete(alloc)

    def consume(self, allocations: Iterable[OrderLineAllocation]) -> None:
        """Shipment: the allocated units leave on hand and reserved (available is unchanged)."""
        for alloc in allocations:
            lot = self.lots_by_id.get(alloc.inventory_lot_id)
            if lot is None:
                raise Conflict(f"Package {alloc.package_label} no longer exists; nothing was changed.")
            self.consume_on(lot, alloc.quantity)

    def settle(self) -> list[int]:
        """Refresh Product.available_qty from the lots; emit events; return the changed product ids.

        Each seller whose lots changed gets one "inventory.changed" event per transaction (payload:
        "product_ids", "available" {id: qty}, "public"), also when only on hand moved (a shipment
        consumes on hand and reserved alike), so stock pages and live availability update.
        """
        changed = []
        by_entity: dict[int, dict[str, str]] = defaultdict(dict)
        now = utcnow()
        for pid in sorted(self._touched):
            product = self.products.get(pid)
            if product is None:
                continue
            available = sum((lot.quantity_available for lot in self.lots.get(pid, [])), ZERO)
            if available != product.available_qty or available != self._before.get(pid):
                product.available_qty = available
                product.updated_at = now
                self.session.add(product)
                changed.append(pid)
            by_entity[product.entity_id][str(pid)] = str(available)  # also when only on hand moved
            self._before[pid] = available
        self._touched.clear()
        # One event per seller and transaction (a checkout touching ten products is one push).
        # "public": availability is catalog information every session may see.
        for entity_id, available_by_id in by_entity.items():
            emit(
                self.session,
                "inventory.changed",
                entity_ids=[entity_id],
                payload={
                    "product_ids": [int(pid) for pid in available_by_id],
                    "available": available_by_id,
                    "public": True,
                },
            )
        return changed

    def track(self, lot: InventoryLot) -> None:
        """Register a lot created in this transaction."""
        self.lots[lot.product_id].append(lot)
        self.lots_by_id[lot.id] = lot
        self._touched.add(lot.product_id)


# --------------------------------------------------------------------------------------------
# Order-level operations (called by checkout and the order state machine)
# --------------------------------------------------------------------------------------------


def _lines_of(session: Session, orders: Sequence[Order]) -> list[OrderLine]:
    ids = [o.id for o in orders]
    return list(
        session.execute(select(OrderLine).where(col(OrderLine.order_id).in_(ids)).order_by(col(OrderLine.id))).scalars()
    )


def allocations_of(session: Session, line_ids: Sequence[int]) -> list[OrderLineAllocation]:
    if not line_ids:
        return []
    return list(
        session.execute(
            select(OrderLineAllocation)
            .where(col(OrderLineAllocation.order_line_id).in_(list(line_ids)))
            .order_by(col(OrderLineAllocation.id))
        ).scalars()
    )


def reserve_orders(session: Session, orders: Sequence[Order], lines: Sequence[OrderLine] | None = None) -> StockLock:
    """Reserve every line of these orders under each order's seller license (one lock for all)."""
    lines = list(lines) if lines is not None else _lines_of(session, orders)
    license_of = {o.id: o.seller_license_id for o in orders}
    stock = StockLock(session, [ln.product_id for ln in lines])
    for line in lines:
        stock.reserve_line(line, license_of[line.order_id])
    stock.settle()
    return stock


def reserve(session: Session, order: Order) -> StockLock:
    """Reserve stock for a submitted order; Conflict naming the product if there isn't enough."""
    return reserve_orders(session, [order])


def _apply_to_allocations(session: Session, order: Order, operation: str) -> StockLock:
    """Lock the order's products and run `StockLock.<operation>` on its allocations."""
    lines = _lines_of(session, [order])
    allocations = allocations_of(session, [ln.id for ln in lines])
    stock = StockLock(session, [ln.product_id for ln in lines])
    getattr(stock, operation)(allocations)
    stock.settle()
    return stock


def release(session: Session, order: Order) -> StockLock:
    """Give back everything the order holds (on reject or cancel)."""
    return _apply_to_allocations(session, order, "release")


def consume(session: Session, order: Order) -> StockLock:
    """Take the allocated packages out of stock when the order ships."""
    return _apply_to_allocations(session, order, "consume")


# --------------------------------------------------------------------------------------------
# Wholesaler inventory management
# --------------------------------------------------------------------------------------------
