"""products by SKU: the reorder suggestions' shared-SKU pass and the POS matching by SKU

Revision ID: 0017
Revises: 0015
Create Date: 2026-11-28 09:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # (sku, listing_state) covers "sellable listings of these SKUs" and "SKUs listed more than once".
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.create_index("ix_products_sku_listing", ["sku", "listing_state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index("ix_products_sku_listing")
