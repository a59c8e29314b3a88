"""METRC package sync: unmatched packages, item -> product mappings, inventory conflicts

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 04:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

import reup_app.models.types
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    ts = reup_app.models.types.UtcDateTime
    qty = sa.Numeric(14, 3)
    op.create_table(
        "metrc_packages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("license_id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=32), nullable=False),
        sa.Column("metrc_id", sa.Integer(), nullable=True),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("item_name", sa.String(length=255), nullable=False),
        sa.Column("strain_name", sa.String(length=128), nullable=True),
        sa.Column("category", sa.String(length=128), nullable=True),
        sa.Column("unit_of_measure", sa.String(length=32), nullable=True),
        sa.Column("quantity", qty, nullable=False),
        sa.Column("lab_test_state", sa.String(length=32), nullable=False),
        sa.Column("on_hold", sa.Boolean(), nullable=False),
        sa.Column("finished", sa.Boolean(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("last_modified", ts(), nullable=True),
        sa.Column("created_at", ts(), nullable=False),
        sa.Column("updated_at", ts(), nullable=False),
        sa.ForeignKeyConstraint(["connection_id"], ["integration_connections.id"]),
        sa.ForeignKeyConstraint(["entity_id"], ["entities.id"]),
        sa.ForeignKeyConstraint(["license_id"], ["licenses.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("license_id", "label", name="uq_metrc_packages_license_label"),
    )
    with op.batch_alter_table("metrc_packages", schema=None) as batch_op:
        batch_op.create_index("ix_metrc_packages_entity_item", ["entity_id", "item_name"], unique=False)
    op.create_table(
        "metrc_item_mappings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("item_name", sa.String(length=255), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", ts(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.ForeignKeyConstraint(["entity_id"], ["entities.id"]),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("entity_id", "item_name", name="uq_metrc_item_mappings_entity_item"),
    )
    op.create_table(
        "inventory_conflicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("package_label", sa.String(length=32), nullable=False),
        sa.Column("metrc_quantity", qty, nullable=False),
        sa.Column("reserved_quantity", qty, nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", ts(), nullable=False),
        sa.Column("resolved_at", ts(), nullable=True),
        sa.ForeignKeyConstraint(["entity_id"], ["entities.id"]),
        sa.ForeignKeyConstraint(["lot_id"], ["inventory_lots.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("inventory_conflicts", schema=None) as batch_op:
        batch_op.create_index("ix_inventory_conflicts_entity_open", ["entity_id", "resolved_at"], unique=False)


def downgrade() -> None:
    op.drop_table("inventory_conflicts")
    op.drop_table("metrc_item_mappings")
    op.drop_table("metrc_packages")
