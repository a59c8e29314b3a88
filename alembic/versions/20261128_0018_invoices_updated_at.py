"""invoices.updated_at: when an invoice last changed (a payment, paid, void), for the API's updated_since

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-29 00:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

import reup_app.models.types
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    ts = reup_app.models.types.UtcDateTime
    op.add_column("invoices", sa.Column("updated_at", ts(), nullable=True))
    # backfill: the latest of its creation and its last payment (status changes only came with payments)
    op.execute("UPDATE invoices SET updated_at = created_at")
    op.execute(
        "UPDATE invoices SET updated_at = (SELECT MAX(p.created_at) FROM payments p WHERE p.invoice_id = invoices.id)"
        " WHERE EXISTS (SELECT 1 FROM payments p WHERE p.invoice_id = invoices.id AND p.created_at > invoices.created_at)"
    )
    with op.batch_alter_table("invoices") as batch:  # batch: SQLite cannot ALTER a column
        batch.alter_column("updated_at", existing_type=ts(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("invoices") as batch:
        batch.drop_column("updated_at")
