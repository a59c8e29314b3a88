"""Admin console: support_views (read-only "view as business" sessions, audited)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

import reup_app.models.types
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    ts = reup_app.models.types.UtcDateTime
    op.create_table(
        "support_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("admin_user_id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("started_at", ts(), nullable=False),
        sa.Column("ended_at", ts(), nullable=True),
        sa.ForeignKeyConstraint(["admin_user_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["entity_id"], ["entities.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_support_views_admin_open", "support_views", ["admin_user_id", "ended_at"])
    op.create_index(op.f("ix_support_views_entity_id"), "support_views", ["entity_id"])


def downgrade() -> None:
    op.drop_table("support_views")  # its indexes go with it (MySQL refuses to drop an FK's index first)
