"""CSV export and import of a wholesaler's own products (matched by SKU).

Export: one row per product in every listing state, the columns of `products.FIELDS`; text that a
spreadsheet would run as a formula (starting with = + - @) is prefixed with "'", and the import
removes that prefix again, so an export imports back unchanged.

Import: comma-, semicolon- or tab-separated (whichever the header line uses); the first line names the columns (field names like `unit_price` or their labels like
"Unit price"); `sku`, `name`, `category` and `unit_price` are required. A row whose SKU exists
updates that product (columns absent from the file keep their values); any other row creates a
product. Every row is validated first; the good rows are saved, each bad row is reported as
(row number in the file, column, problem) and changes nothing. A file that can't be read at all
(not UTF-8 text, too large, no required header) is refused with one message and changes nothing.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from reup_app.errors import Conflict, ValidationError
from reup_app.models import Brand, Product
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services.catalog.product_fields import (
    FIELD_LABELS,
    FIELDS,
    REQUIRED_FIELDS,
    ProductFieldErrors,
    parse_product_fields,
)
from reup_app.services.catalog.products import apply_fields, brand_for, emit_products_changed
from reup_app.services.common import require_member

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_TEXT_FIELDS = {"name", "brand", "strain_name", "description"}
_HEADER_ALIASES: dict[str, str] = {}
for _f, _label in FIELD_LABELS.items():
    for _alias in (_f, _label, _label.replace(" %", "_percent"), _label.replace(" ", "_")):
        _HEADER_ALIASES[_alias.strip().lower().replace(" ", "_")] = _f
_HEADER_ALIASES.update(
    {
        "thc": "thc_percent",
        "cbd": "cbd_percent",
        "moq": "min_order_qty",
        "price": "unit_price",
        "unit": "unit_of_measure",
        "strain": "strain_name",
        "state": "listing_state",
    }
)


@dataclass(frozen=True)
class RowError:
    row: int  # line number in the file (the header is row 1)
    column: str  # the column's header as written in the file ("" for the whole row)
    problem: str


@dataclass
class ImportReport:
    rows: int = 0  # data rows read (blank lines skipped)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def bad_rows(self) -> int:
        return len({e.row for e in self.errors})


# --------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------


def _cell(name: str, value: str) -> str:
    if name in _TEXT_FIELDS and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def export_products_csv(session: Session, principal: Principal) -> str:
    """Every product of the principal's entity as CSV text (header + one row each, by SKU)."""
    entity_id = require_member(principal)
    authorize(principal, "catalog.view", entity_id)
    rows = session.execute(
        select(Product, col(Brand.name))
        .outerjoin(Brand, col(Brand.id) == col(Product.brand_id))
        .where(col(Product.entity_id) == entity_id)
        .order_by(Product.sku)
    ).all()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FIELDS)
    for product, brand in rows:
        values = {name: getattr(product, name) for name in FIELDS if name != "brand"}
        values["brand"] = brand
        writer.writerow([_cell(name, "" if values[name] is None else str(values[name])) for name in FIELDS])
    return out.getvalue()


def error_report_csv(errors: list[RowError]) -> str:
    """The import's problems as CSV: row, column, problem."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["row", "column", "problem"])
    for e in errors:
        writer.writerow([e.row, e.column, _cell("name", e.problem)])
    return out.getvalue()


# --------------------------------------------------------------------------------------------
# Import
# --------------------------------------------------------------------------------------------


def _decode(data: Any) -> str:
    if not isinstance(data, (bytes, bytearray)):
        raise ValidationError("Choose a CSV file to import.", "file")
    if not data.strip():
        raise ValidationError("The file is empty.", "file")
    if len(data) > MAX_BYTES:
        raise ValidationError(
            f"The file is {len(data) / 1024 / 1024:.1f} MB; the limit is "
            f"{MAX_BYTES // 1024 // 1024} MB. Split it into smaller files.",
            "file",
        )
    if b"\x00" in data[:8192]:
        raise ValidationError("That is not a CSV file (it contains binary data). Export your sheet as CSV.", "file")
    try:
        return bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValidationError(
            f'The file is not UTF-8 text (bad byte at position {err.start}). Save it as "CSV UTF-8" and try again.',
            "file",
        ) from None


def _header(cells: list[str]) -> tuple[dict[int, str], list[str]]:
    """column index -> field; and the headers that name no field."""
    columns: dict[int, str] = {}
    ignored: list[str] = []
    for i, cell in enumerate(cells):
        key = cell.strip().lower().replace(" ", "_")
        name = _HEADER_ALIASES.get(key)
        if name is None or name in columns.values():
            if cell.strip():
                ignored.append(cell.strip())
            continue
        columns[i] = name
    missing = [f for f in REQUIRED_FIELDS if f not in columns.values()]
    if missing:
        raise ValidationError(
            "The first line must name the columns; missing required column"
            f"{'s' if len(missing) > 1 else ''}: {', '.join(missing)}. Expected columns: {', '.join(FIELDS)}.",
            "file",
        )
    return columns, ignored


def _unformula(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:2] in _FORMULA_START else value


def import_products_csv(session: Session, principal: Principal, data: bytes) -> ImportReport:
    """Create/update the principal's products from CSV bytes; see the module docstring."""
    entity_id = require_member(principal)
    authorize(principal, "catalog.manage", entity_id)
    lines = _csv_lines(data)
    columns, ignored = _header(lines[0])
    header_text = {i: lines[0][i].strip() for i in columns}
    column_of = {name: header_text[i] for i, name in columns.items()}
    report = ImportReport(ignored_columns=ignored)
    data_rows = [(n, cells) for n, cells in enumerate(lines[1:], start=2) if any(c.strip() for c in cells)]
    if len(data_rows) > MAX_ROWS:
        raise ValidationError(f"The file has {len(data_rows):,} rows; the limit is {MAX_ROWS:,} per import.", "file")
    report.rows = len(data_rows)

    existing = {
        p.sku: p
        for p in session.execute(select(Product).where(col(Product.entity_id) == entity_id).with_for_update()).scalars()
    }
    brand_names = dict(session.execute(select(col(Brand.id), col(Brand.name)).filter_by(entity_id=entity_id)).all())
    seen: dict[str, int] = {}
    brand_cache: dict[str, int] = {}
    changed: list[Product] = []
    for row_no, cells in data_rows:
        raw = {name: _unformula(cells[i]) if i < len(cells) else "" for i, name in columns.items()}
        sku = (raw.get("sku") or "").strip()
        current = existing.get(sku)
        if current is not None:  # columns the file doesn't have keep their values
            raw = _with_current_values(raw, current, brand_names)
        try:
            values = parse_product_fields(raw)
        except ProductFieldErrors as err:
            report.errors.extend(
                RowError(row_no, column_of.get(f, FIELD_LABELS.get(f, f)), msg) for f, msg in err.errors.items()
            )
            continue
        if values.sku in seen:
            report.errors.append(
                RowError(row_no, column_of["sku"], f"SKU {values.sku} already appears on row {seen[values.sku]}.")
            )
            continue
        seen[values.sku] = row_no
        product = current or Product(
            entity_id=entity_id,
            sku=values.sku,
            name=values.name,
            category=values.category,
            unit_price=values.unit_price,
        )
        if current is not None and _same(current, values, brand_names.get(current.brand_id)):
            report.unchanged += 1
            continue
        apply_fields(session, product, values, brand_for(session, entity_id, values.brand, brand_cache))
        changed.append(product)
        if current is None:
            existing[values.sku] = product
            report.created += 1
        else:
            report.updated += 1
    _save_import(session, entity_id, changed)
    return report


# Magic bytes of files people pick by mistake (or on purpose) for a CSV import.
_BINARY_MAGIC = {
    b"PK\x03\x04": "a spreadsheet or ZIP file (save it as CSV first)",
    b"\xd0\xcf\x11\xe0": "an old Excel/Office file (save it as CSV first)",
    b"%PDF": "a PDF",
    b"\x89PNG": "an image",
    b"\xff\xd8\xff": "an image",
    b"GIF8": "an image",
    b"\x7fELF": "a program",
    b"MZ": "a program",
    b"\x1f\x8b": "a compressed file",
}


def check_csv_content(data: bytes) -> None:
    """Refuse a file whose bytes are not text, whatever its name says (checked by content)."""
    for magic, what in _BINARY_MAGIC.items():
        if data.startswith(magic):
            raise ValidationError(f"That file is {what}, not a CSV file. Nothing was imported.", "file")
    if b"\x00" in data[:65536]:
        raise ValidationError("That file is not a text (CSV) file. Nothing was imported.", "file")


def _csv_lines(data: bytes) -> list[list[str]]:
    """The file's rows as cells, in the delimiter its header uses."""
    check_csv_content(data)
    text = _decode(data)
    first = text.split("\n", 1)[0]
    # Spreadsheets in some locales save "CSV" with semicolons (or tabs); the header tells which.
    delimiter = max((",", ";", "\t"), key=first.count)
    try:
        lines = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error as err:
        raise ValidationError(f"The file is not valid CSV ({err}). Nothing was imported.", "file") from None
    if not lines:
        raise ValidationError("The file is empty.", "file")
    return lines


def _with_current_values(raw: dict[str, str], current: Product, brand_names: dict[int, str]) -> dict[str, Any]:
    """The row's cells over the product's current values, so that missing columns keep them."""
    base: dict[str, Any] = {name: getattr(current, name) for name in FIELDS if name != "brand"}
    base["brand"] = brand_names.get(current.brand_id) if current.brand_id is not None else None
    base.update(raw)
    return base


def _save_import(session: Session, entity_id: int, changed: list[Product]) -> None:
    """Write the whole file's changes in one flush, then tell listeners which products changed."""
    try:
        session.flush()  # one round of INSERT/UPDATEs for the whole file
    except IntegrityError:
        raise Conflict(
            "Someone else changed these products at the same time; nothing was imported. Try again."
        ) from None
    emit_products_changed(session, entity_id, [p.id for p in changed])


def _same(product: Product, values, brand: str | None) -> bool:
    return all(getattr(product, name) == getattr(values, name) for name in FIELDS if name != "brand") and (
        brand or None
    ) == (values.brand or None)


__all__ = [
    "MAX_BYTES",
    "MAX_ROWS",
    "ImportReport",
    "RowError",
    "error_report_csv",
    "export_products_csv",
    "import_products_csv",
]
