"""compliance manifests: the METRC template id and the received packages

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 04:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("compliance_manifests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("template_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("received_packages", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("compliance_manifests", schema=None) as batch_op:
        batch_op.drop_column("received_packages")
        batch_op.drop_column("template_id")
