"""Saved order guides: a store's usual products with par quantities, added to the cart in one click."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from reup_app.models.types import qty_field, str_field, ts_field


class OrderGuide(SQLModel, table=True):
    """One named guide of a buying business, for one of its stores (a receiving license)."""

    __tablename__ = "order_guides"
    __table_args__ = (UniqueConstraint("buyer_entity_id", "license_id", "name", name="uq_order_guides_store_name"),)

    id: int = Field(default=None, primary_key=True)
    buyer_entity_id: int = Field(foreign_key="entities.id", index=True)
    license_id: int = Field(foreign_key="licenses.id")
    name: str = str_field(80)
    created_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = ts_field()
    updated_at: datetime = ts_field()


class OrderGuideItem(SQLModel, table=True):
    __tablename__ = "order_guide_items"
    __table_args__ = (
        UniqueConstraint("guide_id", "product_id", name="uq_order_guide_items_guide_product"),
        CheckConstraint("par_qty > 0", name="ck_order_guide_items_par_positive"),
    )

    id: int = Field(default=None, primary_key=True)
    guide_id: int = Field(foreign_key="order_guides.id", index=True)
    product_id: int = Field(foreign_key="products.id")
    par_qty: Decimal = qty_field()
    created_at: datetime = ts_field()
