"""inventory lots: on_hold (METRC isOnHold), checked before shipping

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inventory_lots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("on_hold", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("inventory_lots", schema=None) as batch_op:
        batch_op.drop_column("on_hold")
