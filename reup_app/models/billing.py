"""Invoices from shipped orders and the payments recorded against them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from reup_app.models.types import money_field, str_field, text_field, ts_field, utcnow


class Invoice(SQLModel, table=True):
    __tablename__ = "invoices"
    __table_args__ = (
        Index("ix_invoices_seller_status", "seller_entity_id", "status"),
        Index("ix_invoices_buyer_status", "buyer_entity_id", "status"),
    )

    id: int = Field(default=None, primary_key=True)
    number: str = str_field(32, unique=True)
    order_id: int = Field(foreign_key="orders.id", unique=True)
    seller_entity_id: int = Field(foreign_key="entities.id")
    buyer_entity_id: int = Field(foreign_key="entities.id")
    status: str = str_field(16, default="open")  # InvoiceStatus
    currency: str = str_field(3, default="USD")
    subtotal: Decimal = money_field()
    tax: Decimal = money_field()
    total: Decimal = money_field()
    amount_paid: Decimal = money_field()
    issued_at: datetime = ts_field()
    due_at: datetime = ts_field()
    created_at: datetime = ts_field()
    # any ORM update (a payment, a status change such as paid or void) moves it: the API's updated_since
    updated_at: datetime = ts_field(sa_column_kwargs={"onupdate": utcnow})


class Payment(SQLModel, table=True):
    __tablename__ = "payments"

    id: int = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="invoices.id", index=True)
    amount: Decimal = money_field()
    method: str = str_field(16)  # PaymentMethod
    reference: str | None = str_field(128, default=None)
    note: str | None = text_field(default=None)
    received_at: datetime = ts_field()
    recorded_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = ts_field()
