"""Fulfillment: pick the packages (lots) that fill each order line, by the seller's choice or first-expiring first."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from sqlmodel import Session

from reup_app.errors import ValidationError
from reup_app.models import (
    InventoryLot,
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
)
from reup_app.services.inventory.lots import StockLock, allocations_of


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
        if line.id in requested:
            picks = requested[line.id]
            result.extend(_allocate_picks(session, stock, line, product, mine, picks, order.seller_license_id, today))
        else:
            result.extend(_keep_or_repick(stock, line, mine, order.seller_license_id, today))
    stock.settle()
    return result


def _keep_or_repick(
    stock: StockLock, line: OrderLine, mine: list[OrderLineAllocation], license_id: int, today: date
) -> list[OrderLineAllocation]:
    """A line the seller didn't choose packages for keeps its provisional ones if all still
    shippable, else gets a fresh first-expiring-first pick."""
    kept_ok = sum((a.quantity for a in mine), ZERO) == line.quantity and all(
        a.inventory_lot_id in stock.lots_by_id
        and stock.sellable(stock.lots_by_id[a.inventory_lot_id], license_id, today)
        for a in mine
    )
    if kept_ok:
        return mine
    stock.release(mine)
    return stock.reserve_line(line, license_id)


def _allocate_picks(
    session: Session,
    stock: StockLock,
    line: OrderLine,
    product: Product,
    mine: list[OrderLineAllocation],
    picks: list[tuple[int | None, str | None, Decimal]],
    license_id: int,
    today: date,
) -> list[OrderLineAllocation]:
    """Replace the line's provisional packages with the seller's picks (which must cover the line)."""
    total = sum((q for _, _, q in picks), ZERO)
    if total != line.quantity:
        raise ValidationError(
            f"Packages for {product.name} add up to {fmt_qty(total)}; the line is for {fmt_qty(line.quantity)}.",
            "allocations",
        )
    stock.release(mine)
    merged: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for lot_id, label, qty in picks:
        lot = _picked_lot(stock, line, product, lot_id, label, license_id, today)
        merged[lot.id] += qty
    result = []
    for lot_id, qty in merged.items():
        lot = stock.lots_by_id[lot_id]
        stock.reserve_on(lot, qty)
        alloc = OrderLineAllocation(
            order_line_id=line.id, inventory_lot_id=lot.id, package_label=lot.package_label, quantity=qty
        )
        session.add(alloc)
        result.append(alloc)
    return result


def _picked_lot(
    stock: StockLock,
    line: OrderLine,
    product: Product,
    lot_id: int | None,
    label: str | None,
    license_id: int,
    today: date,
) -> InventoryLot:
    """The lot a pick names (by id or package label), if the line may ship from it."""
    lot = None
    if lot_id is not None:
        lot = stock.lots_by_id.get(lot_id)
    elif label is not None:
        lot = next((x for x in stock.lots.get(line.product_id, []) if x.package_label == label), None)
    if lot is None or lot.product_id != line.product_id or lot.license_id != license_id:
        raise ValidationError(
            f"Package {label or lot_id} is not a package of {product.name} held under this order's license.",
            "allocations",
        )
    if lot.lab_test_state == LabTestState.FAILED:
        raise ValidationError(f"Package {lot.package_label} failed lab testing and can't be shipped.", "allocations")
    if lot.expires_on is not None and lot.expires_on < today:
        raise ValidationError(f"Package {lot.package_label} expired on {lot.expires_on.isoformat()}.", "allocations")
    return lot
