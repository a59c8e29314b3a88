"""Keyset lists of a seller's price tiers and a tier's prices for the public API, with the same
authorization as the pricing page (`pricing.manage` on the seller owning the tier).

Neither a tier nor a tier price records when it last changed, so these lists have no
`updated_since`: they are ordered by a time that never changes (the tier's, or the product's,
creation) and id, so paging is stable; to sync, read the list again."""

from __future__ import annotations

from sqlmodel import Session, col

from reup_app.models import PriceTier, Product
from reup_app.security.principal import Principal
from reup_app.services.catalog.price_tiers import (
    TierPriceRow,
    TierRow,
    _own_tier,
    _seller,
    tier_price_row,
    tier_prices_statement,
    tier_row,
    tiers_statement,
)
from reup_app.services.public_api.feeds import Page, _keyset, _limit, _page


def tier_feed(session: Session, principal: Principal, *, cursor: str | None = None, limit: int = 50) -> Page[TierRow]:
    """The seller's price tiers by (created_at, id), with their product and customer counts."""
    stmt = _keyset(tiers_statement(_seller(principal)), col(PriceTier.created_at), col(PriceTier.id), cursor, None)
    limit = _limit(limit)
    rows, nxt = _page(list(session.execute(stmt.limit(limit + 1)).all()), limit, lambda r: (r[4], r[0]))
    return Page([tier_row(r) for r in rows], nxt)


def tier_price_feed(
    session: Session, principal: Principal, tier_id: int, *, cursor: str | None = None, limit: int = 50
) -> Page[TierPriceRow]:
    """Every product of the seller (not archived, or priced in the tier) with its price in this tier,
    if any, by (product created_at, product id)."""
    tier = _own_tier(session, principal, tier_id)
    limit = _limit(limit)
    stmt = tier_prices_statement(tier)
    stmt = _keyset(stmt, col(Product.created_at), col(Product.id), cursor, None)
    rows, nxt = _page(list(session.execute(stmt.limit(limit + 1)).all()), limit, lambda r: (r[5], r[0]))
    return Page([tier_price_row(r) for r in rows], nxt)


__all__ = ["tier_feed", "tier_price_feed"]
