"""integration runtime: the outbox, job fences, fencing tokens on sync runs and cursors

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

import reup_app.models.types
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    ts = reup_app.models.types.UtcDateTime
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("target_table", sa.String(length=64), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("reference", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", ts(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("send_started_at", ts(), nullable=True),
        sa.Column("fencing_token", sa.BigInteger(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("created_at", ts(), nullable=False),
        sa.Column("updated_at", ts(), nullable=False),
        sa.Column("sent_at", ts(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reference", name="uq_outbox_reference"),
    )
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index("ix_outbox_target", ["target_table", "target_id"], unique=False)
    op.create_table(
        "job_fences",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", ts(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fencing_token", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("sync_cursors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fencing_token", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_cursors", schema=None) as batch_op:
        batch_op.drop_column("fencing_token")
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.drop_column("fencing_token")
    op.drop_table("job_fences")
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_target")
        batch_op.drop_index("ix_outbox_due")
    op.drop_table("outbox_messages")
