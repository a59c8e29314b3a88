"""What each license can sell of each product right now: a plain read (no locks) of the lots.

The same rule as `StockLock.sellable` (not failed in lab testing, not on hold in METRC, not expired
by the license state's calendar); the cart uses it to show how checkout will split an order, and
checkout then decides on the locked rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session, col

from reup_app.models import InventoryLot, License
from reup_app.models.enums import LabTestState
from reup_app.services.common import ZERO
from reup_app.services.compliance.license_calendar import is_current


def sellable_quantities(
    session: Session, product_ids: Iterable[int], license_ids: Iterable[int]
) -> dict[tuple[int, int], Decimal]:
    """(product id, license id) -> quantity available on sellable lots (missing pairs hold none)."""
    pids, lids = sorted(set(product_ids)), sorted(set(license_ids))
    out: dict[tuple[int, int], Decimal] = defaultdict(lambda: ZERO)
    if not pids or not lids:
        return out
    rows = session.execute(
        select(
            col(InventoryLot.product_id),
            col(InventoryLot.license_id),
            col(InventoryLot.quantity_available),
            col(InventoryLot.expires_on),
            col(License.state),
        )
        .join(License, col(License.id) == col(InventoryLot.license_id))
        .where(
            col(InventoryLot.product_id).in_(pids),
            col(InventoryLot.license_id).in_(lids),
            col(InventoryLot.quantity_available) > 0,
            col(InventoryLot.lab_test_state) != LabTestState.FAILED,
            col(InventoryLot.on_hold).is_(False),
        )
    ).all()
    for pid, lid, qty, expires_on, state in rows:
        if is_current(expires_on, state):
            out[(pid, lid)] += qty
    return out
