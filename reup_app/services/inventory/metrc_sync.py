"""METRC packages -> ReUp inventory lots, one window of packages per transaction (the package sync job
calls `apply_packages` inside `SyncContext.commit`, so the lots and the cursor move together).

Rules:
- a package whose label is a lot of this license updates it: quantity, lab state, on hold, expiry;
  a finished (inactive) package holds 0;
- METRC holding less than ReUp has reserved is a conflict: on hand stays at the reserved quantity so
  nothing more is sold (available 0, never negative), and an `InventoryConflict` tells the seller;
  it resolves itself once METRC holds enough again;
- a package whose item the seller has mapped to a product becomes a new lot of that product;
- any other package is kept in `metrc_packages` until the seller maps its item (metrc_mapping.py);
- every product whose stock or sellability moved gets one "inventory.changed" event per seller.

Locking follows `StockLock`'s order (products ascending, then lots ascending, FOR UPDATE), but only
the lots named in the window are read, so a window costs a few statements whatever the stock size
(`metrc_sync_sql.py`: one statement per read or write). Lot and product writes are bulk statements, so the per-row ORM audit listener does not see them
(it never did: the earlier code wrote them with bulk statements too): stock figures from METRC are
derived data, the window's SyncRun counts record them; conflicts are ORM rows and are audited.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col

from reup_app.events import emit
from reup_app.integrations.metrc.records import Package
from reup_app.models import License, Product
from reup_app.models.enums import LabTestState
from reup_app.models.metrc_sync import InventoryConflict, MetrcPackage
from reup_app.models.types import utcnow
from reup_app.services.common import ZERO, fmt_qty, load_columns
from reup_app.services.inventory import metrc_sync_sql as sql

# METRC LabTestingState -> ReUp LabTestState (unknown states count as not yet tested: never sellable as passed)
LAB_STATES = {
    "testpassed": LabTestState.PASSED,
    "retestpassed": LabTestState.PASSED,
    "testfailed": LabTestState.FAILED,
    "retestfailed": LabTestState.FAILED,
    "notsubmitted": LabTestState.NOT_SUBMITTED,
    "submittedfortesting": LabTestState.SUBMITTED,
    "testinginprogress": LabTestState.SUBMITTED,
    "awaitingconfirmation": LabTestState.SUBMITTED,
    "notrequired": LabTestState.NOT_REQUIRED,
}


def lab_state(metrc_state: str | None) -> str:
    return str(LAB_STATES.get((metrc_state or "").replace(" ", "").lower(), LabTestState.NOT_SUBMITTED))


def expiry(package: Package) -> date | None:
    text = (package.expiration_date or "")[:10]
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def metrc_quantity(package: Package) -> Decimal:
    """What METRC says is sellable: nothing once the package is finished/transferred/archived."""
    if package.is_finished or package.archived or package.quantity is None:
        return ZERO
    return max(package.quantity, ZERO)


@dataclass(frozen=True)
class SyncTarget:
    """The license a connection syncs packages for."""

    connection_id: int
    entity_id: int
    license_id: int


@dataclass
class WindowResult:
    seen: int = 0
    updated: int = 0
    created: int = 0
    unmatched: int = 0
    conflicts: int = 0
    product_ids: set[int] = field(default_factory=set)

    @property
    def changed(self) -> int:
        return self.updated + self.created + self.unmatched


def conflict_message(label: str, metrc_qty: Decimal, reserved: Decimal) -> str:
    return (
        f"METRC now holds {fmt_qty(metrc_qty)} of package {label}, but {fmt_qty(reserved)} are reserved "
        f"for open orders: {fmt_qty(reserved - metrc_qty)} can't be filled from this package and nothing more "
        f"will be sold from it. Edit or reject the affected orders, or correct the package in METRC."
    )


def _latest_by_label(packages: list[Package]) -> dict[str, Package]:
    """One package per label: the last one listed wins (inactive is fetched after active)."""
    return {p.label: p for p in packages}


def _lot_values(pkg: Package, on_hand: Decimal, reserved: Decimal) -> dict[str, Any]:
    return {
        "quantity_on_hand": on_hand,
        "quantity_reserved": reserved,
        "quantity_available": on_hand - reserved,
        "lab_test_state": lab_state(pkg.lab_testing_state),
        "on_hold": bool(pkg.is_on_hold),
        "expires_on": expiry(pkg),
    }


@dataclass(frozen=True)
class PreparedWindow:
    """A window's packages with what ReUp derives from each (quantity, lab state, hold, expiry, item),
    computed before the transaction opens: the transaction only looks up, locks and writes."""

    by_label: dict[str, Package]
    qty: dict[str, Decimal]
    values: dict[str, dict[str, Any]]  # label -> the lot columns for nothing reserved
    item: dict[str, str]


def prepare_window(packages: list[Package]) -> PreparedWindow:
    by_label = _latest_by_label(packages)
    qty = {label: metrc_quantity(p) for label, p in by_label.items()}
    return PreparedWindow(
        by_label,
        qty,
        {label: _lot_values(p, qty[label], ZERO) for label, p in by_label.items()},
        {label: _item(p) for label, p in by_label.items()},
    )


def apply_packages(session: Session, target: SyncTarget, packages: list[Package] | PreparedWindow) -> WindowResult:
    """Apply one window of METRC packages for `target` (caller commits). Set-based: the reads come
    first without locks (one for the window's lots and waiting packages, one for the mappings of
    the packages new to ReUp), the rows are built, then products are locked (StockLock's order),
    the window's lots of this license locked and the changed ones written in one statement, new
    lots inserted in one statement, and the products' availability moved in one statement."""
    w = packages if isinstance(packages, PreparedWindow) else prepare_window(packages)
    by_label = w.by_label
    result = WindowResult(seen=len(by_label))
    if not by_label:
        return result
    labels = sorted(by_label)
    found = sql.lookup(session, target.license_id, labels)
    unknown = [x for x in labels if x not in found.lots]
    mapped = sql.mappings(session, target.entity_id, {w.item[x] for x in unknown} - {""})
    now = utcnow()
    new_rows = [
        {
            "product_id": mapped[w.item[x]],
            "license_id": target.license_id,
            "package_label": x,
            **w.values[x],
            "created_at": now,
            "updated_at": now,
        }
        for x in unknown
        if w.item[x] in mapped
    ]
    created = {r["package_label"] for r in new_rows}
    unmatched = [by_label[x] for x in unknown if x not in created]
    products = _lock_products(session, {k.product_id for k in found.lots.values()} | set(mapped.values()))
    deltas: dict[int, Decimal] = defaultdict(lambda: ZERO)
    mine = sorted(k.id for k in found.lots.values() if k.license_id == target.license_id)
    if mine:
        _update_lots(session, target, w, mine, deltas, result)
    sql.insert_lots(session, new_rows)
    for row in new_rows:
        deltas[row["product_id"]] += row["quantity_available"]
    result.created += len(new_rows)
    result.unmatched = _keep_unmatched(session, target, unmatched, found.waiting)
    gone = [found.waiting[x] for x in labels if x in found.waiting and (x in found.lots or x in created)]
    if gone:  # waiting rows of packages that are lots now
        session.execute(delete(MetrcPackage).where(col(MetrcPackage.id).in_(gone)))
    _settle(session, products, deltas, result)
    return result


def _item(pkg: Package) -> str:
    return (pkg.item.name or "").strip() if pkg.item else ""


def _lock_products(session: Session, product_ids: set[int]) -> dict[int, Product]:
    if not product_ids:
        return {}
    rows = session.execute(
        select(Product)
        .options(load_columns(Product, "id", "entity_id", "available_qty"))
        .where(col(Product.id).in_(sorted(product_ids)))
        .order_by(col(Product.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalars()
    return {p.id: p for p in rows}


def _update_lots(
    session: Session,
    target: SyncTarget,
    w: PreparedWindow,
    lot_ids: list[int],
    deltas: dict[int, Decimal],
    result: WindowResult,
) -> None:
    locked = {lot.id: lot for lot in sql.lock_lots(session, target.license_id, lot_ids)}
    now, changes = utcnow(), []
    open_conflicts = _open_conflicts(session, [lot.package_label for lot in locked.values()])
    for lot in locked.values():
        qty, reserved = w.qty[lot.package_label], lot.quantity_reserved
        on_hand = max(qty, reserved)  # below the reserved quantity: keep it, sell nothing more
        values = {
            **w.values[lot.package_label],
            "quantity_on_hand": on_hand,
            "quantity_reserved": reserved,
            "quantity_available": on_hand - reserved,
        }
        if qty < reserved:
            result.conflicts += 1
            _record_conflict(session, target, lot, qty, open_conflicts.get(lot.id))
        elif lot.id in open_conflicts:
            open_conflicts[lot.id].resolved_at = now
            session.add(open_conflicts[lot.id])
        if all(getattr(lot, k) == v for k, v in values.items()):
            continue
        deltas[lot.product_id] += values["quantity_available"] - lot.quantity_available
        if values["on_hold"] != lot.on_hold or values["lab_test_state"] != lot.lab_test_state:
            result.product_ids.add(lot.product_id)  # sellability moved: tell the marketplace even if stock didn't
        changes.append({"id": lot.id, **values, "updated_at": now})
    sql.update_lots(session, changes, locked)
    result.updated += len(changes)


def _open_conflicts(session: Session, labels: list[str]) -> dict[int, InventoryConflict]:
    rows = session.execute(
        select(InventoryConflict).where(
            col(InventoryConflict.package_label).in_(labels), col(InventoryConflict.resolved_at).is_(None)
        )
    ).scalars()
    return {c.lot_id: c for c in rows}


def _record_conflict(
    session: Session, target: SyncTarget, lot: Any, qty: Decimal, existing: InventoryConflict | None
) -> None:
    if existing is not None and existing.metrc_quantity == qty and existing.reserved_quantity == lot.quantity_reserved:
        return
    if existing is not None:
        existing.resolved_at = utcnow()  # superseded by the new figures
        session.add(existing)
    session.add(
        InventoryConflict(
            entity_id=target.entity_id,
            lot_id=lot.id,
            package_label=lot.package_label,
            metrc_quantity=qty,
            reserved_quantity=lot.quantity_reserved,
            message=conflict_message(lot.package_label, qty, lot.quantity_reserved),
        )
    )


def unmatched_row(pkg: Package, target: SyncTarget, now: datetime) -> dict[str, Any]:
    item = pkg.item
    return {
        "entity_id": target.entity_id,
        "license_id": target.license_id,
        "connection_id": target.connection_id,
        "label": pkg.label,
        "metrc_id": pkg.id,
        "item_id": item.id if item else None,
        "item_name": _item(pkg)[:255],
        "strain_name": (item.strain_name or None) if item else None,
        "category": (item.category or None) if item else None,
        "unit_of_measure": pkg.unit_of_measure,
        "quantity": metrc_quantity(pkg),
        "lab_test_state": lab_state(pkg.lab_testing_state),
        "on_hold": bool(pkg.is_on_hold),
        "finished": bool(pkg.is_finished or pkg.archived),
        "expires_on": expiry(pkg),
        "last_modified": pkg.last_modified,
        "updated_at": now,
    }


def _keep_unmatched(session: Session, target: SyncTarget, packages: list[Package], existing: dict[str, int]) -> int:
    if not packages:
        return 0
    now = utcnow()
    rows = [unmatched_row(p, target, now) for p in packages]
    fresh = [{**r, "created_at": now} for r in rows if r["label"] not in existing]
    stale = [{**r, "id": existing[r["label"]]} for r in rows if r["label"] in existing]
    if fresh:
        session.execute(insert(MetrcPackage), fresh)
    if stale:
        session.execute(update(MetrcPackage), stale)
    return len(rows)


def _settle(session: Session, products: dict[int, Product], deltas: dict[int, Decimal], result: WindowResult) -> None:
    """Move Product.available_qty by the lots' change (the rows are locked) and tell each seller which
    products moved."""
    now = utcnow()
    moved = {pid for pid, d in deltas.items() if d != 0} | result.product_ids
    by_entity: dict[int, dict[str, str]] = defaultdict(dict)
    new_qty: dict[int, Decimal] = {}
    for pid in sorted(moved):
        product = products.get(pid)
        if product is None:
            continue
        available = product.available_qty or ZERO
        if deltas.get(pid):
            available = new_qty[pid] = max(ZERO, available + deltas[pid])
        by_entity[product.entity_id][str(pid)] = str(available)
    if new_qty:
        sql.write_available(session, new_qty, now)
        for pid, qty in new_qty.items():  # keep the loaded rows in step without another flush
            set_committed_value(products[pid], "available_qty", qty)
    result.product_ids = moved
    for entity_id, available_by_id in by_entity.items():
        emit(
            session,
            "inventory.changed",
            entity_ids=[entity_id],
            payload={"product_ids": [int(p) for p in available_by_id], "available": available_by_id, "public": True},
        )


def sync_target(session: Session, connection: Any) -> tuple[SyncTarget, str]:
    """The SyncTarget and METRC license number of a METRC connection."""
    number = session.execute(
        select(col(License.number)).where(col(License.id) == connection.license_id)
    ).scalar_one_or_none()
    if not number:
        raise LookupError(f"connection {connection.id} has no license")
    return SyncTarget(connection.id, connection.entity_id, connection.license_id), number
