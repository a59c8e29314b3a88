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
import re
import threading
import weakref
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select, union_all
from sqlalchemy import text as sql
from sqlalchemy.dialects.mysql import match as mysql_match
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from reup_app.errors import ValidationError
from reup_app.models.catalog import Brand, Product
from reup_app.models.entities import Entity
from reup_app.models.enums import (
    PUBLIC_LISTING_STATES,
    Category,
    EntityStatus,
    StrainType,
)
from reup_app.security.principal import ANONYMOUS, Principal

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE",
    "MAX_PAGE_SIZE",
    "MAX_TEXT_LENGTH",
    "SORTS",
    "CatalogFacets",
    "CatalogItem",
    "CatalogPage",
    "CatalogQuery",
    "FacetCount",
    "get_catalog_facets",
    "search_catalog",
    "search_terms",
]

SORTS: tuple[str, ...] = ("relevance", "name", "price_asc", "price_desc", "thc_desc", "newest")
DEFAULT_SORT = "name"
DEFAULT_PAGE_SIZE = 24
MAX_PAGE_SIZE = 100
# Deep OFFSETs cost the database as much as reading every earlier page; nobody pages this far.
MAX_PAGE = 10_000
MAX_TEXT_LENGTH = 100
MAX_PRICE = Decimal("9999999999.99")  # DECIMAL(12,2)
MAX_PERCENT = Decimal(100)

_CATEGORIES = tuple(c.value for c in Category)
_STRAIN_TYPES = tuple(s.value for s in StrainType)
_PUBLIC_STATES = tuple(s.value for s in PUBLIC_LISTING_STATES)
_APPROVED = EntityStatus.APPROVED.value

_TRUE = frozenset({"1", "true", "yes", "on", "y", "t"})
_FALSE = frozenset({"0", "false", "no", "off", "n", "f", ""})
_WORD_RE = re.compile(r"\w+", re.UNICODE)
_SPACE_RE = re.compile(r"\s+", re.UNICODE)
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


# --------------------------------------------------------------------------------------------
# Query: parsing and validation of untrusted input
# --------------------------------------------------------------------------------------------


def _echo(value: Any) -> str:
    """A short, printable rendering of a bad user value for an error message."""
    text = _CONTROL_RE.sub("", str(value))
    return text if len(text) <= 40 else text[:37] + "..."


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _parse_decimal(value: Any, label: str, field_name: str) -> Decimal | None:
    if _blank(value):
        return None
    if isinstance(value, bool):
        raise ValidationError(f"{label} must be a number.", field_name)
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise ValidationError(f"{label} must be a number, not {_echo(value)!r}.", field_name) from None
    else:
        raise ValidationError(f"{label} must be a number.", field_name)
    return number


def _parse_int(value: Any, label: str, field_name: str, default: int | None) -> int | None:
    if _blank(value):
        return default
    if isinstance(value, bool):
        raise ValidationError(f"{label} must be a whole number.", field_name)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"[+-]?\d{1,12}", text):
            return int(text)
        raise ValidationError(f"{label} must be a whole number, not {_echo(value)!r}.", field_name)
    if isinstance(value, (float, Decimal)) and value == int(value):
        return int(value)
    raise ValidationError(f"{label} must be a whole number.", field_name)


def _parse_bool(value: Any, label: str, field_name: str) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ValidationError(f"{label} must be true or false, not {_echo(value)!r}.", field_name)


def _parse_choice(value: Any, allowed: tuple[str, ...], what: str, field_name: str) -> str | None:
    if _blank(value):
        return None
    if not isinstance(value, str):
        raise ValidationError(f"Unknown {what} {_echo(value)!r}.", field_name)
    text = value.strip().lower()
    if text not in allowed:
        raise ValidationError(
            f"Unknown {what} {_echo(value.strip())!r}. Choose one of: {', '.join(allowed)}.", field_name
        )
    return text


def _normalise_text(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError("Search text must be text.", "text")
    return _SPACE_RE.sub(" ", _CONTROL_RE.sub(" ", value)).strip()


def _check_range(
    lo: Decimal | None, hi: Decimal | None, *, what: str, field_name: str, upper: Decimal, places: int = 2
) -> None:
    for bound, which in ((lo, "Minimum"), (hi, "Maximum")):
        if bound is None:
            continue
        if not isinstance(bound, Decimal) or not bound.is_finite():
            raise ValidationError(f"{which} {what} must be a number.", f"{field_name}_{which[:3].lower()}")
        if bound < 0:
            raise ValidationError(f"{which} {what} cannot be negative.", f"{field_name}_{which[:3].lower()}")
        if bound > upper:
            raise ValidationError(f"{which} {what} cannot be more than {upper}.", f"{field_name}_{which[:3].lower()}")
        if bound != bound.quantize(Decimal(1).scaleb(-places), rounding="ROUND_DOWN"):
            raise ValidationError(
                f"{which} {what} can have at most {places} decimal places.", f"{field_name}_{which[:3].lower()}"
            )
    if lo is not None and hi is not None and lo > hi:
        raise ValidationError(f"Minimum {what} cannot be more than the maximum {what}.", f"{field_name}_min")


_FIELDS = (
    "text",
    "category",
    "strain_type",
    "thc_min",
    "thc_max",
    "price_min",
    "price_max",
    "in_stock",
    "seller_entity_id",
    "sort",
    "page",
    "page_size",
)


@dataclass
class CatalogQuery:
    """A validated catalog search. Build it from untrusted input with `CatalogQuery.parse(**raw)`."""

    text: str = ""
    category: str | None = None
    strain_type: str | None = None
    thc_min: Decimal | None = None
    thc_max: Decimal | None = None
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    in_stock: bool = False
    seller_entity_id: int | None = None
    sort: str = DEFAULT_SORT
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE

    @classmethod
    def parse(cls, **raw: Any) -> CatalogQuery:
        """Turn browser input (strings, possibly empty, possibly hostile) into a valid query.

        Empty strings and None mean "no filter" / the default. Unknown option names are refused so
        a typo in a caller cannot silently drop a filter. Raises `ValidationError` (with `.field`).
        """
        unknown = sorted(set(raw) - set(_FIELDS))
        if unknown:
            raise ValidationError(f"Unknown search option {_echo(unknown[0])!r}.", unknown[0])
        q = cls(
            text=_normalise_text(raw.get("text")),
            category=_parse_choice(raw.get("category"), _CATEGORIES, "category", "category"),
            strain_type=_parse_choice(raw.get("strain_type"), _STRAIN_TYPES, "strain type", "strain_type"),
            thc_min=_parse_decimal(raw.get("thc_min"), "Minimum THC %", "thc_min"),
            thc_max=_parse_decimal(raw.get("thc_max"), "Maximum THC %", "thc_max"),
            price_min=_parse_decimal(raw.get("price_min"), "Minimum price", "price_min"),
            price_max=_parse_decimal(raw.get("price_max"), "Maximum price", "price_max"),
            in_stock=_parse_bool(raw.get("in_stock"), "In stock", "in_stock"),
            seller_entity_id=_parse_int(raw.get("seller_entity_id"), "Seller", "seller_entity_id", None),
            sort=_parse_choice(raw.get("sort"), SORTS, "sort order", "sort") or DEFAULT_SORT,
            page=_parse_int(raw.get("page"), "Page", "page", 1),
            page_size=_parse_int(raw.get("page_size"), "Page size", "page_size", DEFAULT_PAGE_SIZE),
        )
        q.validate()
        return q

    def validate(self) -> CatalogQuery:
        """Check a query built directly (e.g. by server code); normalises `text`. Returns self."""
        self.text = _normalise_text(self.text)
        if len(self.text) > MAX_TEXT_LENGTH:
            raise ValidationError(f"Search text must be at most {MAX_TEXT_LENGTH} characters.", "text")
        if self.category is not None and self.category not in _CATEGORIES:
            raise ValidationError(
                f"Unknown category {_echo(self.category)!r}. Choose one of: {', '.join(_CATEGORIES)}.", "category"
            )
        if self.strain_type is not None and self.strain_type not in _STRAIN_TYPES:
            raise ValidationError(
                f"Unknown strain type {_echo(self.strain_type)!r}. Choose one of: {', '.join(_STRAIN_TYPES)}.",
                "strain_type",
            )
        if self.sort not in SORTS:
            raise ValidationError(
                f"Unknown sort order {_echo(self.sort)!r}. Choose one of: {', '.join(SORTS)}.", "sort"
            )
        _check_range(self.price_min, self.price_max, what="price", field_name="price", upper=MAX_PRICE)
        _check_range(self.thc_min, self.thc_max, what="THC %", field_name="thc", upper=MAX_PERCENT)
        if not isinstance(self.in_stock, bool):
            raise ValidationError("In stock must be true or false.", "in_stock")
        if self.seller_entity_id is not None and (
            isinstance(self.seller_entity_id, bool)
            or not isinstance(self.seller_entity_id, int)
            or self.seller_entity_id < 1
        ):
            raise ValidationError("Unknown seller.", "seller_entity_id")
        if isinstance(self.page, bool) or not isinstance(self.page, int) or self.page < 1:
            raise ValidationError("Page must be 1 or more.", "page")
        if self.page > MAX_PAGE:
            raise ValidationError(f"Page cannot be more than {MAX_PAGE}; narrow your search instead.", "page")
        if (
            isinstance(self.page_size, bool)
            or not isinstance(self.page_size, int)
            or not 1 <= self.page_size <= MAX_PAGE_SIZE
        ):
            raise ValidationError(f"Page size must be between 1 and {MAX_PAGE_SIZE}.", "page_size")
        return self

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


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


@dataclass
class CatalogPage:
    items: list[CatalogItem]
    total: int
    page: int
    page_size: int
    pages: int  # 0 when nothing matched
    has_next: bool
    has_prev: bool


@dataclass
class FacetCount:
    value: str  # a Category / StrainType value; display labels belong to the page
    count: int


@dataclass
class CatalogFacets:
    categories: list[FacetCount] = field(default_factory=list)
    strain_types: list[FacetCount] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Full-text capabilities of the connected server (read once per engine)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FulltextConfig:
    min_token: int
    max_token: int
    stopwords: frozenset[str]


_FT_CACHE: weakref.WeakKeyDictionary[Engine, _FulltextConfig] = weakref.WeakKeyDictionary()
_FT_LOCK = threading.Lock()
# InnoDB's built-in list (INFORMATION_SCHEMA.INNODB_FT_DEFAULT_STOPWORD), used if it can't be read.
_DEFAULT_STOPWORDS = frozenset(
    {
        "a",
        "about",
        "an",
        "are",
        "as",
        "at",
        "be",
        "by",
        "com",
        "de",
        "en",
        "for",
        "from",
        "how",
        "i",
        "in",
        "is",
        "it",
        "la",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "what",
        "when",
        "where",
        "who",
        "will",
        "with",
        "und",
        "www",
    }
)


def _fulltext_config(conn: Connection) -> _FulltextConfig:
    engine = conn.engine
    cfg = _FT_CACHE.get(engine)
    if cfg is not None:
        return cfg
    with _FT_LOCK:
        cfg = _FT_CACHE.get(engine)
        if cfg is None:
            cfg = _read_fulltext_config(conn)
            _FT_CACHE[engine] = cfg
    return cfg


def _read_fulltext_config(conn: Connection) -> _FulltextConfig:
    row = conn.execute(
        sql(
            "SELECT @@innodb_ft_min_token_size, @@innodb_ft_max_token_size, @@innodb_ft_enable_stopword, "
            "@@innodb_ft_server_stopword_table"
        )
    ).one()
    min_token, max_token, enabled, server_table = int(row[0]), int(row[1]), bool(int(row[2])), row[3]
    stopwords: frozenset[str] = frozenset()
    if enabled:
        try:
            if server_table:
                db_name, _, table = str(server_table).partition("/")
                if not (re.fullmatch(r"\w+", db_name) and re.fullmatch(r"\w+", table)):
                    raise ValueError(server_table)
                rows = conn.execute(sql(f"SELECT value FROM `{db_name}`.`{table}`")).all()
            else:
                rows = conn.execute(sql("SELECT value FROM information_schema.INNODB_FT_DEFAULT_STOPWORD")).all()
            stopwords = frozenset(str(r[0]).lower() for r in rows)
        except (SQLAlchemyError, ValueError):  # unreadable: assume the built-in list (costs a LIKE per word)
            stopwords = _DEFAULT_STOPWORDS
    return _FulltextConfig(min_token=min_token, max_token=max_token, stopwords=stopwords)


def search_terms(text: str) -> list[str]:
    """The distinct lower-cased words of `text`, in order; every non-word character separates words.

    This is all of the user's text that ever reaches SQL, so MATCH operators cannot be injected.
    """
    seen: dict[str, None] = {}
    for word in _WORD_RE.findall(text.lower()):
        seen.setdefault(word, None)
    return list(seen)


def _like_pattern(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


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

P = Product.__table__.c
B = Brand.__table__.c
E = Entity.__table__.c
_PRODUCTS = Product.__table__
_ENTITIES = Entity.__table__
_BRANDS = Brand.__table__

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


def _product_filters(query: CatalogQuery, conn: Connection) -> tuple[list[Any], Any | None]:
    """Conditions on products alone for `query` (not listing state / seller status), and for
    MySQL full-text searches the MATCH expression."""
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
        conds.append(P.unit_price >= query.price_min)
    if query.price_max is not None:
        conds.append(P.unit_price <= query.price_max)
    if query.in_stock:
        conds.append(P.available_qty > 0)
    if query.seller_entity_id is not None:
        conds.append(P.entity_id == query.seller_entity_id)
    return conds, relevance


def _sort_keys(sort: str, relevance: Any | None) -> tuple[tuple[Any, bool], ...]:
    if sort == "relevance" and relevance is not None:
        return ((relevance, True), (P.id, False))
    return _SORT_KEYS.get(sort, _SORT_KEYS["name"])  # "relevance" without full-text words: by name


def _ordering(keys: tuple[tuple[Any, bool], ...]) -> list[Any]:
    return [col.desc() if desc else col for col, desc in keys]


def _visible() -> list[Any]:
    return [P.listing_state.in_(_PUBLIC_STATES), E.status == _APPROVED]


def _straight(stmt: Any) -> Any:
    return stmt.prefix_with("STRAIGHT_JOIN", dialect="mysql")


def _item_from(source: Any) -> Any:
    return source.join(_ENTITIES, E.id == P.entity_id).outerjoin(_BRANDS, B.id == P.brand_id)


def _plain_page(conn: Connection, conds: list[Any], keys: tuple, query: CatalogQuery) -> list[Any]:
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
    return conn.execute(_straight(stmt)).all()


def _sort_columns(keys: tuple) -> list[Any]:
    return [col.label(f"s{i}") for i, (col, _) in enumerate(keys[:-1])]


def _outer_ordering(k: Any, keys: tuple) -> list[Any]:
    outer = tuple((k.c[f"s{i}"], desc) for i, (_, desc) in enumerate(keys[:-1])) + ((k.c.id, keys[-1][1]),)
    return _ordering(outer)


def _fulltext_page(conn: Connection, conds: list[Any], keys: tuple, query: CatalogQuery) -> list[Any]:
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
    return conn.execute(_straight(stmt)).all()


def _union_page(conn: Connection, conds: list[Any], keys: tuple, query: CatalogQuery) -> list[Any]:
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
    return conn.execute(_straight(stmt)).all()


def _count(conn: Connection, conds: list[Any]) -> int:
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
    return int(conn.execute(stmt).scalar_one())


def _item(r: Any) -> CatalogItem:
    return CatalogItem(
        id=r[0],
        sku=r[1],
        name=r[2],
        brand=r[3],
        seller_entity_id=r[4],
        seller_name=r[5],
        category=r[6],
        strain_name=r[7],
        strain_type=r[8],
        thc_percent=r[9],
        cbd_percent=r[10],
        unit_of_measure=r[11],
        unit_price=r[12],
        case_size=r[13],
        case_price=r[14],
        min_order_qty=r[15],
        available_qty=r[16],
        listing_state=r[17],
    )


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
    conds, relevance = _product_filters(query, conn)
    keys = _sort_keys(query.sort, relevance)
    total: int | None = None

    mysql = conn.dialect.name == "mysql"
    if mysql and relevance is not None:
        rows = _fulltext_page(conn, conds, keys, query)
        if rows:
            total = int(rows[0][-1])
    elif mysql and query.sort in _INDEXED_SORTS:
        rows = _union_page(conn, conds, keys, query)
    else:
        rows = _plain_page(conn, conds, keys, query)
    items = [_item(r) for r in rows]

    if total is None:
        if items and len(items) < query.page_size:
            total = query.offset + len(items)  # a short, non-empty page is the last one
        elif not items and query.page == 1:
            total = 0
        else:
            total = _count(conn, conds)

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
