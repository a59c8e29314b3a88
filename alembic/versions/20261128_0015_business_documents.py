"""Business documents (licence certificates, registrations), the admin's review of each licence,
and the widths of each product image's stored thumbnails

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-28 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

import reup_app.models.types
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    ts = reup_app.models.types.UtcDateTime
    with op.batch_alter_table("licenses") as batch:  # batch: SQLite cannot ALTER constraints
        batch.add_column(sa.Column("review_status", sa.String(length=16), nullable=False, server_default="pending"))
        batch.add_column(sa.Column("review_reason", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("reviewed_at", ts(), nullable=True))
        batch.add_column(sa.Column("reviewed_by_user_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_licenses_reviewed_by", "users", ["reviewed_by_user_id"], ["id"])
    # Licences of businesses approved before this review existed were accepted with the business.
    op.execute(
        "UPDATE licenses SET review_status = 'approved' WHERE entity_id IN "
        "(SELECT id FROM entities WHERE status IN ('approved', 'suspended'))"
    )
    with op.batch_alter_table("licenses") as batch:
        batch.alter_column("review_status", existing_type=sa.String(length=16), server_default=None)
    op.add_column("product_images", sa.Column("variant_widths", sa.String(length=32), nullable=True))
    op.create_table(
        "business_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("license_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=255), nullable=False),
        sa.Column("uploaded_by_user_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", ts(), nullable=False),
        sa.Column("review_status", sa.String(length=16), nullable=False),
        sa.Column("review_reason", sa.String(length=255), nullable=True),
        sa.Column("reviewed_at", ts(), nullable=True),
        sa.Column("reviewed_by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["entity_id"], ["entities.id"]),
        sa.ForeignKeyConstraint(["license_id"], ["licenses.id"]),
        sa.ForeignKeyConstraint(["uploaded_by_user_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["reviewed_by_user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("storage_key"),
    )
    op.create_index(op.f("ix_business_documents_entity_id"), "business_documents", ["entity_id"])
    op.create_index(op.f("ix_business_documents_license_id"), "business_documents", ["license_id"])


def downgrade() -> None:
    op.drop_table("business_documents")
    with op.batch_alter_table("product_images") as batch:
        batch.drop_column("variant_widths")
    with op.batch_alter_table("licenses") as batch:
        batch.drop_constraint("fk_licenses_reviewed_by", type_="foreignkey")
        for column in ("reviewed_by_user_id", "reviewed_at", "review_reason", "review_status"):
            batch.drop_column(column)
