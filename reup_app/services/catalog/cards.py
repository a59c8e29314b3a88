"""A marketplace page of product cards: the catalog search and the cards' pictures, read in one
read-only unit of work (one connection checkout and one transaction instead of two)."""

from __future__ import annotations

from sqlmodel import Session

from reup_app.security.principal import Principal
from reup_app.services.catalog.catalog_query import CatalogQuery
from reup_app.services.catalog.images import ImageSource, public_image_sources
from reup_app.services.catalog.search import CatalogPage, search_catalog


def search_with_pictures(
    session: Session, principal: Principal, query: CatalogQuery
) -> tuple[CatalogPage, dict[int, list[ImageSource]]]:
    """`search_catalog`'s page and, per product on it, its public pictures (first is the card's)."""
    page = search_catalog(session, principal, query)
    return page, public_image_sources(session, principal, [i.id for i in page.items])
