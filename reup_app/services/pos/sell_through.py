"""Sell-through for brands: a wholesaler sees how its products sell at the stores that opted in
(`PosStoreSettings.share_sell_through`), as weekly units per store. A store that has not opted in
contributes nothing: the query joins on the opt-in, so no row of it is ever read for a brand."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, func
from sqlmodel import Session, col, select

from reup_app.errors import PermissionDenied
from reup_app.models import License, PosDailySales, PosProduct, PosStoreSettings, Product
from reup_app.models.types import utcnow
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal

WEEKS = 12


@dataclass(frozen=True)
class StoreSellThrough:
    license_id: int
    store_name: str
    weekly_units: tuple[int, ...]  # oldest first, WEEKS long
    total: int


def sell_through(session: Session, principal: Principal, weeks: int = WEEKS) -> list[StoreSellThrough]:
    """Weekly units of the principal's (a wholesaler's) products per opted-in store."""
    if principal.entity_id is None:
        raise PermissionDenied("You are not allowed to do that.")
    authorize(principal, "dashboard.view", principal.entity_id)
    weeks = max(1, min(52, int(weeks)))
    today = utcnow().date()
    start = today - timedelta(days=7 * weeks)
    week = func.floor((func.datediff(today, PosDailySales.day) - 1) / 7)
    rows = session.exec(
        select(PosDailySales.license_id, week, func.sum(PosDailySales.units))
        .join(
            PosStoreSettings,
            and_(
                col(PosStoreSettings.license_id) == col(PosDailySales.license_id),
                col(PosStoreSettings.share_sell_through).is_(True),
            ),
        )
        .join(
            PosProduct,
            and_(
                col(PosProduct.license_id) == col(PosDailySales.license_id),
                col(PosProduct.pos_product_id) == col(PosDailySales.pos_product_id),
            ),
        )
        .join(Product, col(Product.id) == col(PosProduct.matched_product_id))
        .where(Product.entity_id == principal.entity_id)
        .where(col(PosDailySales.day) >= start, col(PosDailySales.day) < today)
        .group_by(col(PosDailySales.license_id), week)
    ).all()
    series: dict[int, list[int]] = defaultdict(lambda: [0] * weeks)
    for license_id, wk, units in rows:
        if 0 <= int(wk) < weeks:
            series[license_id][weeks - 1 - int(wk)] = int(units or 0)
    if not series:
        return []
    names = {
        lic.id: lic.premises_name or lic.number
        for lic in session.exec(select(License).where(col(License.id).in_(sorted(series)))).all()
    }
    return [
        StoreSellThrough(lid, names.get(lid, ""), tuple(s), sum(s))
        for lid, s in sorted(series.items(), key=lambda kv: -sum(kv[1]))
    ]
