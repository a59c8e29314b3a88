"""Businesses (entities), their state licenses, memberships and seller-buyer relationships."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from reup_app.models.types import money_field, opt_ts_field, str_field, text_field, ts_field


class Entity(SQLModel, table=True):
    __tablename__ = "entities"
    __table_args__ = (Index("ix_entities_kind_status", "kind", "status"),)

    id: int = Field(default=None, primary_key=True)
    name: str = str_field(255, index=True)
    legal_name: str | None = str_field(255, default=None)
    kind: str = str_field(16)  # EntityKind
    status: str = str_field(16, default="pending")  # EntityStatus
    require_mfa: bool = Field(default=False)
    email: str | None = str_field(255, default=None)
    phone: str | None = str_field(32, default=None)
    address_line1: str | None = str_field(255, default=None)
    city: str | None = str_field(128, default=None)
    state: str | None = str_field(2, default=None)
    postal_code: str | None = str_field(16, default=None)
    # Comma-separated PaymentTerms a seller offers, e.g. "cod,net_30".
    payment_terms_offered: str = str_field(128, default="cod")
    min_order_amount: Decimal = money_field()
    description: str | None = text_field(default=None)
    rejection_reason: str | None = str_field(255, default=None)
    approved_at: datetime | None = opt_ts_field()
    approved_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = ts_field()
    updated_at: datetime = ts_field()


class License(SQLModel, table=True):
    __tablename__ = "licenses"
    __table_args__ = (UniqueConstraint("state", "number", name="uq_licenses_state_number"),)

    id: int = Field(default=None, primary_key=True)
    entity_id: int = Field(foreign_key="entities.id", index=True)
    state: str = str_field(2)
    number: str = str_field(64)
    license_type: str = str_field(64)  # e.g. "adult_use_retail", "distributor"
    status: str = str_field(16, default="active")  # LicenseStatus
    expires_on: date | None = Field(default=None)
    premises_name: str | None = str_field(255, default=None)
    premises_address: str | None = str_field(255, default=None)
    premises_city: str | None = str_field(128, default=None)
    premises_postal_code: str | None = str_field(16, default=None)
    # A platform admin's review of the licence against its uploaded documents (DocumentReview).
    review_status: str = str_field(16, default="pending")
    review_reason: str | None = str_field(255, default=None)
    reviewed_at: datetime | None = opt_ts_field()
    reviewed_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = ts_field()
    updated_at: datetime = ts_field()


class BusinessDocument(SQLModel, table=True):
    """A file a business uploaded for its review (licence certificate, registration ...). The bytes
    live in private storage under `storage_key` and go out only through a ticketed API route."""

    __tablename__ = "business_documents"

    id: int = Field(default=None, primary_key=True)
    entity_id: int = Field(foreign_key="entities.id", index=True)
    license_id: int | None = Field(default=None, foreign_key="licenses.id", index=True)
    kind: str = str_field(32)  # DocumentKind
    filename: str = str_field(255)
    content_type: str = str_field(64)
    size_bytes: int
    sha256: str = str_field(64)
    storage_key: str = str_field(255, unique=True)
    uploaded_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    uploaded_at: datetime = ts_field()
    review_status: str = str_field(16, default="pending")  # DocumentReview
    review_reason: str | None = str_field(255, default=None)
    reviewed_at: datetime | None = opt_ts_field()
    reviewed_by_user_id: int | None = Field(default=None, foreign_key="users.id")


class Membership(SQLModel, table=True):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "entity_id", name="uq_memberships_user_entity"),)

    id: int = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    entity_id: int = Field(foreign_key="entities.id", index=True)
    role: str = str_field(16)  # Role
    created_at: datetime = ts_field()


class TradeRelationship(SQLModel, table=True):
    """A seller's account for one buyer: price tier and credit hold ("pay prior balance first")."""

    __tablename__ = "trade_relationships"
    __table_args__ = (UniqueConstraint("seller_entity_id", "buyer_entity_id", name="uq_trade_rel_pair"),)

    id: int = Field(default=None, primary_key=True)
    seller_entity_id: int = Field(foreign_key="entities.id", index=True)
    buyer_entity_id: int = Field(foreign_key="entities.id", index=True)
    price_tier_id: int | None = Field(default=None, foreign_key="price_tiers.id")
    on_hold: bool = Field(default=False)
    hold_reason: str | None = str_field(255, default=None)
    created_at: datetime = ts_field()
    updated_at: datetime = ts_field()


class SupportView(SQLModel, table=True):
    """A platform admin's read-only "view as business" session (support). Its rows are audited
    with the viewed business as subject, so the business sees who looked and why."""

    __tablename__ = "support_views"
    __table_args__ = (Index("ix_support_views_admin_open", "admin_user_id", "ended_at"),)

    id: int = Field(default=None, primary_key=True)
    admin_user_id: int = Field(foreign_key="users.id")
    entity_id: int = Field(foreign_key="entities.id", index=True)
    reason: str = str_field(255)
    started_at: datetime = ts_field()
    ended_at: datetime | None = opt_ts_field()
