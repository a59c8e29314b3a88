"""notification indexes for the bell: per user and entity, newest first and unread

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 00:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Created before the old index goes: MySQL needs an index led by user_id for its foreign key.
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index("ix_notifications_owner_newest", ["user_id", "entity_id", "id"], unique=False)
        batch_op.create_index("ix_notifications_owner_unread", ["user_id", "entity_id", "read_at"], unique=False)
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_user_read")


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index("ix_notifications_user_read", ["user_id", "read_at"], unique=False)
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_owner_unread")
        batch_op.drop_index("ix_notifications_owner_newest")
