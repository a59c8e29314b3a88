"""A wholesaler's own catalog: list, create, edit, archive and unarchive its products.

Every write is authorized with "catalog.manage" on the product's entity (loaded from the DB); a
product of another entity is reported as not found, so ids can't be probed. Reading the own list
needs "catalog.view" (every member). `products.search_text` is kept in step with
`product_search_text(name, brand, strain, sku)` on every write, exactly as the seed does.

Field validation collects every problem at once: `ProductFieldErrors.errors` maps a field name to
its message, so a form can show each next to its input (and the CSV import names the column).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlmodel import Session, col

from reup_app.errors import NotFound, ValidationError
from reup_app.events import emit
from reup_app.models import Brand, Entity, Product
from reup_app.models.catalog import product_search_text
from reup_app.models.enums import PUBLIC_LISTING_STATES, EntityStatus, ListingState
from reup_app.models.types import utcnow
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services.catalog.product_fields import (
    FIELDS,
    LISTING_STATES,
    ProductFieldErrors,
    ProductFields,
    parse_product_fields,
)
from reup_app.services.common import (
    authorize_party,
    fmt_qty,
    get_row,
    parse_int,
    require_member,
)

MAX_PAGE_SIZE = 200
MAX_SEARCH = 100

_PUBLIC = {str(s) for s in PUBLIC_LISTING_STATES}


@dataclass(frozen=True)
class ProductRow(ProductFields):
    """One of the seller's own products (any listing state): its fields plus id and stock."""

    id: int
    available_qty: Decimal
    updated_at: datetime

    def as_fields(self) -> dict[str, str]:
        """The row as form/CSV text values (blank for none)."""
        out = {}
        for name in FIELDS:
            value = getattr(self, name)
            out[name] = "" if value is None else (fmt_qty(value) if isinstance(value, Decimal) else str(value))
        return out


@dataclass(frozen=True)
class ProductPage:
    items: list[ProductRow]
    total: int
    counts: dict[str, int]  # listing state -> number of products (ignores the filters)


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# Reads
# --------------------------------------------------------------------------------------------


def _row(product: Product, brand: str | None) -> ProductRow:
    return ProductRow(
        id=product.id,
        sku=product.sku,
        name=product.name,
        brand=brand,
        category=product.category,
        strain_name=product.strain_name,
        strain_type=product.strain_type,
        thc_percent=product.thc_percent,
        cbd_percent=product.cbd_percent,
        unit_of_measure=product.unit_of_measure,
        unit_price=product.unit_price,
        case_size=product.case_size,
        case_price=product.case_price,
        min_order_qty=product.min_order_qty,
        listing_state=product.listing_state,
        description=product.description,
        available_qty=product.available_qty,
        updated_at=product.updated_at,
    )


def _like_escape(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_own_products(
    session: Session,
    principal: Principal,
    *,
    text: str = "",
    listing_state: str = "",
    page: int = 1,
    page_size: int = 50,
) -> ProductPage:
    """The principal's entity's products in every listing state, by name; filter by text and state."""
    entity_id = require_member(principal)
    authorize(principal, "catalog.view", entity_id)
    if not isinstance(text, str) or len(text) > MAX_SEARCH:
        raise ValidationError(f"Search text must be at most {MAX_SEARCH} characters.", "text")
    state = listing_state.strip().lower() if isinstance(listing_state, str) else None
    if state is None or (state and state not in LISTING_STATES):
        raise ValidationError("Unknown listing state.", "listing_state")
    page, page_size = parse_int(page, "page"), parse_int(page_size, "page_size")
    if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValidationError("Invalid page.", "page")
    conds = [col(Product.entity_id) == entity_id]
    if state:
        conds.append(col(Product.listing_state) == state)
    for word in text.lower().split()[:10]:
        pattern = f"%{_like_escape(word)}%"
        conds.append(
            or_(col(Product.search_text).like(pattern, escape="\\"), col(Product.sku).like(pattern, escape="\\"))
        )
    total = session.execute(select(func.count(col(Product.id))).where(*conds)).scalar_one()
    rows = session.execute(
        select(Product, col(Brand.name))
        .outerjoin(Brand, col(Brand.id) == col(Product.brand_id))
        .where(*conds)
        .order_by(col(Product.name), col(Product.id))
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    counts = dict(
        session.execute(
            select(col(Product.listing_state), func.count(col(Product.id)))
            .where(col(Product.entity_id) == entity_id)
            .group_by(Product.listing_state)
        ).all()
    )
    return ProductPage(
        items=[_row(p, b) for p, b in rows], total=int(total), counts={s: int(counts.get(s, 0)) for s in LISTING_STATES}
    )


def own_product(
    session: Session, principal: Principal, product_id: Any, action: str = "catalog.manage", *, lock: bool = False
) -> Product:
    """A product of the principal's entity, authorized for `action` (NotFound for anyone else's)."""
    pid = parse_int(product_id, "product_id")
    stmt = select(Product).where(col(Product.id) == pid)
    product = session.execute(stmt.with_for_update() if lock else stmt).scalars().first()
    authorize_party(principal, action, [product.entity_id if product else None], "That product was not found.")
    if product is None:  # only the system principal gets here
        raise NotFound("That product was not found.")
    return product


def _brand_name(session: Session, product: Product) -> str | None:
    return get_row(session, Brand, product.brand_id).name if product.brand_id else None


def get_own_product(session: Session, principal: Principal, product_id: int) -> ProductRow:
    product = own_product(session, principal, product_id, "catalog.view")
    return _row(product, _brand_name(session, product))


# --------------------------------------------------------------------------------------------
# Writes
# --------------------------------------------------------------------------------------------


def brand_for(session: Session, entity_id: int, name: str | None, cache: dict[str, int] | None = None) -> int | None:
    """The id of the entity's brand called `name` (case-insensitive), created when missing."""
    if not name:
        return None
    key = name.lower()
    if cache is not None and key in cache:
        return cache[key]
    brand = (
        session.execute(select(Brand).where(col(Brand.entity_id) == entity_id, func.lower(col(Brand.name)) == key))
        .scalars()
        .first()
    )
    if brand is None:
        brand = Brand(entity_id=entity_id, name=name)
        session.add(brand)
        session.flush()
    if cache is not None:
        cache[key] = brand.id
    return brand.id


def sku_taken(session: Session, entity_id: int, sku: str, except_id: int | None = None) -> bool:
    conds = [col(Product.entity_id) == entity_id, col(Product.sku) == sku]
    if except_id is not None:
        conds.append(col(Product.id) != except_id)
    return session.execute(select(col(Product.id)).where(*conds).limit(1)).first() is not None


def apply_fields(session: Session, product: Product, values: ProductFields, brand_id: int | None) -> None:
    """Copy validated values onto a product and refresh its search text."""
    for name in FIELDS:
        if name != "brand":
            setattr(product, name, getattr(values, name))
    product.brand_id = brand_id
    product.search_text = product_search_text(values.name, values.brand, values.strain_name, values.sku)
    product.updated_at = utcnow()
    session.add(product)


def emit_products_changed(session: Session, entity_id: int, product_ids: list[int]) -> None:
    """Tell listeners (marketplace, seller pages) which products' details changed."""
    if product_ids:
        emit(session, "product.changed", entity_ids=[entity_id], payload={"product_ids": sorted(product_ids)})


def create_product(session: Session, principal: Principal, raw: Mapping[str, Any]) -> ProductRow:
    """Add a product to the principal's catalog (no stock yet: add inventory lots for that)."""
    entity_id = require_member(principal)
    authorize(principal, "catalog.manage", entity_id)
    values = parse_product_fields(raw)
    if sku_taken(session, entity_id, values.sku):
        raise ProductFieldErrors({"sku": f"You already have a product with SKU {values.sku}."})
    product = Product(
        entity_id=entity_id, sku=values.sku, name=values.name, category=values.category, unit_price=values.unit_price
    )
    apply_fields(session, product, values, brand_for(session, entity_id, values.brand))
    session.flush()
    emit_products_changed(session, entity_id, [product.id])
    return _row(product, values.brand)


def update_product(session: Session, principal: Principal, product_id: int, raw: Mapping[str, Any]) -> ProductRow:
    """Replace a product's details (stock is managed through inventory lots, not here)."""
    product = own_product(session, principal, product_id, lock=True)
    values = parse_product_fields(raw)
    if sku_taken(session, product.entity_id, values.sku, except_id=product.id):
        raise ProductFieldErrors({"sku": f"You already have another product with SKU {values.sku}."})
    apply_fields(session, product, values, brand_for(session, product.entity_id, values.brand))
    emit_products_changed(session, product.entity_id, [product.id])
    return _row(product, values.brand)


def archive_product(session: Session, principal: Principal, product_id: int) -> ProductRow:
    """Take a product off every list (its orders and lots stay)."""
    return _set_state(session, principal, product_id, ListingState.ARCHIVED)


def unarchive_product(session: Session, principal: Principal, product_id: int) -> ProductRow:
    """Bring an archived product back as *internal*: the seller checks it before listing it again."""
    product = own_product(session, principal, product_id, lock=True)
    if product.listing_state != ListingState.ARCHIVED:
        raise ValidationError(f"{product.name} is not archived.", "listing_state")
    return _set_state(session, principal, product.id, ListingState.INTERNAL)


def _set_state(session: Session, principal: Principal, product_id: int, state: str) -> ProductRow:
    product = own_product(session, principal, product_id, lock=True)
    if product.listing_state != state:
        product.listing_state = str(state)
        product.updated_at = utcnow()
        session.add(product)
        emit_products_changed(session, product.entity_id, [product.id])
    return _row(product, _brand_name(session, product))


def is_public(product: Product) -> bool:
    return product.listing_state in _PUBLIC


def on_marketplace() -> list[Any]:
    """SQL conditions of a product buyers see on the marketplace: a public listing state and an
    approved seller (the statement joins the product's Entity)."""
    return [col(Product.listing_state).in_(_PUBLIC), col(Entity.status) == EntityStatus.APPROVED.value]


__all__ = [
    "ProductPage",
    "ProductRow",
    "apply_fields",
    "archive_product",
    "brand_for",
    "create_product",
    "emit_products_changed",
    "get_own_product",
    "is_public",
    "on_marketplace",
    "list_own_products",
    "own_product",
    "sku_taken",
    "unarchive_product",
    "update_product",
]
