"""What the METRC package sync keeps besides inventory lots: packages whose label ReUp does not know
(waiting for the seller to map their item to a product), the remembered item -> product mappings,
and stock conflicts (METRC holding less than ReUp has reserved)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from reup_app.models.types import opt_ts_field, qty_field, str_field, text_field, ts_field


class MetrcPackage(SQLModel, table=True):
    """A METRC package not yet matched to a ReUp lot (its item has no product mapping yet)."""

    __tablename__ = "metrc_packages"
    __table_args__ = (
        UniqueConstraint("license_id", "label", name="uq_metrc_packages_license_label"),
        Index("ix_metrc_packages_entity_item", "entity_id", "item_name"),
    )

    id: int = Field(default=None, primary_key=True)
    entity_id: int = Field(foreign_key="entities.id")
    license_id: int = Field(foreign_key="licenses.id")
    connection_id: int = Field(foreign_key="integration_connections.id")
    label: str = str_field(32)
    metrc_id: int | None = Field(default=None)
    item_id: int | None = Field(default=None)
    item_name: str = str_field(255, default="")
    strain_name: str | None = str_field(128, default=None)
    category: str | None = str_field(128, default=None)
    unit_of_measure: str | None = str_field(32, default=None)
    quantity: Decimal = qty_field()
    lab_test_state: str = str_field(32, default="not_submitted")  # LabTestState
    on_hold: bool = Field(default=False)
    finished: bool = Field(default=False)
    expires_on: date | None = Field(default=None)
    last_modified: datetime | None = opt_ts_field()
    created_at: datetime = ts_field()
    updated_at: datetime = ts_field()


class MetrcItemMapping(SQLModel, table=True):
    """The seller's choice: packages of this METRC item (by name, per seller) are lots of this product."""

    __tablename__ = "metrc_item_mappings"
    __table_args__ = (UniqueConstraint("entity_id", "item_name", name="uq_metrc_item_mappings_entity_item"),)

    id: int = Field(default=None, primary_key=True)
    entity_id: int = Field(foreign_key="entities.id")
    item_name: str = str_field(255)
    item_id: int | None = Field(default=None)
    product_id: int = Field(foreign_key="products.id")
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = ts_field()


class InventoryConflict(SQLModel, table=True):
    """METRC reported less of a package than ReUp had reserved for open orders (open until resolved)."""

    __tablename__ = "inventory_conflicts"
    __table_args__ = (Index("ix_inventory_conflicts_entity_open", "entity_id", "resolved_at"),)

    id: int = Field(default=None, primary_key=True)
    entity_id: int = Field(foreign_key="entities.id")
    lot_id: int = Field(foreign_key="inventory_lots.id")
    package_label: str = str_field(32)
    metrc_quantity: Decimal = qty_field()
    reserved_quantity: Decimal = qty_field()
    message: str = text_field()
    created_at: datetime = ts_field()
    resolved_at: datetime | None = opt_ts_field()
