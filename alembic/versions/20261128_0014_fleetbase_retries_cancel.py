"""Fleetbase: webhook receipts get a retry budget (attempts, next_attempt_at; past it "dead"), and
deliveries record the seller's cancellation request (cancel_reason, cancel_requested_at)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28 09:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

import reup_app.models.types
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    ts = reup_app.models.types.UtcDateTime
    with op.batch_alter_table("webhook_receipts") as batch_op:
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("next_attempt_at", ts(), nullable=True))
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.add_column(sa.Column("cancel_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("cancel_requested_at", ts(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.drop_column("cancel_requested_at")
        batch_op.drop_column("cancel_reason")
    with op.batch_alter_table("webhook_receipts") as batch_op:
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("attempts")
