"""Fleetbase deliveries: vendor status, timeline, route, proof of delivery and problem reports

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 06:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

import reup_app.models.types
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    ts = reup_app.models.types.UtcDateTime
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("vendor_status", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("scheduled_at", ts(), nullable=True))
        batch.add_column(sa.Column("timeline", sa.Text(), nullable=True))
        batch.add_column(sa.Column("route", sa.Text(), nullable=True))
        batch.add_column(sa.Column("proof", sa.Text(), nullable=True))
        batch.add_column(sa.Column("location_at", ts(), nullable=True))
        batch.add_column(sa.Column("problem_report", sa.Text(), nullable=True))
        batch.add_column(sa.Column("problem_reported_at", ts(), nullable=True))
    with op.batch_alter_table("webhook_receipts") as batch:
        batch.create_index("ix_webhook_receipts_status", ["status", "received_at"])


def downgrade() -> None:
    with op.batch_alter_table("webhook_receipts") as batch:
        batch.drop_index("ix_webhook_receipts_status")
    with op.batch_alter_table("deliveries") as batch:
        for name in (
            "problem_reported_at",
            "problem_report",
            "location_at",
            "proof",
            "route",
            "timeline",
            "scheduled_at",
            "vendor_status",
        ):
            batch.drop_column(name)
