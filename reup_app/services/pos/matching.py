"""Matching a store's POS products to marketplace products: by SKU, then by METRC package label
(the tag on the store's package is a marketplace lot's label), then by brand and name (both
case-insensitive). A mapping the retailer chose on the mapping screen (`manual`) is never
overwritten; what no rule matches waits there."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from reup_app.errors import NotFound, ValidationError
from reup_app.models import Brand, Entity, InventoryLot, PosProduct, Product
from reup_app.models.enums import ListingState
from reup_app.models.types import utcnow
from reup_app.security.principal import Principal
from reup_app.services.pos.connections import _store_license
from reup_app.services.pos.velocity import bulk_update

SELLABLE = [str(ListingState.AVAILABLE), str(ListingState.BACKORDER)]
IN_CHUNK = 1000


def _chunks(values: list, size: int = IN_CHUNK) -> Iterable[list]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _by_sku(session: Session, skus: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in _chunks(skus):
        rows = session.exec(
            select(Product.sku, Product.id)
            .where(col(Product.sku).in_(part), col(Product.listing_state).in_(SELLABLE))
            .order_by(col(Product.id))
        ).all()
        for sku, pid in rows:
            out.setdefault(sku.upper(), pid)
    return out


def _by_label(session: Session, labels: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in _chunks(labels):
        for label, pid in session.exec(
            select(InventoryLot.package_label, InventoryLot.product_id).where(col(InventoryLot.package_label).in_(part))
        ).all():
            out[label.upper()] = pid
    return out


def _by_brand_name(session: Session, names: list[str]) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for part in _chunks(names):
        rows = session.exec(
            select(Brand.name, Product.name, Product.id)
            .join(Brand, col(Brand.id) == col(Product.brand_id))
            .where(col(Product.name).in_(part), col(Product.listing_state).in_(SELLABLE))
            .order_by(col(Product.id))
        ).all()
        for brand, name, pid in rows:
            out.setdefault((brand.strip().lower(), name.strip().lower()), pid)
    return out


def rematch(session: Session, license_id: int) -> dict[str, int]:
    """Run the rules over the store's products not mapped by hand; returns counts per rule."""
    rows = session.execute(
        sa_select(
            col(PosProduct.pos_product_id),
            col(PosProduct.sku),
            col(PosProduct.package_label),
            col(PosProduct.brand_name),
            col(PosProduct.name),
            col(PosProduct.matched_product_id),
            col(PosProduct.match_rule),
        ).where(col(PosProduct.license_id) == license_id, col(PosProduct.match_rule) != "manual")
    ).all()
    skus = _by_sku(session, sorted({r.sku for r in rows if r.sku}))
    labels = _by_label(session, sorted({r.package_label for r in rows if r.package_label}))
    names = _by_brand_name(session, sorted({r.name for r in rows if r.name and r.brand_name}))
    counts = {"sku": 0, "label": 0, "brand_name": 0, "none": 0}
    changes = []
    for r in rows:
        sku, label, brand, name, current, rule = (
            r.sku,
            r.package_label,
            r.brand_name,
            r.name,
            r.matched_product_id,
            r.match_rule,
        )
        found: tuple[int | None, str] = (None, "none")
        if sku and sku.upper() in skus:
            found = (skus[sku.upper()], "sku")
        elif label and label.upper() in labels:
            found = (labels[label.upper()], "label")
        elif brand and name and (brand.strip().lower(), name.strip().lower()) in names:
            found = (names[(brand.strip().lower(), name.strip().lower())], "brand_name")
        counts[found[1]] += 1
        if found != (current, rule):
            changes.append({"pos_product_id": r.pos_product_id, "matched_product_id": found[0], "match_rule": found[1]})
    bulk_update(session, license_id, changes, ["matched_product_id", "match_rule"])
    return counts


@dataclass(frozen=True)
class Unmatched:
    id: int
    sku: str
    name: str
    brand_name: str
    package_label: str
    on_hand: Decimal


@dataclass(frozen=True)
class Candidate:
    product_id: int
    sku: str
    name: str
    seller_name: str
    unit_price: Decimal


def unmatched(session: Session, principal: Principal, license_id: int) -> list[Unmatched]:
    lic = _store_license(session, principal, license_id)
    rows = session.exec(
        select(PosProduct)
        .where(PosProduct.license_id == lic.id, PosProduct.match_rule == "none")
        .order_by(col(PosProduct.name))
    ).all()
    return [Unmatched(r.id, r.sku, r.name, r.brand_name, r.package_label or "", r.on_hand) for r in rows]


def candidates(session: Session, principal: Principal, license_id: int, text: str) -> list[Candidate]:
    """Marketplace products whose name or SKU contains `text` (for the mapping screen)."""
    _store_license(session, principal, license_id)
    needle = (text or "").strip().lower()
    if len(needle) < 2:
        return []
    like = f"%{needle[:100]}%"
    rows = session.exec(
        select(Product, Entity.name)
        .join(Entity, col(Entity.id) == col(Product.entity_id))
        .where(col(Product.listing_state).in_(SELLABLE))
        .where(or_(func.lower(Product.name).like(like), func.lower(Product.sku).like(like)))
        .order_by(col(Product.name))
        .limit(20)
    ).all()
    return [Candidate(p.id, p.sku, p.name, seller, p.unit_price) for p, seller in rows]


def map_product(
    session: Session, principal: Principal, license_id: int, pos_id: int, product_id: int | None
) -> PosProduct:
    """Map a POS product by hand (`manual`), or clear the mapping (None: the rules run again)."""
    lic = _store_license(session, principal, license_id)
    row = session.get(PosProduct, pos_id, with_for_update=True)
    if row is None or row.license_id != lic.id:
        raise NotFound("That POS product does not exist.")
    if product_id is not None:
        product = session.get(Product, product_id)
        if product is None or product.listing_state not in SELLABLE:
            raise ValidationError("That marketplace product is not listed.")
        row.matched_product_id, row.match_rule = product.id, "manual"
    else:
        row.matched_product_id, row.match_rule = None, "none"
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    if product_id is None:
        rematch(session, lic.id)
    return row
