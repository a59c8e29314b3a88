"""The set statements of the METRC package sync (`metrc_sync.apply_packages`), one per step.

On MySQL through PyMySQL each statement is rendered once by the driver (`Cursor.mogrify`, its own
escaping, which honours the server's NO_BACKSLASH_ESCAPES mode; numbers are written as PyMySQL
writes them) and sent as it is: a window of hundreds of packages costs a few round trips, one for
each read or write, with no per-row parameter processing, and a value the window's rows share
(license, timestamps) is escaped once. Any other database (SQLite, the embedded default) gets the same statements in
SQLAlchemy's portable form.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text, update
from sqlmodel import Session, col

from reup_app.models import InventoryLot, Product
from reup_app.models.metrc_sync import MetrcItemMapping, MetrcPackage

# inventory_lots columns of a new lot (the rows `metrc_sync.apply_packages` builds)
NEW_LOT_COLUMNS = (
    "product_id",
    "license_id",
    "package_label",
    "quantity_on_hand",
    "quantity_reserved",
    "quantity_available",
    "lab_test_state",
    "on_hold",
    "expires_on",
    "created_at",
    "updated_at",
)
# what the sync changes on a lot it already holds
LOT_CHANGE_COLUMNS = (
    "quantity_on_hand",
    "quantity_reserved",
    "quantity_available",
    "lab_test_state",
    "on_hold",
    "expires_on",
    "updated_at",
)
LOT_KEY_COLUMNS = ("id", "product_id", "license_id", "package_label", "created_at")  # kept as they are
_RAW = {"no_parameters": True}  # the SQL carries its values: the driver must not %-format it


@dataclass(frozen=True)
class KnownLot:
    id: int
    product_id: int
    license_id: int


@dataclass
class Lookup:
    """What the database already holds for a window's labels."""

    lots: dict[str, KnownLot] = field(default_factory=dict)  # label -> the lot with it (any license)
    waiting: dict[str, int] = field(default_factory=dict)  # label -> metrc_packages id (this license)


class _Statement:
    """One MySQL statement built from SQL text and values: numbers inline, NULL, anything else a %s
    placeholder the driver escapes when `sql()` renders the whole statement."""

    def __init__(self, dbapi: Any) -> None:
        self._cursor = dbapi.cursor()
        self._args: list[Any] = []

    def value(self, value: Any) -> str:
        kind = type(value)
        if kind is int:
            return str(value)
        if kind is Decimal:
            return format(value, "f")  # what PyMySQL renders for a Decimal
        if kind is bool:
            return "1" if value else "0"
        if value is None:
            return "NULL"
        self._args.append(value)
        return "%s"

    def values(self, values: Iterable[Any]) -> str:
        return ", ".join(map(self.value, values))

    def rendered(self, *values: Any) -> str:
        """`values` escaped now (comma separated), for text that repeats them."""
        return str(self._cursor.mogrify(", ".join(["%s"] * len(values)), values)).replace("%", "%%")

    def sql(self, template: str) -> str:
        return str(self._cursor.mogrify(template, tuple(self._args)))


def _statement(session: Session) -> _Statement | None:
    """A statement builder on the session's PyMySQL connection, or None on any other driver."""
    conn = session.connection()
    if conn.dialect.name != "mysql" or conn.dialect.driver != "pymysql":
        return None
    return _Statement(conn.connection.dbapi_connection)


def _run(session: Session, sql: str) -> Any:
    return session.connection().exec_driver_sql(sql, execution_options=_RAW)


def lookup(session: Session, license_id: int, labels: list[str]) -> Lookup:
    """The lots holding any of `labels` and this license's waiting packages among them: one UNION on MySQL."""
    out = Lookup()
    st = _statement(session)
    if st is not None:
        in_labels = st.rendered(*labels)
        rows = _run(
            session,
            st.sql(
                f"SELECT 'l', package_label, id, product_id, license_id FROM inventory_lots "
                f"WHERE package_label IN ({in_labels}) UNION ALL "
                f"SELECT 'w', label, id, 0, 0 FROM metrc_packages WHERE license_id = {st.value(int(license_id))} "
                f"AND label IN ({in_labels})"
            ),
        )
        for kind, label, row_id, product_id, lot_license in rows:
            if kind == "l":
                out.lots[label] = KnownLot(row_id, product_id, lot_license)
            else:
                out.waiting[label] = row_id
        return out
    lots = session.execute(
        select(
            col(InventoryLot.package_label),
            col(InventoryLot.id),
            col(InventoryLot.product_id),
            col(InventoryLot.license_id),
        ).where(col(InventoryLot.package_label).in_(labels))
    )
    out.lots = {label: KnownLot(i, p, lic) for label, i, p, lic in lots}
    waiting = session.execute(
        select(col(MetrcPackage.label), col(MetrcPackage.id)).where(
            col(MetrcPackage.license_id) == license_id, col(MetrcPackage.label).in_(labels)
        )
    )
    out.waiting = {label: row_id for label, row_id in waiting}
    return out


def mappings(session: Session, entity_id: int, names: set[str]) -> dict[str, int]:
    """item name -> product id of the seller's remembered mappings among `names`."""
    if not names:
        return {}
    rows = session.execute(
        select(col(MetrcItemMapping.item_name), col(MetrcItemMapping.product_id)).where(
            col(MetrcItemMapping.entity_id) == entity_id, col(MetrcItemMapping.item_name).in_(sorted(names))
        )
    ).all()
    return {name: pid for name, pid in rows}


def lock_lots(session: Session, license_id: int, lot_ids: list[int]) -> list[Any]:
    """This license's lots among `lot_ids`, locked FOR UPDATE in id order (rows, not ORM objects)."""
    names = (*LOT_KEY_COLUMNS, *LOT_CHANGE_COLUMNS[:-1])
    st = _statement(session)
    if st is not None:
        return list(
            _run(
                session,
                st.sql(
                    f"SELECT {', '.join(names)} FROM inventory_lots WHERE id IN ({st.values(lot_ids)}) "
                    f"AND license_id = {st.value(int(license_id))} ORDER BY id FOR UPDATE"
                ),
            )
        )
    table = InventoryLot.__table__  # type: ignore[attr-defined]  # SQLModel stubs leave out __table__
    return list(
        session.execute(
            select(*(table.c[n] for n in names))
            .where(table.c.id.in_(lot_ids), table.c.license_id == license_id)
            .order_by(table.c.id)
            .with_for_update()
        )
    )


def insert_lots(session: Session, rows: list[dict[str, Any]]) -> None:
    """New lots (`NEW_LOT_COLUMNS` dicts) in one multi-row INSERT."""
    if not rows:
        return
    st = _statement(session)
    if st is None:
        session.connection().execute(InventoryLot.__table__.insert(), rows)  # type: ignore[attr-defined]  # SQLModel stubs leave out __table__
        return
    shared = {n: st.rendered(rows[0][n]) for n in NEW_LOT_COLUMNS if all(r[n] == rows[0][n] for r in rows)}
    values = ", ".join(
        "(" + ", ".join(shared[n] if n in shared else st.value(r[n]) for n in NEW_LOT_COLUMNS) + ")" for r in rows
    )
    _run(session, st.sql(f"INSERT INTO inventory_lots ({', '.join(NEW_LOT_COLUMNS)}) VALUES {values}"))


def update_lots(session: Session, changes: list[dict[str, Any]], locked: dict[int, Any]) -> None:
    """Write `changes` ({id, LOT_CHANGE_COLUMNS...}) to lots this transaction holds locked (`locked`:
    id -> the locked row). On MySQL one INSERT ... ON DUPLICATE KEY UPDATE keyed by id: every id
    exists and is locked, so each row is an update."""
    if not changes:
        return
    st = _statement(session)
    if st is None:
        session.execute(update(InventoryLot), changes)
        return
    values = ", ".join(
        "("
        + ", ".join(
            [
                *(st.value(getattr(locked[c["id"]], k)) for k in LOT_KEY_COLUMNS),
                *(st.value(c[n]) for n in LOT_CHANGE_COLUMNS),
            ]
        )
        + ")"
        for c in changes
    )
    _run(
        session,
        st.sql(
            f"INSERT INTO inventory_lots ({', '.join(LOT_KEY_COLUMNS + LOT_CHANGE_COLUMNS)}) VALUES {values} "
            f"ON DUPLICATE KEY UPDATE {', '.join(f'{n} = VALUES({n})' for n in LOT_CHANGE_COLUMNS)}"
        ),
    )


def write_available(session: Session, new_qty: dict[int, Decimal], now: datetime) -> None:
    """Product.available_qty of the (locked) products in one statement on MySQL: `FORCE INDEX (PRIMARY)`
    keeps it to record locks on exactly these rows (a small table's full scan would lock other sellers'
    rows too); elsewhere by primary key in one executemany."""
    ids = sorted(new_qty)
    if session.get_bind().dialect.name != "mysql":
        session.execute(
            update(Product),
            [{"id": pid, "available_qty": new_qty[pid], "updated_at": now} for pid in ids],
            execution_options={"synchronize_session": False},
        )
        return
    params: dict[str, Any] = {"now": now}
    whens = []
    for i, pid in enumerate(ids):
        params[f"i{i}"], params[f"q{i}"] = pid, new_qty[pid]
        whens.append(f"WHEN :i{i} THEN :q{i}")
    in_list = ", ".join(f":i{i}" for i in range(len(ids)))
    session.execute(
        text(
            f"UPDATE products FORCE INDEX (PRIMARY) SET available_qty = CASE id {' '.join(whens)} END, "
            f"updated_at = :now WHERE id IN ({in_list})"
        ),
        params,
    )
