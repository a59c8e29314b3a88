"""Marketplace catalog: search, filter, sort and page the products buyers can see.

Public API (never imports reflex):

- `CatalogQuery` - a validated search request; build one from browser input with
  `CatalogQuery.parse(**raw)` (raises `ValidationError` with a message fit for the user).
- `search_catalog(session, principal, query) -> CatalogPage` - one page of `CatalogItem`s.
- `get_catalog_facets(session, principal=None) -> CatalogFacets` - category / strain-type counts.

Visibility: only products in `PUBLIC_LISTING_STATES` whose selling entity is APPROVED are ever
returned, whoever asks (a seller manages its own internal/archived listings elsewhere).

Text search: on MySQL/MariaDB each word of the search text becomes a required prefix term
(`+word*`) of a BOOLEAN MODE `MATCH ... AGAINST` on the FULLTEXT index `ix_products_search_text`
(`products.search_text` holds "name brand strain sku", see `product_search_text`). Words the
FULLTEXT index cannot find - shorter than the server's `innodb_ft_min_token_size`, longer than
`innodb_ft_max_token_size`, or InnoDB stopwords ("the", "for", ...) - are matched with
`LIKE '%word%'` instead, and so is every word on SQLite and other databases. All words must
match (AND). User text is reduced to its words (letters, digits, "_"), so boolean operators
(+ - < > ( ) ~ * " @) never reach MATCH, and "%" / "_" are escaped in LIKE patterns. Note the
two semantics differ slightly: FULLTEXT matches word prefixes, LIKE matches anywhere in the text.
Sorting by "relevance" needs full-text words; otherwise it sorts by name.

Statements: one SELECT for the page (brand and seller joined in) and, unless that page proves the
total (a short page, or `COUNT(*) OVER ()` on the full-text path), one COUNT. No per-row queries.
See "Query plans" below for why the MySQL statements look the way they do.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import astuple, dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, func, select, union_all
from sqlalchemy.dialects.mysql import match as mysql_match
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from reup_app.models.catalog import Brand, Product
from reup_app.models.entities import Entity
from reup_app.models.enums import (
    PUBLIC_LISTING_STATES,
    EntityStatus,
)
from reup_app.security.principal import ANONYMOUS, Principal
from reup_app.services.catalog.catalog_query import CatalogQuery
from reup_app.services.catalog.fulltext import _fulltext_config, _like_pattern, search_terms
from reup_app.services.catalog.pricing import apply_buyer_prices, buyer_price_column

__all__ = ["CatalogItem", "CatalogPage", "search_catalog"]


_PUBLIC_STATES = tuple(s.value for s in PUBLIC_LISTING_STATES)
_APPROVED = EntityStatus.APPROVED.value


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass
class CatalogItem:
    """One product card: plain values that are safe to send to any browser."""

    id: int
    sku: str
    name: str
    brand: str | None
    seller_entity_id: int
    seller_name: str
    category: str
    strain_name: str | None
    strain_type: str
    thc_percent: Decimal | None
    cbd_percent: Decimal | None
    unit_of_measure: str
    unit_price: Decimal
    case_size: int
    case_price: Decimal | None
    min_order_qty: Decimal
    available_qty: Decimal
    listing_state: str
    image_url: str = ""  # the first picture ("" = none), filled for the cards by the page state
    image_srcset: str = ""  # its sized variants (srcset), filled with it


@dataclass
class CatalogPage:
    items: list[CatalogItem]
    total: int
    page: int
    page_size: int
    pages: int  # 0 when nothing matched
    has_next: bool
    has_prev: bool


# --------------------------------------------------------------------------------------------
# Search
# --------------------------------------------------------------------------------------------
#
# Query plans (measured at 100,000 products on MariaDB 10.11, see bench/catalog_bench.py):
#
# * The optimizer likes to start from the few `entities` rows and reach products through
#   `ix_products_entity_listing`, which reads every product of every approved seller into a
#   temporary table before sorting (200+ ms). Every MySQL statement below is therefore
#   `SELECT STRAIGHT_JOIN ...` with products first; entities (tiny, PK lookups) follow.
# * `listing_state IN (3 states)` stops MySQL from reading `ix_products_listing_name` /
#   `ix_products_listing_category_name` / `ix_products_listing_price` in sort order, so a plain
#   query filesorts every matching row. Without full-text words we instead take the first
#   `offset + page_size` rows of each public state in index order (UNION ALL of three small
#   LIMITed reads) and merge them: `_union_page`. Same rows, same order as the plain query.
#   Sorts without such an index ("thc_desc", "newest") use one sorted query over a table scan
#   (`USE INDEX ()`, unless a seller filter makes ix_products_entity_listing worth it): `_plain_page`.
# * With full-text words the FULLTEXT index drives; a narrow inner SELECT picks the page's ids and
#   carries `COUNT(*) OVER ()`, so MATCH runs once (no second pass for the COUNT) and only 24 rows
#   are joined to brands/sellers: `_fulltext_page`.
# * COUNT groups by seller first and joins the (few) sellers afterwards, which avoids a PK lookup
#   into entities per product: `_count`.
# * SQLite (and anything else): the plain query + COUNT.

_PRODUCTS: Table = Product.__table__  # type: ignore[attr-defined]  # set by SQLAlchemy's declarative mapping; SQLModel's stubs omit it
_ENTITIES: Table = Entity.__table__  # type: ignore[attr-defined]  # set by SQLAlchemy's declarative mapping; SQLModel's stubs omit it
_BRANDS: Table = Brand.__table__  # type: ignore[attr-defined]  # set by SQLAlchemy's declarative mapping; SQLModel's stubs omit it
P = _PRODUCTS.c
B = _BRANDS.c
E = _ENTITIES.c

_ITEM_COLUMNS = (
    P.id,
    P.sku,
    P.name,
    B.name.label("brand_name"),
    P.entity_id,
    E.name.label("seller_name"),
    P.category,
    P.strain_name,
    P.strain_type,
    P.thc_percent,
    P.cbd_percent,
    P.unit_of_measure,
    P.unit_price,
    P.case_size,
    P.case_price,
    P.min_order_qty,
    P.available_qty,
    P.listing_state,
)

# sort -> ((column, descending), ...); the last key (id) makes every order total, so pages never
# overlap. Descending sorts break ties by descending id so one index can be read backwards.
_SORT_KEYS: dict[str, tuple[tuple[Any, bool], ...]] = {
    "name": ((P.name, False), (P.id, False)),
    "price_asc": ((P.unit_price, False), (P.id, False)),
    "price_desc": ((P.unit_price, True), (P.id, True)),
    "thc_desc": ((P.thc_percent, True), (P.id, True)),  # NULL THC sorts last on MySQL and SQLite
    "newest": ((P.created_at, True), (P.id, True)),
}


# Sorts a (listing_state, sort column) index can serve: ix_products_listing_name, ix_products_listing_price
# (and ix_products_listing_category_name for name within a category). "thc_desc" and "newest" have no
# such index yet, so they sort every matching row (plain query).
_INDEXED_SORTS = frozenset({"name", "relevance", "price_asc", "price_desc"})


def _product_filters(query: CatalogQuery, conn: Connection, price: Any = P.unit_price) -> tuple[list[Any], Any | None]:
    """Conditions on products alone for `query` (not listing state / seller status), and for
    MySQL full-text searches the MATCH expression. `price` is the buyer's price (`pricing.buyer_price_column`)."""
    conds: list[Any] = []
    relevance = None
    words = search_terms(query.text)
    if words:
        like_words = words
        if conn.dialect.name == "mysql":  # MySQL and MariaDB
            ft = _fulltext_config(conn)
            ft_words = [w for w in words if ft.min_token <= len(w) <= ft.max_token and w not in ft.stopwords]
            like_words = [w for w in words if w not in ft_words]
            if ft_words:
                relevance = mysql_match(P.search_text, against=" ".join(f"+{w}*" for w in ft_words)).in_boolean_mode()
                conds.append(relevance)
        conds.extend(P.search_text.like(_like_pattern(w), escape="\\") for w in like_words)
    if query.category is not None:
        conds.append(P.category == query.category)
    if query.strain_type is not None:
        conds.append(P.strain_type == query.strain_type)
    if query.thc_min is not None:
        conds.append(P.thc_percent >= query.thc_min)
    if query.thc_max is not None:
        conds.append(P.thc_percent <= query.thc_max)
    if query.price_min is not None:
        conds.append(price >= query.price_min)
    if query.price_max is not None:
        conds.append(price <= query.price_max)
    if query.in_stock:
        conds.append(P.available_qty > 0)
    if query.seller_entity_id is not None:
        conds.append(P.entity_id == query.seller_entity_id)
    return conds, relevance


def _sort_keys(sort: str, relevance: Any | None, price: Any = P.unit_price) -> tuple[tuple[Any, bool], ...]:
    if sort == "relevance" and relevance is not None:
        return ((relevance, True), (P.id, False))
    if sort in ("price_asc", "price_desc") and price is not P.unit_price:  # the buyer's tier price
        return ((price, sort == "price_desc"), (P.id, sort == "price_desc"))
    return _SORT_KEYS.get(sort, _SORT_KEYS["name"])  # "relevance" without full-text words: by name


def _ordering(keys: tuple[tuple[Any, bool], ...]) -> list[Any]:
    return [col.desc() if desc else col for col, desc in keys]


def _visible() -> list[Any]:
    return [P.listing_state.in_(_PUBLIC_STATES), E.status == _APPROVED]


def _straight(stmt: Any) -> Any:
    return stmt.prefix_with("STRAIGHT_JOIN", dialect="mysql")


def _item_from(source: Any) -> Any:
    return source.join(_ENTITIES, E.id == P.entity_id).outerjoin(_BRANDS, B.id == P.brand_id)


def _plain_page(conds: list[Any], keys: tuple, query: CatalogQuery) -> Any:
    stmt = (
        select(*_ITEM_COLUMNS)
        .select_from(_item_from(_PRODUCTS))
        .where(*_visible(), *conds)
        .order_by(*_ordering(keys))
        .limit(query.page_size)
        .offset(query.offset)
    )
    if query.seller_entity_id is None:
        # MySQL would otherwise walk a (listing_state, ...) index over most of the table with a
        # random row read per entry (~130 ms at 100k rows); a sequential scan + sort is ~18 ms.
        # A seller filter keeps its index (ix_products_entity_listing), which is selective.
        stmt = stmt.with_hint(_PRODUCTS, "USE INDEX ()", dialect_name="mysql")
    return _straight(stmt)


def _sort_columns(keys: tuple) -> list[Any]:
    return [col.label(f"s{i}") for i, (col, _) in enumerate(keys[:-1])]


def _outer_ordering(k: Any, keys: tuple) -> list[Any]:
    outer = tuple((k.c[f"s{i}"], desc) for i, (_, desc) in enumerate(keys[:-1])) + ((k.c.id, keys[-1][1]),)
    return _ordering(outer)


def _fulltext_page(conds: list[Any], keys: tuple, query: CatalogQuery) -> Any:
    """MySQL full-text search: pick the page's ids (and the total, by COUNT(*) OVER ()) reading only
    narrow rows, then join the 24 winners to their details. The last column is the total."""
    k = _straight(
        select(P.id.label("id"), *_sort_columns(keys), func.count().over().label("total_rows"))
        .select_from(_PRODUCTS.join(_ENTITIES, E.id == P.entity_id))
        .where(*_visible(), *conds)
        .order_by(*_ordering(keys))
        .limit(query.page_size)
        .offset(query.offset)
    ).subquery("k")
    stmt = (
        select(*_ITEM_COLUMNS, k.c.total_rows)
        .select_from(_item_from(k.join(_PRODUCTS, P.id == k.c.id)))
        .order_by(*_outer_ordering(k, keys))
    )
    return _straight(stmt)


def _union_page(conds: list[Any], keys: tuple, query: CatalogQuery) -> Any:
    """MySQL, sort backed by a (listing_state, sort column) index: the first `offset + page_size`
    rows of each public listing state in index order, merged; reads a few hundred index entries
    instead of sorting every matching product."""
    parts = [
        _straight(
            select(P.id.label("id"), *_sort_columns(keys))
            .select_from(_PRODUCTS.join(_ENTITIES, E.id == P.entity_id))
            .where(P.listing_state == state, E.status == _APPROVED, *conds)
            .order_by(*_ordering(keys))
            .limit(query.offset + query.page_size)
        )
        for state in _PUBLIC_STATES
    ]
    k = union_all(*parts).subquery("k")
    stmt = (
        select(*_ITEM_COLUMNS)
        .select_from(_item_from(k.join(_PRODUCTS, P.id == k.c.id)))
        .order_by(*_outer_ordering(k, keys))
        .limit(query.page_size)
        .offset(query.offset)
    )
    return _straight(stmt)


def _count(conds: list[Any]) -> Any:
    per_seller = (
        select(P.entity_id.label("entity_id"), func.count().label("n"))
        .where(P.listing_state.in_(_PUBLIC_STATES), *conds)
        .group_by(P.entity_id)
        .subquery("per_seller")
    )
    stmt = (
        select(func.coalesce(func.sum(per_seller.c.n), 0))
        .select_from(per_seller.join(_ENTITIES, E.id == per_seller.c.entity_id))
        .where(E.status == _APPROVED)
    )
    return stmt


@dataclass(frozen=True)
class _Plan:
    page: Any  # the page's SELECT; with `fulltext`, its last column is the total
    count: Any
    fulltext: bool


# Built statements by (engine, dialect, query, buyer's price): a search repeated (the storefront's
# first page, a live tab searching again) reuses its statements and their SQLAlchemy cache key
# instead of building them again (a repeated catalog load measured 10.3 -> 5.25 ms of app CPU).
_PLANS: OrderedDict[tuple, _Plan] = OrderedDict()
_PLANS_LOCK = threading.Lock()
MAX_PLANS = 256


def _plan(conn: Connection, query: CatalogQuery, price: Any, price_key: int | None) -> _Plan:
    key = (id(conn.engine), conn.dialect.name, astuple(query), price_key)
    with _PLANS_LOCK:
        if (found := _PLANS.get(key)) is not None:
            _PLANS.move_to_end(key)
            return found
    conds, relevance = _product_filters(query, conn, price)
    keys = _sort_keys(query.sort, relevance, price)
    mysql = conn.dialect.name == "mysql"
    if mysql and relevance is not None:
        page = _fulltext_page(conds, keys, query)
    elif mysql and query.sort in _INDEXED_SORTS and (price is P.unit_price or keys[0][0] is not price):
        page = _union_page(conds, keys, query)
    else:
        page = _plain_page(conds, keys, query)
    plan = _Plan(page, _count(conds), fulltext=mysql and relevance is not None)
    with _PLANS_LOCK:
        _PLANS[key] = plan
        while len(_PLANS) > MAX_PLANS:
            _PLANS.popitem(last=False)
    return plan


def search_catalog(session: Session, principal: Principal | None, query: CatalogQuery) -> CatalogPage:
    """One page of the marketplace catalog matching `query`.

    Shows only products in a public listing state (`PUBLIC_LISTING_STATES`) of APPROVED sellers.
    Anonymous principals may browse for now; a later identity change may require sign-in (this is
    the place to add `authorize`/NotAuthenticated when it does). `principal` never widens
    visibility: sellers, admins and the system see exactly what buyers see.

    Runs at most two statements, whatever the page size: the page (brand and seller joined in)
    and a COUNT, which is skipped when the page itself shows the total. Reads through
    `session.connection()` (no ORM objects; pending, unflushed changes are not seen). Money,
    quantities and percentages are Decimals.
    """
    _ = principal or ANONYMOUS
    if not isinstance(query, CatalogQuery):
        raise TypeError("search_catalog needs a CatalogQuery (use CatalogQuery.parse for browser input)")
    query.validate()
    conn = session.connection()
    price = buyer_price_column(session, principal)
    plan = _plan(conn, query, price, None if price is P.unit_price or principal is None else principal.entity_id)
    rows = conn.execute(plan.page).all()
    total: int | None = int(rows[0][-1]) if plan.fulltext and rows else None
    items = [CatalogItem(*r[:18]) for r in rows]  # _ITEM_COLUMNS, in CatalogItem's order
    apply_buyer_prices(session, principal, items)

    if total is None:
        if items and len(items) < query.page_size:
            total = query.offset + len(items)  # a short, non-empty page is the last one
        elif not items and query.page == 1:
            total = 0
        else:
            total = int(conn.execute(plan.count).scalar_one())

    pages = math.ceil(total / query.page_size) if total else 0
    return CatalogPage(
        items=items,
        total=total,
        page=query.page,
        page_size=query.page_size,
        pages=pages,
        has_next=query.page < pages,
        has_prev=query.page > 1,
    )
