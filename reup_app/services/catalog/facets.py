"""Catalog facets: how many visible products fall in each category and strain type."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reup_app.security.principal import ANONYMOUS, Principal
from reup_app.services.catalog.catalog_query import _CATEGORIES, _STRAIN_TYPES
from reup_app.services.catalog.search import _APPROVED, _ENTITIES, _PUBLIC_STATES, E, P

__all__ = ["CatalogFacets", "FacetCount", "SellerFacet", "get_catalog_facets", "get_catalog_sellers"]


@dataclass
class FacetCount:
    value: str  # a Category / StrainType value; display labels belong to the page
    count: int


@dataclass
class CatalogFacets:
    categories: list[FacetCount] = field(default_factory=list)
    strain_types: list[FacetCount] = field(default_factory=list)


def get_catalog_facets(session: Session, principal: Principal | None = None) -> CatalogFacets:
    """Counts of visible products per category and per strain type (every value, zeros included).

    One statement: visible products grouped by (category, strain type); the two facet lists are
    summed from it.
    """
    _ = principal or ANONYMOUS
    conn = session.connection()
    per_seller = (
        select(
            P.entity_id.label("entity_id"),
            P.category.label("category"),
            P.strain_type.label("strain_type"),
            func.count().label("n"),
        )
        .where(P.listing_state.in_(_PUBLIC_STATES))
        .group_by(P.entity_id, P.category, P.strain_type)
        .subquery("per_seller")
    )
    stmt = (
        select(per_seller.c.category, per_seller.c.strain_type, func.sum(per_seller.c.n))
        .select_from(per_seller.join(_ENTITIES, E.id == per_seller.c.entity_id))
        .where(E.status == _APPROVED)
        .group_by(per_seller.c.category, per_seller.c.strain_type)
    )
    cat_counts: dict[str, int] = {}
    strain_counts: dict[str, int] = {}
    for category, strain_type, n in conn.execute(stmt).all():
        cat_counts[category] = cat_counts.get(category, 0) + int(n)
        strain_counts[strain_type] = strain_counts.get(strain_type, 0) + int(n)
    return CatalogFacets(
        categories=[FacetCount(c, cat_counts.get(c, 0)) for c in _CATEGORIES],
        strain_types=[FacetCount(s, strain_counts.get(s, 0)) for s in _STRAIN_TYPES],
    )


@dataclass
class SellerFacet:
    entity_id: int
    name: str
    count: int  # visible products


def get_catalog_sellers(session: Session, principal: Principal | None = None) -> list[SellerFacet]:
    """Approved sellers with visible products, by name: the marketplace's seller filter and storefronts."""
    _ = principal or ANONYMOUS
    per_seller = (
        select(P.entity_id.label("entity_id"), func.count().label("n"))
        .where(P.listing_state.in_(_PUBLIC_STATES))
        .group_by(P.entity_id)
        .subquery("per_seller")
    )
    rows = session.connection().execute(
        select(E.id, E.name, per_seller.c.n)
        .select_from(per_seller.join(_ENTITIES, E.id == per_seller.c.entity_id))
        .where(E.status == _APPROVED)
        .order_by(E.name, E.id)
    )
    return [SellerFacet(int(eid), name, int(n)) for eid, name, n in rows.all()]
