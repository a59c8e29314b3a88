"""What the Dutchie POS sync keeps per store (a retail license): the store's POS products with their
on-hand and the marketplace product each is matched to, its daily unit sales per product, and the
store's reorder and sharing settings."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from reup_app.models.types import money_field, opt_ts_field, qty_field, str_field, ts_field


class PosProduct(SQLModel, table=True):
    """One product of a store's POS (Dutchie productId), its on-hand, and its marketplace match."""

    __tablename__ = "pos_products"
    __table_args__ = (
        UniqueConstraint("license_id", "pos_product_id", name="uq_pos_products_license_pos"),
        Index("ix_pos_products_matched", "matched_product_id"),
    )

    id: int = Field(default=None, primary_key=True)
    license_id: int = Field(foreign_key="licenses.id")
    pos_product_id: int
    sku: str = str_field(64, default="")
    name: str = str_field(255, default="")
    brand_name: str = str_field(128, default="")
    category: str = str_field(64, default="")
    package_label: str | None = str_field(32, default=None)  # a METRC tag of its on-hand
    on_hand: Decimal = qty_field()
    unit_cost: Decimal | None = money_field(default=None)
    active: bool = Field(default=True)
    matched_product_id: int | None = Field(default=None, foreign_key="products.id")
    match_rule: str = str_field(16, default="none")  # sku, label, brand_name, manual, none
    # Written by the sales sync (services/pos/store_data.refresh_velocities), read by the suggestions:
    velocity: Decimal = qty_field()  # weighted units per day over the last 28 full days
    velocity_days: int = Field(default=0)  # days the velocity covers (fewer for a new store)
    trend: str = str_field(128, default="")  # weekly units of the last 12 weeks, oldest first, comma-separated
    last_modified: datetime | None = opt_ts_field()
    updated_at: datetime = ts_field()


class PosDailySales(SQLModel, table=True):
    """Units of one POS product sold at a store on one UTC day (voids and returns left out)."""

    __tablename__ = "pos_daily_sales"
    __table_args__ = (
        UniqueConstraint("license_id", "pos_product_id", "day", name="uq_pos_daily_sales_key"),
        Index("ix_pos_daily_sales_license_day", "license_id", "day"),
    )

    id: int = Field(default=None, primary_key=True)
    license_id: int = Field(foreign_key="licenses.id")
    pos_product_id: int
    day: date
    units: Decimal = qty_field()
    revenue: Decimal = money_field()


class PosStoreSettings(SQLModel, table=True):
    """A store's POS settings: reorder target, sell-through sharing (opt-in), delivery push mode,
    and what /whoami last said about its key."""

    __tablename__ = "pos_store_settings"
    __table_args__ = (UniqueConstraint("license_id", name="uq_pos_store_settings_license"),)

    id: int = Field(default=None, primary_key=True)
    license_id: int = Field(foreign_key="licenses.id")
    target_cover_days: int = Field(default=14)
    share_sell_through: bool = Field(default=False)
    push_mode: str = str_field(16, default="receive")  # receive (draft at delivery) | purchase_order (at acceptance)
    location_name: str | None = str_field(255, default=None)
    location_license: str | None = str_field(64, default=None)
    updated_at: datetime = ts_field()
