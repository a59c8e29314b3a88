"""Dutchie POS: store POS products and matches, daily unit sales, store settings

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 05:52:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from reup_app.models.types import UtcDateTime

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pos_daily_sales",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("license_id", sa.Integer(), nullable=False),
        sa.Column("pos_product_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("units", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("revenue", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["license_id"],
            ["licenses.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("license_id", "pos_product_id", "day", name="uq_pos_daily_sales_key"),
    )
    with op.batch_alter_table("pos_daily_sales", schema=None) as batch_op:
        batch_op.create_index("ix_pos_daily_sales_license_day", ["license_id", "day"], unique=False)

    op.create_table(
        "pos_store_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("license_id", sa.Integer(), nullable=False),
        sa.Column("target_cover_days", sa.Integer(), nullable=False),
        sa.Column("share_sell_through", sa.Boolean(), nullable=False),
        sa.Column("push_mode", sa.String(length=16), nullable=False),
        sa.Column("location_name", sa.String(length=255), nullable=True),
        sa.Column("location_license", sa.String(length=64), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["license_id"],
            ["licenses.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("license_id", name="uq_pos_store_settings_license"),
    )
    op.create_table(
        "pos_products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("license_id", sa.Integer(), nullable=False),
        sa.Column("pos_product_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("brand_name", sa.String(length=128), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("package_label", sa.String(length=32), nullable=True),
        sa.Column("on_hand", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("unit_cost", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("matched_product_id", sa.Integer(), nullable=True),
        sa.Column("match_rule", sa.String(length=16), nullable=False),
        sa.Column("velocity", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("velocity_days", sa.Integer(), nullable=False),
        sa.Column("trend", sa.String(length=128), nullable=False),
        sa.Column("last_modified", UtcDateTime(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["license_id"],
            ["licenses.id"],
        ),
        sa.ForeignKeyConstraint(
            ["matched_product_id"],
            ["products.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("license_id", "pos_product_id", name="uq_pos_products_license_pos"),
    )
    with op.batch_alter_table("pos_products", schema=None) as batch_op:
        batch_op.create_index("ix_pos_products_matched", ["matched_product_id"], unique=False)


def downgrade() -> None:
    # dropping a table drops its indexes (MariaDB refuses to drop an index a foreign key needs first)
    op.drop_table("pos_products")
    op.drop_table("pos_store_settings")
    op.drop_table("pos_daily_sales")
