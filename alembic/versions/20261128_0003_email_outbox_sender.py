"""e-mail outbox sender: status, attempts, next attempt, last error, sensitive flag and body hash

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 03:30:00

Rows written before this revision were either delivered (sent_at set), failed once on the request
thread (error set: now 'failed', so an admin can retry them) or kept in the outbox without SMTP
('logged'). `error` becomes `last_error`.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from reup_app.models.types import UtcDateTime

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("email_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sensitive", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("body_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("status", sa.String(length=16), nullable=False, server_default="pending"))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("next_attempt_at", UtcDateTime(), nullable=True))
        batch_op.alter_column("error", new_column_name="last_error", existing_type=sa.Text(), existing_nullable=True)
    outbox = sa.table(
        "email_outbox",
        sa.column("status", sa.String),
        sa.column("sent_at", UtcDateTime),
        sa.column("last_error", sa.Text),
    )
    op.execute(outbox.update().where(outbox.c.sent_at.is_not(None)).values(status="sent"))
    op.execute(
        outbox.update().where(outbox.c.sent_at.is_(None), outbox.c.last_error.is_not(None)).values(status="failed")
    )
    op.execute(outbox.update().where(outbox.c.sent_at.is_(None), outbox.c.last_error.is_(None)).values(status="logged"))
    with op.batch_alter_table("email_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_email_outbox_due", ["status", "next_attempt_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("email_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_email_outbox_due")
        batch_op.alter_column("last_error", new_column_name="error", existing_type=sa.Text(), existing_nullable=True)
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("attempts")
        batch_op.drop_column("status")
        batch_op.drop_column("body_sha256")
        batch_op.drop_column("sensitive")
