"""A seller's lots: create and adjust lots, list them, and the licenses and package labels they carry."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from reup_app.errors import Conflict, ValidationError
from reup_app.events import emit
from reup_app.models import (
    InventoryLot,
    License,
    Product,
)
from reup_app.models.enums import LabTestState, LicenseStatus
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services.common import (
    ZERO,
    authorize_party,
    begin_read_committed,
    clean_text,
    fmt_qty,
    get_row,
    parse_int,
    parse_quantity,
    parse_signed_quantity,
    require_member,
)
from reup_app.services.inventory.lots import StockLock

PACKAGE_LABEL_RE = re.compile(r"^[A-Z0-9]{24}$")


PACKAGE_LABEL_HELP = (
    "Package labels are 24 characters, capital letters and digits only (e.g. 1A4060300002EE1000012345)."
)


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
    rows = session.execute(
        select(License).where(col(License.entity_id) == entity_id).order_by(col(License.number))
    ).scalars()
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
    assert product is not None  # authorize_party raised NotFound for a missing product
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
    license = _own_active_license(session, product, license_id)
    stock = StockLock(session, [product.id])  # lock the product (and its lots) before inserting
    if (
        session.execute(select(col(InventoryLot.id)).where(col(InventoryLot.package_label) == label)).first()
        is not None
    ):
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
    _insert_lot(session, lot)
    stock.track(lot)
    stock.settle()
    return _lot_dto(lot, product, license)


def _own_active_license(session: Session, product: Product, license_id: Any) -> License:
    """One of the product owner's licenses, if active: the license a new package is held under."""
    license = session.get(License, parse_int(license_id, "license_id"))
    if license is None or license.entity_id != product.entity_id:
        raise ValidationError("Choose one of your own licenses for this package.", "license_id")
    if license.status != LicenseStatus.ACTIVE:
        raise ValidationError(f"License {license.number} is not active.", "license_id")
    return license


def _insert_lot(session: Session, lot: InventoryLot) -> None:
    """Insert the lot; Conflict if its package label was taken meanwhile."""
    try:
        with session.begin_nested():
            session.add(lot)
            session.flush()
    except IntegrityError:
        raise Conflict(f"Package label {lot.package_label} is already in use.") from None


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
    assert lot is not None and product is not None  # authorize_party raised NotFound for a missing package
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
    license = get_row(session, License, lot.license_id)
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
        .join(Product, col(Product.id) == col(InventoryLot.product_id))
        .join(License, col(License.id) == col(InventoryLot.license_id))
        .where(col(Product.entity_id) == entity_id)
    )
    if product_id is not None:
        stmt = stmt.where(col(Product.id) == parse_int(product_id, "product_id"))
    if license_id is not None:
        stmt = stmt.where(col(License.id) == parse_int(license_id, "license_id"))
    rows = session.execute(stmt.order_by(col(InventoryLot.id).desc())).all()
    return [_lot_dto(lot, product, license) for lot, product, license in rows]
