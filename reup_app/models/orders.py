"""Orders, lines, package allocations, the order timeline, messages and carts."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from reup_app.models.types import (
    money_field,
    opt_ts_field,
    qty_field,
    str_field,
    text_field,
    ts_field,
)


class Order(SQLModel, table=True):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_seller_status", "seller_entity_id", "status"),
        Index("ix_orders_buyer_status", "buyer_entity_id", "status"),
    )

    id: int = Field(default=None, primary_key=True)
    number: str = str_field(32, unique=True)
    buyer_entity_id: int = Field(foreign_key="entities.id")
    buyer_license_id: int = Field(foreign_key="licenses.id")
    seller_entity_id: int = Field(foreign_key="entities.id")
    seller_license_id: int = Field(foreign_key="licenses.id")
    status: str = str_field(16, default="draft")  # OrderStatus
    payment_terms: str = str_field(16, default="cod")  # PaymentTerms
    subtotal: Decimal = money_field()
    tax: Decimal = money_field()
    total: Decimal = money_field()
    notes: str | None = text_field(default=None)
    delivery_preferences: str | None = text_field(default=None)
    requested_delivery_start: datetime | None = opt_ts_field()
    requested_delivery_end: datetime | None = opt_ts_field()
    created_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    submitted_at: datetime | None = opt_ts_field()
    accepted_at: datetime | None = opt_ts_field()
    fulfilled_at: datetime | None = opt_ts_field()
    shipped_at: datetime | None = opt_ts_field()
    delivered_at: datetime | None = opt_ts_field()
    completed_at: datetime | None = opt_ts_field()
    cancelled_at: datetime | None = opt_ts_field()
    created_at: datetime = ts_field()
    updated_at: datetime = ts_field()


class OrderLine(SQLModel, table=True):
    __tablename__ = "order_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="ck_order_lines_qty_positive"),)

    id: int = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    product_id: int = Field(foreign_key="products.id", index=True)
    sku: str = str_field(64)  # snapshot at order time
    product_name: str = str_field(255)  # snapshot at order time
    quantity: Decimal = qty_field()
    unit_price: Decimal = money_field()
    line_total: Decimal = money_field()


class OrderLineAllocation(SQLModel, table=True):
    """Package labels assigned to a line at fulfillment."""

    __tablename__ = "order_line_allocations"

    id: int = Field(default=None, primary_key=True)
    order_line_id: int = Field(foreign_key="order_lines.id", index=True)
    inventory_lot_id: int = Field(foreign_key="inventory_lots.id", index=True)
    package_label: str = str_field(32)
    quantity: Decimal = qty_field()


class OrderEvent(SQLModel, table=True):
    """The order timeline; `idempotency_key` makes a retried transition a no-op."""

    __tablename__ = "order_events"
    __table_args__ = (UniqueConstraint("order_id", "idempotency_key", name="uq_order_events_idem"),)

    id: int = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    kind: str = str_field(32)
    from_status: str | None = str_field(16, default=None)
    to_status: str | None = str_field(16, default=None)
    actor_user_id: int | None = Field(default=None, foreign_key="users.id")
    actor_entity_id: int | None = Field(default=None, foreign_key="entities.id")
    detail: str | None = text_field(default=None)  # JSON
    idempotency_key: str | None = str_field(64, default=None)
    created_at: datetime = ts_field()


class OrderMessage(SQLModel, table=True):
    __tablename__ = "order_messages"

    id: int = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    author_user_id: int = Field(foreign_key="users.id")
    author_entity_id: int = Field(foreign_key="entities.id")
    body: str = text_field()
    created_at: datetime = ts_field()


class CartItem(SQLModel, table=True):
    """A buyer's cart spans sellers; checkout splits it into one order per seller."""

    __tablename__ = "cart_items"
    __table_args__ = (
        UniqueConstraint("buyer_entity_id", "user_id", "product_id", name="uq_cart_items_owner_product"),
        CheckConstraint("quantity > 0", name="ck_cart_items_qty_positive"),
    )

    id: int = Field(default=None, primary_key=True)
    buyer_entity_id: int = Field(foreign_key="entities.id", index=True)
    user_id: int = Field(foreign_key="users.id")
    product_id: int = Field(foreign_key="products.id")
    quantity: Decimal = qty_field()
    created_at: datetime = ts_field()
    updated_at: datetime = ts_field()
