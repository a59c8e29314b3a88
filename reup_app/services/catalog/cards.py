"""A marketplace page of product cards: the catalog search and the cards' pictures, read in one
read-only unit of work (one connection checkout and one transaction instead of two); and the
current availability of listed products, which a live catalog page applies to its cards when
stock changes (one primary-key read per event and worker instead of a search per tab)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session

from reup_app.security.principal import Principal
from reup_app.services.catalog.catalog_query import CatalogQuery
from reup_app.services.catalog.images import ImageSource, public_image_sources
from reup_app.services.catalog.search import _ENTITIES, _PRODUCTS, CatalogPage, E, P, _visible, search_catalog


def search_with_pictures(
    session: Session, principal: Principal, query: CatalogQuery
) -> tuple[CatalogPage, dict[int, list[ImageSource]]]:
    """`search_catalog`'s page and, per product on it, its public pictures (first is the card's)."""
    page = search_catalog(session, principal, query)
    return page, public_image_sources(session, principal, [i.id for i in page.items])


MAX_AVAILABILITY_IDS = 500


def listed_availability(session: Session, principal: Principal | None, product_ids: list[int]) -> dict[int, Decimal]:
    """Available quantity of each product in `product_ids` that the catalog lists (what its card
    shows to anyone, as `search_catalog`); unlisted or unknown products are absent."""
    ids = sorted({int(p) for p in product_ids})[:MAX_AVAILABILITY_IDS]
    if not ids:
        return {}
    rows = session.connection().execute(
        select(P.id, P.available_qty)
        .select_from(_PRODUCTS.join(_ENTITIES, E.id == P.entity_id))
        .where(P.id.in_(ids), *_visible())  # the catalog's one visibility rule
    )
    return {int(pid): Decimal(qty or 0) for pid, qty in rows}
