"""Brands, products, images, price tiers and inventory lots (METRC packages)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from reup_app.models.types import (
    money_field,
    percent_field,
    qty_field,
    str_field,
    text_field,
    ts_field,
)


class Brand(SQLModel, table=True):
    __tablename__ = "brands"
    __table_args__ = (UniqueConstraint("entity_id", "name", name="uq_brands_entity_name"),)

    id: int = Field(default=None, primary_key=True)
    entity_id: int = Field(foreign_key="entities.id", index=True)
    name: str = str_field(128)
    created_at: datetime = ts_field()


class Product(SQLModel, table=True):
    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("entity_id", "sku", name="uq_products_entity_sku"),
        Index("ix_products_listing_category_name", "listing_state", "category", "name", "entity_id"),
        Index("ix_products_listing_category_price", "listing_state", "category", "unit_price"),
        Index("ix_products_listing_name", "listing_state", "name"),
        Index("ix_products_listing_price", "listing_state", "unit_price"),
        Index("ix_products_entity_listing", "entity_id", "listing_state"),
        Index("ix_products_sku_listing", "sku", "listing_state"),  # shared SKUs, matching by SKU
        # FULLTEXT on MySQL/MariaDB; a plain index elsewhere (SQLite falls back to LIKE).
        Index("ix_products_search_text", "search_text", mysql_prefix="FULLTEXT"),
    )

    id: int = Field(default=None, primary_key=True)
    entity_id: int = Field(foreign_key="entities.id")  # the selling wholesaler
    brand_id: int | None = Field(default=None, foreign_key="brands.id", index=True)
    sku: str = str_field(64)
    name: str = str_field(255)
    description: str | None = text_field(default=None)
    category: str = str_field(32)  # Category
    strain_name: str | None = str_field(128, default=None)
    strain_type: str = str_field(16, default="none")  # StrainType
    thc_percent: Decimal | None = percent_field()
    cbd_percent: Decimal | None = percent_field()
    unit_of_measure: str = str_field(8, default="each")  # UnitOfMeasure
    case_size: int = Field(default=1)
    unit_price: Decimal = money_field()
    case_price: Decimal | None = money_field(default=None)
    min_order_qty: Decimal = qty_field(default=Decimal("1"))
    listing_state: str = str_field(16, default="available")  # ListingState
    # Denormalised sum of available inventory, kept in step by the inventory service.
    available_qty: Decimal = qty_field()
    # Lower-cased "name brand strain" for search (FULLTEXT-indexed on MySQL).
    search_text: str = str_field(512, default="")
    created_at: datetime = ts_field()
    updated_at: datetime = ts_field()


class ProductImage(SQLModel, table=True):
    """Image bytes live in private storage under `storage_key`, served by an authorized route."""

    __tablename__ = "product_images"

    id: int = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="products.id", index=True)
    storage_key: str = str_field(255, unique=True)
    content_type: str = str_field(64)
    size_bytes: int
    width: int | None = None
    height: int | None = None
    # widths of the stored WebP variants, e.g. "320,800" (services/catalog/thumbnails.py)
    variant_widths: str | None = str_field(32, default=None)
    position: int = Field(default=0)
    created_at: datetime = ts_field()


class PriceTier(SQLModel, table=True):
    __tablename__ = "price_tiers"
    __table_args__ = (UniqueConstraint("seller_entity_id", "name", name="uq_price_tiers_seller_name"),)

    id: int = Field(default=None, primary_key=True)
    seller_entity_id: int = Field(foreign_key="entities.id", index=True)
    name: str = str_field(64)
    created_at: datetime = ts_field()


class PriceTierPrice(SQLModel, table=True):
    __tablename__ = "price_tier_prices"
    __table_args__ = (UniqueConstraint("price_tier_id", "product_id", name="uq_tier_prices_tier_product"),)

    id: int = Field(default=None, primary_key=True)
    price_tier_id: int = Field(foreign_key="price_tiers.id", index=True)
    product_id: int = Field(foreign_key="products.id", index=True)
    unit_price: Decimal = money_field()


class InventoryLot(SQLModel, table=True):
    """One METRC package of a product held under one license."""

    __tablename__ = "inventory_lots"
    __table_args__ = (
        CheckConstraint("quantity_on_hand >= 0", name="ck_inventory_on_hand_nonneg"),
        CheckConstraint("quantity_reserved >= 0", name="ck_inventory_reserved_nonneg"),
        CheckConstraint("quantity_available >= 0", name="ck_inventory_available_nonneg"),
        Index("ix_inventory_product_license", "product_id", "license_id"),
    )

    id: int = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="products.id")
    license_id: int = Field(foreign_key="licenses.id", index=True)
    package_label: str = str_field(32, unique=True)
    batch_number: str | None = str_field(64, default=None)
    quantity_on_hand: Decimal = qty_field()
    quantity_reserved: Decimal = qty_field()
    # on_hand - reserved; kept in step under row lock by the inventory service.
    quantity_available: Decimal = qty_field()
    lab_test_state: str = str_field(32, default="not_submitted")  # LabTestState
    # METRC's isOnHold: a regulator or the licensee froze the package; it can't be sold or shipped.
    on_hold: bool = Field(default=False)
    lab_thc_percent: Decimal | None = percent_field()
    lab_cbd_percent: Decimal | None = percent_field()
    lab_name: str | None = str_field(128, default=None)
    lab_tested_on: date | None = Field(default=None)
    packaged_on: date | None = Field(default=None)
    expires_on: date | None = Field(default=None)
    created_at: datetime = ts_field()
    updated_at: datetime = ts_field()


def product_search_text(name: str, brand: str | None, strain: str | None, sku: str | None = None) -> str:
    """The lower-cased text `Product.search_text` holds; every writer of products uses this."""
    parts = [name, brand or "", strain or "", sku or ""]
    return " ".join(p.strip().lower() for p in parts if p and p.strip())[:512]
