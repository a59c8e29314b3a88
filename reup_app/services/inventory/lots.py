"""Stock: reservations for orders, consumption on shipment, and the wholesaler's own lot management.

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

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import load_only
from sqlmodel import Session

from reup_app.errors import Conflict, NotFound, ValidationError
from reup_app.events import emit
from reup_app.models import (
    InventoryLot,
    License,
    Order,
    OrderLine,
    OrderLineAllocation,
    Product,
)
from reup_app.models.enums import LabTestState, LicenseStatus
from reup_app.models.types import utcnow
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services.common import (
    ZERO,
    authorize_party,
    begin_read_committed,
    clean_text,
    fmt_qty,
    parse_int,
    parse_quantity,
    parse_signed_quantity,
    require_member,
)

# Only the columns stock changes read (narrower rows are cheaper to fetch and decode).
_PRODUCT_COLS = load_only(
    Product.id,
    Product.entity_id,
    Product.sku,
    Product.name,
    Product.unit_of_measure,
    Product.unit_price,
    Product.min_order_qty,
    Product.listing_state,
    Product.available_qty,
)
_LOT_COLS = load_only(
    InventoryLot.id,
    InventoryLot.product_id,
    InventoryLot.license_id,
    InventoryLot.package_label,
    InventoryLot.quantity_on_hand,
    InventoryLot.quantity_reserved,
    InventoryLot.quantity_available,
    InventoryLot.lab_test_state,
    InventoryLot.on_hold,
    InventoryLot.packaged_on,
    InventoryLot.expires_on,
)
PACKAGE_LABEL_RE = re.compile(r"^[A-Z0-9]{24}$")
PACKAGE_LABEL_HELP = (
    "Package labels are 24 characters, capital letters and digits only (e.g. 1A4060300002EE1000012345)."
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
        if not ids:
            return
        for p in session.execute(
            select(Product)
            .options(_PRODUCT_COLS)
            .where(Product.id.in_(ids))
            .order_by(Product.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalars():
            self.products[p.id] = p
        for lot in session.execute(
            select(InventoryLot)
            .options(_LOT_COLS)
            .with_hint(InventoryLot, "FORCE INDEX (ix_inventory_product_license)", "mysql")
            .where(InventoryLot.product_id.in_(ids))
            .order_by(InventoryLot.id)
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

    def sellable_lots(self, product_id: int, license_id: int) -> list[InventoryLot]:
        """Lots of a product under a license that may be sold, first-expiring first (FIFO)."""
        today = utcnow().date()
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
    return list(session.execute(select(OrderLine).where(OrderLine.order_id.in_(ids)).order_by(OrderLine.id)).scalars())


def allocations_of(session: Session, line_ids: Sequence[int]) -> list[OrderLineAllocation]:
    if not line_ids:
        return []
    return list(
        session.execute(
            select(OrderLineAllocation)
            .where(OrderLineAllocation.order_line_id.in_(list(line_ids)))
            .order_by(OrderLineAllocation.id)
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


def allocate_for_fulfillment(
    session: Session,
    order: Order,
    lines: Sequence[OrderLine],
    requested: dict[int, list[tuple[int | None, str | None, Decimal]]] | None,
) -> list[OrderLineAllocation]:
    """Confirm the packages each line ships from.

    `requested` maps line id -> [(lot_id or None, package_label or None, quantity)]. A line that
    is not in it keeps its provisional packages if they are all still shippable, else gets a
    fresh first-expiring-first pick. Chosen packages must be lots of the line's product under the
    order's seller license, not failed in lab testing, not expired, and sum to the line quantity.
    """
    requested = requested or {}
    line_ids = {ln.id for ln in lines}
    unknown = set(requested) - line_ids
    if unknown:
        raise ValidationError(f"Line {sorted(unknown)[0]} is not on order {order.number}.", "allocations")
    current = allocations_of(session, [ln.id for ln in lines])
    by_line: dict[int, list[OrderLineAllocation]] = defaultdict(list)
    for a in current:
        by_line[a.order_line_id].append(a)
    stock = StockLock(session, [ln.product_id for ln in lines])
    today = utcnow().date()
    result: list[OrderLineAllocation] = []
    for line in lines:
        product = stock.product(line.product_id)
        mine = by_line.get(line.id, [])
        if line.id not in requested:
            kept_ok = sum((a.quantity for a in mine), ZERO) == line.quantity and all(
                a.inventory_lot_id in stock.lots_by_id
                and stock.sellable(stock.lots_by_id[a.inventory_lot_id], order.seller_license_id, today)
                for a in mine
            )
            if kept_ok:
                result.extend(mine)
                continue
            stock.release(mine)
            result.extend(stock.reserve_line(line, order.seller_license_id))
            continue
        picks = requested[line.id]
        total = sum((q for _, _, q in picks), ZERO)
        if total != line.quantity:
            raise ValidationError(
                f"Packages for {product.name} add up to {fmt_qty(total)}; the line is for {fmt_qty(line.quantity)}.",
                "allocations",
            )
        stock.release(mine)
        merged: dict[int, Decimal] = defaultdict(lambda: ZERO)
        for lot_id, label, qty in picks:
            lot = None
            if lot_id is not None:
                lot = stock.lots_by_id.get(lot_id)
            elif label is not None:
                lot = next((x for x in stock.lots.get(line.product_id, []) if x.package_label == label), None)
            if lot is None or lot.product_id != line.product_id or lot.license_id != order.seller_license_id:
                raise ValidationError(
                    f"Package {label or lot_id} is not a package of {product.name} held under this order's license.",
                    "allocations",
                )
            if lot.lab_test_state == LabTestState.FAILED:
                raise ValidationError(
                    f"Package {lot.package_label} failed lab testing and can't be shipped.", "allocations"
                )
            if lot.expires_on is not None and lot.expires_on < today:
                raise ValidationError(
                    f"Package {lot.package_label} expired on {lot.expires_on.isoformat()}.", "allocations"
                )
            merged[lot.id] += qty
        for lot_id, qty in merged.items():
            lot = stock.lots_by_id[lot_id]
            stock.reserve_on(lot, qty)
            alloc = OrderLineAllocation(
                order_line_id=line.id, inventory_lot_id=lot.id, package_label=lot.package_label, quantity=qty
            )
            session.add(alloc)
            result.append(alloc)
    stock.settle()
    return result


# --------------------------------------------------------------------------------------------
# Wholesaler inventory management
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LotDTO:
    id: int
    product_id: int
    product_name: str
    sku: str
    license_id: int
    license_number: str
    package_label: str
    batch_number: str | None
    quantity_on_hand: Decimal
    quantity_reserved: Decimal
    quantity_available: Decimal
    lab_test_state: str
    packaged_on: date | None
    expires_on: date | None
    lab_thc_percent: Decimal | None = None
    lab_cbd_percent: Decimal | None = None
    lab_name: str | None = None
    lab_tested_on: date | None = None
    unit_of_measure: str = "each"


def _lot_dto(lot: InventoryLot, product: Product, license: License) -> LotDTO:
    return LotDTO(
        id=lot.id,
        product_id=product.id,
        product_name=product.name,
        sku=product.sku,
        license_id=license.id,
        license_number=license.number,
        package_label=lot.package_label,
        batch_number=lot.batch_number,
        quantity_on_hand=lot.quantity_on_hand,
        quantity_reserved=lot.quantity_reserved,
        quantity_available=lot.quantity_available,
        lab_test_state=lot.lab_test_state,
        packaged_on=lot.packaged_on,
        expires_on=lot.expires_on,
        lab_thc_percent=lot.lab_thc_percent,
        lab_cbd_percent=lot.lab_cbd_percent,
        lab_name=lot.lab_name,
        lab_tested_on=lot.lab_tested_on,
        unit_of_measure=product.unit_of_measure,
    )


@dataclass(frozen=True)
class LicenseOption:
    id: int
    number: str
    state: str
    license_type: str
    status: str
    premises_name: str | None


def list_own_licenses(session: Session, principal: Principal) -> list[LicenseOption]:
    """The principal's entity's licenses (for choosing where a package is held, and filtering)."""
    entity_id = require_member(principal)
    authorize(principal, "catalog.view", entity_id)
    rows = session.execute(select(License).where(License.entity_id == entity_id).order_by(License.number)).scalars()
    return [
        LicenseOption(
            id=x.id,
            number=x.number,
            state=x.state,
            license_type=x.license_type,
            status=x.status,
            premises_name=x.premises_name,
        )
        for x in rows
    ]


def _lab_percent(value: object, field: str) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        d = Decimal(str(value).strip().rstrip("%"))
    except ArithmeticError:
        raise ValidationError(f"{field.replace('_', ' ').replace('lab ', 'Lab ')} must be a number.", field) from None
    if not d.is_finite() or d < 0 or d > 100 or d != d.quantize(Decimal("0.01")):
        raise ValidationError("Lab percentages are between 0 and 100 with at most 2 decimals.", field)
    return d


def validate_package_label(label: object) -> str:
    if not isinstance(label, str) or not PACKAGE_LABEL_RE.match(label.strip()):
        raise ValidationError(PACKAGE_LABEL_HELP, "package_label")
    return label.strip()


def _own_product(session: Session, principal: Principal, product_id: object) -> Product:
    pid = parse_int(product_id, "product_id")
    product = session.get(Product, pid)
    authorize_party(
        principal, "inventory.manage", [product.entity_id if product else None], "That product was not found."
    )
    return product


def _parse_date(value: object, field: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValidationError(f"Invalid date for {field.replace('_', ' ')}.", field) from None


def create_lot(
    session: Session,
    principal: Principal,
    *,
    product_id: int,
    license_id: int,
    package_label: str,
    quantity_on_hand: Decimal | str,
    batch_number: str | None = None,
    lab_test_state: str = "not_submitted",
    packaged_on: date | str | None = None,
    expires_on: date | str | None = None,
    lab_thc_percent: Decimal | str | None = None,
    lab_cbd_percent: Decimal | str | None = None,
    lab_name: str | None = None,
    lab_tested_on: date | str | None = None,
) -> LotDTO:
    """Record a new package of one of the principal's products, held under one of its licenses."""
    begin_read_committed(session)
    product = _own_product(session, principal, product_id)
    label = validate_package_label(package_label)
    qty = parse_quantity(quantity_on_hand, "quantity_on_hand", allow_zero=True)
    batch = clean_text(batch_number, "batch_number", max_len=64)
    if lab_test_state not in set(LabTestState):
        raise ValidationError("Unknown lab test state.", "lab_test_state")
    packaged = _parse_date(packaged_on, "packaged_on")
    expires = _parse_date(expires_on, "expires_on")
    if packaged and expires and expires < packaged:
        raise ValidationError("The expiry date can't be before the packaging date.", "expires_on")
    lab_thc = _lab_percent(lab_thc_percent, "lab_thc_percent")
    lab_cbd = _lab_percent(lab_cbd_percent, "lab_cbd_percent")
    lab = clean_text(lab_name, "lab_name", max_len=128)
    tested = _parse_date(lab_tested_on, "lab_tested_on")
    license = session.get(License, parse_int(license_id, "license_id"))
    if license is None or license.entity_id != product.entity_id:
        raise ValidationError("Choose one of your own licenses for this package.", "license_id")
    if license.status != LicenseStatus.ACTIVE:
        raise ValidationError(f"License {license.number} is not active.", "license_id")
    stock = StockLock(session, [product.id])  # lock the product (and its lots) before inserting
    if session.execute(select(InventoryLot.id).where(InventoryLot.package_label == label)).first() is not None:
        raise Conflict(f"Package label {label} is already in use.")
    lot = InventoryLot(
        product_id=product.id,
        license_id=license.id,
        package_label=label,
        batch_number=batch,
        quantity_on_hand=qty,
        quantity_reserved=ZERO,
        quantity_available=qty,
        lab_test_state=str(lab_test_state),
        packaged_on=packaged,
        expires_on=expires,
        lab_thc_percent=lab_thc,
        lab_cbd_percent=lab_cbd,
        lab_name=lab,
        lab_tested_on=tested,
    )
    try:
        with session.begin_nested():
            session.add(lot)
            session.flush()
    except IntegrityError:
        raise Conflict(f"Package label {label} is already in use.") from None
    stock.track(lot)
    stock.settle()
    return _lot_dto(lot, product, license)


def adjust_lot(
    session: Session,
    principal: Principal,
    lot_id: int,
    *,
    quantity_on_hand: Decimal | str | None = None,
    delta: Decimal | str | None = None,
    reason: str,
) -> LotDTO:
    """Set a package's on-hand quantity (a count) or change it by `delta` (e.g. -2 for damage).

    Refused if on hand would go below what open orders have reserved on that package.
    """
    begin_read_committed(session)
    if (quantity_on_hand is None) == (delta is None):
        raise ValidationError("Give either the new on-hand quantity or a change, not both.", "quantity_on_hand")
    why = clean_text(reason, "reason", max_len=255, required=True, label="a reason for the adjustment")
    lid = parse_int(lot_id, "lot_id")
    lot = session.get(InventoryLot, lid)
    product = session.get(Product, lot.product_id) if lot else None
    authorize_party(
        principal, "inventory.manage", [product.entity_id if product else None], "That package was not found."
    )
    stock = StockLock(session, [product.id])
    lot = stock.lots_by_id[lid]
    if quantity_on_hand is not None:
        new = parse_quantity(quantity_on_hand, "quantity_on_hand", allow_zero=True)
    else:
        change = parse_signed_quantity(delta, "delta")
        new = lot.quantity_on_hand + change
        if new < 0:
            raise ValidationError(
                f"Package {lot.package_label} has only {fmt_qty(lot.quantity_on_hand)} on hand.", "delta"
            )
    before = lot.quantity_on_hand
    stock.set_on_hand(lot, new)
    stock.settle()
    emit(
        session,
        "inventory.adjusted",
        entity_ids=[product.entity_id],
        payload={
            "lot_id": lot.id,
            "package_label": lot.package_label,
            "product_id": product.id,
            "before": str(before),
            "after": str(new),
            "reason": why,
        },
    )
    license = session.get(License, lot.license_id)
    return _lot_dto(lot, product, license)


def list_lots(
    session: Session, principal: Principal, *, product_id: int | None = None, license_id: int | None = None
) -> list[LotDTO]:
    """The principal's own packages (optionally of one product / under one license), newest first.

    Every member may look ("catalog.view"); changing stock needs "inventory.manage"."""
    entity_id = require_member(principal)
    authorize(principal, "catalog.view", entity_id)
    stmt = (
        select(InventoryLot, Product, License)
        .join(Product, Product.id == InventoryLot.product_id)
        .join(License, License.id == InventoryLot.license_id)
        .where(Product.entity_id == entity_id)
    )
    if product_id is not None:
        stmt = stmt.where(Product.id == parse_int(product_id, "product_id"))
    if license_id is not None:
        stmt = stmt.where(License.id == parse_int(license_id, "license_id"))
    rows = session.execute(stmt.order_by(InventoryLot.id.desc())).all()
    return [_lot_dto(lot, product, license) for lot, product, license in rows]
