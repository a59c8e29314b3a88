"""The Dutchie sync's writes for one store (system work, called by jobs/dutchie_sync.py inside its
fenced transactions): products, the on-hand snapshot and one day's unit sales. Bulk statements
(INSERT ... ON DUPLICATE KEY UPDATE in chunks), so a 50,000-row snapshot is a few round trips."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from reup_app.integrations.dutchie.records import InventoryItem, ProductDetail, Transaction
from reup_app.models import PosDailySales, PosProduct
from reup_app.models.types import utcnow

CHUNK = 2000
PRODUCT_FIELDS = ("sku", "name", "brand_name", "category", "unit_cost", "active", "last_modified", "updated_at")
STOCK_FIELDS = ("sku", "name", "brand_name", "category", "package_label", "on_hand", "unit_cost", "updated_at")


def upsert(session: Session, model: Any, rows: Sequence[dict[str, Any]], update_fields: Iterable[str]) -> int:
    """Insert rows, updating `update_fields` of rows whose unique key exists; returns the rows sent."""
    fields = list(update_fields)
    table = model.__table__
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        if session.get_bind().dialect.name == "mysql":  # executemany: the driver sends multi-row VALUES
            mine = mysql_insert(table)
            session.execute(mine.on_duplicate_key_update({f: mine.inserted[f] for f in fields}), list(chunk))
        else:
            lite = sqlite_insert(table).values(chunk)
            keys = [c.name for c in next(c for c in table.constraints if c.name and c.name.startswith("uq_")).columns]
            session.execute(lite.on_conflict_do_update(index_elements=keys, set_={f: lite.excluded[f] for f in fields}))
    return len(rows)


def apply_products(session: Session, license_id: int, products: Sequence[ProductDetail]) -> int:
    now = utcnow()
    rows = [
        {
            "license_id": license_id,
            "pos_product_id": p.product_id,
            "sku": p.sku[:64],
            "name": p.name[:255],
            "brand_name": p.brand_name[:128],
            "category": p.category[:64],
            "unit_cost": p.unit_cost,
            "active": p.is_active,
            "last_modified": p.last_modified,
            "on_hand": Decimal(0),
            "match_rule": "none",
            "updated_at": now,
        }  # fmt: skip
        for p in products
    ]
    return upsert(session, PosProduct, rows, PRODUCT_FIELDS)


def apply_snapshot(session: Session, license_id: int, items: Iterable[InventoryItem]) -> int:
    """The whole on-hand snapshot: quantities summed per product (its packages), every product not in
    the snapshot set to 0; returns the products written."""
    per: dict[int, dict[str, Any]] = {}
    now = utcnow()
    for item in items:
        row = per.get(item.product_id)
        if row is None:
            per[item.product_id] = {
                "license_id": license_id, "pos_product_id": item.product_id, "sku": item.sku[:64],
                "name": item.product_name[:255], "brand_name": item.brand_name[:128], "category": item.category[:64],
                "package_label": (item.external_package_id or None) and item.external_package_id[:32],
                "on_hand": item.quantity_available, "unit_cost": item.unit_cost, "active": True,
                "match_rule": "none", "updated_at": now,
            }  # fmt: skip
        else:
            row["on_hand"] += item.quantity_available
    session.execute(  # rows already at 0 are left alone (the upsert below sets what the snapshot holds)
        update(PosProduct)
        .where(col(PosProduct.license_id) == license_id, col(PosProduct.on_hand) != 0)
        .values(on_hand=Decimal(0))
        .execution_options(synchronize_session=False)
    )
    return upsert(session, PosProduct, list(per.values()), STOCK_FIELDS)


def day_rows(license_id: int, day: date, transactions: Iterable[Transaction]) -> list[dict[str, Any]]:
    units: dict[int, Decimal] = defaultdict(Decimal)
    revenue: dict[int, Decimal] = defaultdict(Decimal)
    for tx in transactions:
        if tx.is_void or tx.is_return:
            continue
        for item in tx.items:
            if item.is_returned:
                continue
            units[item.product_id] += item.quantity
            revenue[item.product_id] += item.total_price
    return [
        {"license_id": license_id, "pos_product_id": pid, "day": day, "units": qty, "revenue": revenue[pid]}
        for pid, qty in units.items()
    ]


def replace_day(session: Session, license_id: int, day: date, transactions: Iterable[Transaction]) -> int:
    """One day's unit sales per product, replacing what an earlier sync wrote for that day (a void
    since then drops out)."""
    rows = day_rows(license_id, day, transactions)
    session.execute(
        delete(PosDailySales).where(col(PosDailySales.license_id) == license_id, col(PosDailySales.day) == day)
    )
    if rows:
        session.execute(PosDailySales.__table__.insert(), rows)  # type: ignore[attr-defined]  # SQLModel tables have __table__
    return len(rows)
