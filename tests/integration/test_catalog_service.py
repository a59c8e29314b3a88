"""Marketplace catalog search on MySQL/MariaDB (FULLTEXT path, per-state merge path, counts).

Every test creates its own uniquely named seller and either filters by `seller_entity_id` or
searches for a unique word, so rows from other tests never change the expected results.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event

from reup_app.errors import ValidationError
from reup_app.models.catalog import product_search_text
from reup_app.models.types import utcnow
from reup_app.security.principal import ANONYMOUS, system_principal
from reup_app.services.catalog.catalog_query import CatalogQuery
from reup_app.services.catalog.facets import get_catalog_facets
from reup_app.services.catalog.search import CatalogItem, CatalogPage, search_catalog
from tests.factories import make_brand, make_entity, make_member, make_product

pytestmark = pytest.mark.mysql


def _word(prefix: str = "w") -> str:
    """A unique search word (letters only after the prefix's first char, so no accidental tokens)."""
    return prefix + uuid.uuid4().hex[:10]


def product(session, seller, brand=None, **kw):
    """make_product with search_text built the way every product writer builds it."""
    kw.setdefault("sku", f"SKU-{uuid.uuid4().hex[:8]}")
    kw.setdefault("name", f"Product {uuid.uuid4().hex[:8]}")
    kw["search_text"] = product_search_text(kw["name"], brand.name if brand else None, kw.get("strain_name"), kw["sku"])
    return make_product(session, seller, brand, **kw)


def search(session, principal=ANONYMOUS, **raw) -> CatalogPage:
    return search_catalog(session, principal, CatalogQuery.parse(**raw))


def ids(page: CatalogPage) -> list[int]:
    return [i.id for i in page.items]


@pytest.fixture
def seller(session):
    return make_entity(session, "wholesaler", name=f"Catalog Seller {uuid.uuid4().hex[:8]}")


# --------------------------------------------------------------------------------------------
# Text search
# --------------------------------------------------------------------------------------------


def test_search_by_name_brand_strain_and_sku(session, seller):
    name_w, brand_w, strain_w, sku_w = _word("n"), _word("b"), _word("s"), _word("k")
    brand = make_brand(session, seller, name=f"Brand {brand_w}")
    by_name = product(session, seller, name=f"Moonrock {name_w} Gummies", category="edibles")
    by_brand = product(session, seller, brand, name="Plain Flower 3.5g")
    by_strain = product(session, seller, name="Live Resin Cart", strain_name=f"Strain {strain_w}")
    by_sku = product(session, seller, name="House Pre-Roll", sku=f"{sku_w.upper()}-01")

    assert ids(search(session, text=name_w)) == [by_name.id]
    assert ids(search(session, text=name_w.upper())) == [by_name.id]  # case-insensitive
    assert ids(search(session, text=brand_w)) == [by_brand.id]
    assert ids(search(session, text=strain_w)) == [by_strain.id]
    assert ids(search(session, text=f"{sku_w}-01")) == [by_sku.id]

    item = search(session, text=brand_w).items[0]
    assert item.brand == brand.name
    assert item.seller_name == seller.name and item.seller_entity_id == seller.id


def test_words_are_prefixes_and_all_must_match(session, seller):
    w = _word("velvet")
    haze = product(session, seller, name=f"{w} Haze Smalls")
    kush = product(session, seller, name=f"{w} Kush Smalls")
    other = product(session, seller, name=f"Other Haze {_word()}")

    assert sorted(ids(search(session, text=w[:-4]))) == sorted([haze.id, kush.id])  # word prefix
    assert ids(search(session, text=f"{w} haze")) == [haze.id]
    assert ids(search(session, text=f"haz {w}")) == [haze.id]  # order does not matter, prefixes work
    assert ids(search(session, text=f"{w} haze", seller_entity_id=seller.id)) == [haze.id]
    assert other.id in ids(search(session, text="haze", seller_entity_id=seller.id))
    assert search(session, text=f"{w} nomatchword").items == []


def test_short_words_and_stopwords_are_matched_with_like(session, seller):
    w = _word("q")
    og = product(session, seller, name=f"OG {w} Special")
    over = product(session, seller, name=f"Over The Moon {w}")
    rocks = product(session, seller, name=f"Moon Rocks {w}")

    # "og" is shorter than innodb_ft_min_token_size and "the" is an InnoDB stopword: neither is in
    # the FULLTEXT index, so a MATCH alone could never find them.
    assert ids(search(session, text=f"og {w}")) == [og.id]
    assert ids(search(session, text=f"the {w}")) == [over.id]
    assert ids(search(session, text="og", seller_entity_id=seller.id)) == [og.id]
    assert ids(search(session, text="the", seller_entity_id=seller.id)) == [over.id]
    assert sorted(ids(search(session, text=f"moon {w}"))) == sorted([over.id, rocks.id])


def test_boolean_operators_in_user_text_are_ignored(session, seller):
    w = _word("velvet")
    haze = product(session, seller, name=f"{w} Haze")
    product(session, seller, name=f"{w} Kush")

    for text in (f"+{w}* -haze", f'"{w}" (haze)', f"{w} ~haze <>@", f"{w}*** +++haze"):
        # "-haze" must not exclude Haze: every word is a required prefix term
        assert ids(search(session, text=text)) == [haze.id], text
    # text made only of operators / LIKE wildcards is no filter at all
    assert len(search(session, text='+-*"()~<>@ %', seller_entity_id=seller.id).items) == 2


# --------------------------------------------------------------------------------------------
# Filters
# --------------------------------------------------------------------------------------------


def test_category_and_strain_type_filters(session, seller):
    flower = product(session, seller, name="A Flower", category="flower", strain_type="indica")
    vape = product(session, seller, name="B Vape", category="vapes", strain_type="sativa")
    edible = product(session, seller, name="C Edible", category="edibles", strain_type="indica")

    assert ids(search(session, seller_entity_id=seller.id)) == [flower.id, vape.id, edible.id]
    assert ids(search(session, seller_entity_id=seller.id, category="vapes")) == [vape.id]
    assert ids(search(session, seller_entity_id=seller.id, strain_type="indica")) == [flower.id, edible.id]
    assert ids(search(session, seller_entity_id=seller.id, category="edibles", strain_type="indica")) == [edible.id]
    assert search(session, seller_entity_id=seller.id, category="topicals").total == 0


def test_price_thc_and_in_stock_filters(session, seller):
    cheap = product(
        session,
        seller,
        name="A Cheap",
        unit_price=Decimal("5.00"),
        thc_percent=Decimal("12.50"),
        available_qty=Decimal(0),
    )
    mid = product(
        session,
        seller,
        name="B Mid",
        unit_price=Decimal("20.00"),
        thc_percent=Decimal("22.00"),
        available_qty=Decimal(10),
    )
    dear = product(
        session,
        seller,
        name="C Dear",
        unit_price=Decimal("45.50"),
        thc_percent=Decimal("31.00"),
        available_qty=Decimal("0.5"),
    )
    no_thc = product(
        session, seller, name="D Balm", unit_price=Decimal("20.00"), thc_percent=None, available_qty=Decimal(3)
    )
    s = seller.id

    assert ids(search(session, seller_entity_id=s, price_min="20")) == [mid.id, dear.id, no_thc.id]
    assert ids(search(session, seller_entity_id=s, price_max="20.00")) == [cheap.id, mid.id, no_thc.id]
    assert ids(search(session, seller_entity_id=s, price_min="5.01", price_max="45.49")) == [mid.id, no_thc.id]
    assert ids(search(session, seller_entity_id=s, thc_min="22")) == [mid.id, dear.id]  # NULL THC excluded
    assert ids(search(session, seller_entity_id=s, thc_max="22")) == [cheap.id, mid.id]
    assert ids(search(session, seller_entity_id=s, thc_min="20", thc_max="30")) == [mid.id]
    assert ids(search(session, seller_entity_id=s, in_stock="true")) == [mid.id, dear.id, no_thc.id]
    assert ids(search(session, seller_entity_id=s, in_stock="true", price_max="20", thc_min="1")) == [mid.id]


# --------------------------------------------------------------------------------------------
# Sorting and paging
# --------------------------------------------------------------------------------------------


@pytest.fixture
def sortable(session, seller):
    """Four products whose name, price, THC and age orders all differ (plus a price tie)."""
    now = utcnow()
    w = _word("sort")
    a = product(
        session,
        seller,
        name=f"Apple {w}",
        unit_price=Decimal("30.00"),
        thc_percent=Decimal("20.00"),
        created_at=now - timedelta(days=3),
    )
    b = product(
        session,
        seller,
        name=f"Banana {w}",
        unit_price=Decimal("10.00"),
        thc_percent=None,
        created_at=now - timedelta(days=1),
    )
    c = product(
        session,
        seller,
        name=f"Cherry {w}",
        unit_price=Decimal("10.00"),
        thc_percent=Decimal("28.00"),
        created_at=now - timedelta(days=5),
    )
    d = product(
        session,
        seller,
        name=f"Date {w}",
        unit_price=Decimal("99.99"),
        thc_percent=Decimal("15.00"),
        created_at=now - timedelta(days=2),
    )
    return w, a, b, c, d


@pytest.mark.parametrize("via_text", [False, True], ids=["filter", "fulltext"])
def test_every_sort(session, seller, sortable, via_text):
    w, a, b, c, d = sortable
    where = {"text": w} if via_text else {"seller_entity_id": seller.id}
    expected = {
        "name": [a, b, c, d],
        "price_asc": [b, c, a, d],  # b and c tie on price: lower id first
        "price_desc": [d, a, c, b],  # ties: higher id first
        "thc_desc": [c, a, d, b],  # no THC last
        "newest": [b, d, a, c],
    }
    for sort, rows in expected.items():
        assert ids(search(session, sort=sort, **where)) == [r.id for r in rows], sort
        # the same order holds across pages
        paged = ids(search(session, sort=sort, page_size=3, **where)) + ids(
            search(session, sort=sort, page_size=3, page=2, **where)
        )
        assert paged == [r.id for r in rows], sort


def test_relevance_sort(session, seller):
    w = _word("rel")
    weak = product(session, seller, name=f"Alpha {w} Bravo Charlie Delta Echo Foxtrot")
    strong = product(session, seller, name=f"Zulu {w} {w} {w}", strain_name=w)
    assert ids(search(session, text=w, sort="name")) == [weak.id, strong.id]
    assert ids(search(session, text=w, sort="relevance")) == [strong.id, weak.id]
    # without search words "relevance" falls back to name order
    assert ids(search(session, seller_entity_id=seller.id, sort="relevance")) == [weak.id, strong.id]


@pytest.mark.parametrize(
    "where,sort",
    [("seller", "name"), ("seller", "price_desc"), ("seller", "thc_desc"), ("text", "name"), ("text", "relevance")],
)
def test_paging(session, seller, where, sort):
    w = _word("page")
    made = [
        product(session, seller, name=f"P{i} {w}", unit_price=Decimal(10 + i), thc_percent=Decimal(20 + i))
        for i in range(5)
    ]
    crit = {"seller_entity_id": seller.id} if where == "seller" else {"text": w}

    p1 = search(session, sort=sort, page_size=2, **crit)
    p2 = search(session, sort=sort, page_size=2, page=2, **crit)
    p3 = search(session, sort=sort, page_size=2, page=3, **crit)
    p4 = search(session, sort=sort, page_size=2, page=4, **crit)

    assert [len(p.items) for p in (p1, p2, p3, p4)] == [2, 2, 1, 0]
    assert [p.total for p in (p1, p2, p3, p4)] == [5, 5, 5, 5]
    assert [p.pages for p in (p1, p2, p3, p4)] == [3, 3, 3, 3]
    assert [p.page for p in (p1, p2, p3, p4)] == [1, 2, 3, 4]
    assert [p.has_next for p in (p1, p2, p3, p4)] == [True, True, False, False]
    assert [p.has_prev for p in (p1, p2, p3, p4)] == [False, True, True, True]
    seen = ids(p1) + ids(p2) + ids(p3)
    assert sorted(seen) == sorted(m.id for m in made)  # every product once, none twice
    whole = search(session, sort=sort, page_size=10, **crit)
    assert ids(whole) == seen and whole.total == 5 and whole.pages == 1 and not whole.has_next


def test_no_results(session, seller):
    page = search(session, text=_word("none"))
    assert (page.items, page.total, page.pages, page.has_next, page.has_prev) == ([], 0, 0, False, False)
    page = search(session, seller_entity_id=seller.id, page=3)
    assert (page.items, page.total, page.pages, page.has_next, page.has_prev) == ([], 0, 0, False, True)


# --------------------------------------------------------------------------------------------
# Visibility
# --------------------------------------------------------------------------------------------


def test_only_public_listings_of_approved_sellers_are_shown(session, seller):
    w = _word("vis")
    # longer than innodb_ft_max_token_size (84): not in the FULLTEXT index, so searched with LIKE
    long_w = "v" + uuid.uuid4().hex * 3
    shown = {
        state: product(session, seller, name=f"{state} {w} {long_w}", listing_state=state)
        for state in ("available", "backorder", "sample")
    }
    for state in ("internal", "archived"):
        product(session, seller, name=f"{state} {w} {long_w}", listing_state=state)
    hidden_sellers = [
        make_entity(session, "wholesaler", status=status) for status in ("pending", "suspended", "rejected")
    ]
    for other in hidden_sellers:
        product(session, other, name=f"available {w} {long_w} {other.status}", listing_state="available")

    expected = sorted(p.id for p in shown.values())
    for sort in ("name", "price_desc", "newest"):
        assert sorted(ids(search(session, text=w, sort=sort))) == expected
        assert sorted(ids(search(session, text=long_w, sort=sort))) == expected
        assert sorted(ids(search(session, seller_entity_id=seller.id, sort=sort))) == expected
    # totals: from the full-text page itself, and from the COUNT when a page is full or past the end
    assert search(session, text=w, page_size=1).total == 3
    assert search(session, text=w, page_size=1, page=10).total == 3
    assert search(session, text=long_w, page_size=1).total == 3
    assert search(session, text=long_w, page_size=1, sort="newest").total == 3
    assert search(session, seller_entity_id=seller.id, page_size=1).total == 3
    assert search(session, seller_entity_id=seller.id, page_size=1, page=2).total == 3
    assert {i.listing_state for i in search(session, text=w).items} == {"available", "backorder", "sample"}
    for other in hidden_sellers:
        assert search(session, seller_entity_id=other.id).total == 0
        assert search(session, seller_entity_id=other.id, text=w).total == 0


def test_the_principal_never_widens_visibility(session, seller):
    w = _word("own")
    public = product(session, seller, name=f"Public {w}")
    product(session, seller, name=f"Internal {w}", listing_state="internal")
    _, owner = make_member(session, seller, role="owner")
    for principal in (ANONYMOUS, owner, system_principal("test")):
        assert ids(search(session, principal, text=w)) == [public.id]
    assert ids(search_catalog(session, None, CatalogQuery.parse(text=w))) == [public.id]


# --------------------------------------------------------------------------------------------
# Result shape, statement count, errors, facets
# --------------------------------------------------------------------------------------------


def test_items_carry_plain_values(session, seller):
    brand = make_brand(session, seller)
    w = _word("shape")
    p = product(
        session,
        seller,
        brand,
        name=f"Shape {w} 3.5g",
        category="flower",
        strain_name="Blue Dream",
        strain_type="hybrid",
        thc_percent=Decimal("24.30"),
        cbd_percent=Decimal("0.10"),
        unit_of_measure="each",
        unit_price=Decimal("22.50"),
        case_size=12,
        case_price=Decimal("250.00"),
        min_order_qty=Decimal(2),
        available_qty=Decimal(48),
        listing_state="backorder",
    )
    bare = product(session, seller, name=f"Bare {w}")

    page = search(session, text=w)
    assert ids(page) == [bare.id, p.id]
    item = page.items[1]
    assert isinstance(item, CatalogItem)
    assert item == CatalogItem(
        id=p.id,
        sku=p.sku,
        name=p.name,
        brand=brand.name,
        seller_entity_id=seller.id,
        seller_name=seller.name,
        category="flower",
        strain_name="Blue Dream",
        strain_type="hybrid",
        thc_percent=Decimal("24.30"),
        cbd_percent=Decimal("0.10"),
        unit_of_measure="each",
        unit_price=Decimal("22.50"),
        case_size=12,
        case_price=Decimal("270.00"),  # what checkout charges for a case: 12 x 22.50 (not the stored 250.00)
        min_order_qty=Decimal(2),
        available_qty=Decimal(48),
        listing_state="backorder",
    )
    for value in (item.unit_price, item.case_price, item.min_order_qty, item.available_qty, item.thc_percent):
        assert isinstance(value, Decimal)
    assert page.items[0].brand is None and page.items[0].case_price is None and page.items[0].thc_percent is None


@pytest.mark.parametrize(
    "raw,statements",
    [
        ({"sort": "name", "page_size": 2}, 2),  # full page: page + COUNT
        ({"sort": "price_desc", "page_size": 2, "page": 2}, 2),
        ({"sort": "newest", "page_size": 2}, 2),
        ({"sort": "name", "page_size": 50}, 1),  # short page proves the total
        ({"text": "TEXT", "page_size": 2}, 1),  # full-text page carries its total
        ({"text": "TEXT", "page_size": 2, "page": 9}, 2),  # past the end: COUNT needed
    ],
)
def test_a_page_takes_at_most_two_statements(session, engine, seller, raw, statements):
    w = _word("stmt")
    brand = make_brand(session, seller)
    for i in range(5):
        product(session, seller, brand, name=f"Item {i} {w}")
    raw = {**raw, "text": w} if raw.get("text") else {**raw, "seller_entity_id": seller.id}
    search(session, text="warm up the full-text settings cache")
    session.commit()

    executed: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        executed.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        page = search(session, **raw)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert page.total == 5
    assert len(executed) == statements, executed


def test_invalid_queries_are_refused_by_the_service(session):
    with pytest.raises(ValidationError, match="Page must be 1 or more"):
        search_catalog(session, ANONYMOUS, CatalogQuery(page=0))
    with pytest.raises(ValidationError, match="Unknown category"):
        search_catalog(session, ANONYMOUS, CatalogQuery(category="seeds"))
    with pytest.raises(ValidationError, match="Minimum price cannot be more than the maximum price"):
        search(session, price_min="9", price_max="1")
    with pytest.raises(ValidationError, match="Page size must be between 1 and 100"):
        search(session, page_size="500")
    with pytest.raises(ValidationError, match="at most 100 characters"):
        search(session, text="x" * 101)
    with pytest.raises(TypeError):
        search_catalog(session, ANONYMOUS, {"text": "x"})  # type: ignore[arg-type]


def test_facets_count_only_visible_products(session):
    before = get_catalog_facets(session)
    assert [f.value for f in before.categories] == [
        "flower",
        "pre_rolls",
        "vapes",
        "edibles",
        "concentrates",
        "tinctures",
        "topicals",
    ]
    seller = make_entity(session, "wholesaler")
    hidden = make_entity(session, "wholesaler", status="suspended")
    product(session, seller, category="tinctures", strain_type="cbd")
    product(session, seller, category="tinctures", strain_type="cbd", listing_state="sample")
    product(session, seller, category="topicals", strain_type="none")
    product(session, seller, category="topicals", strain_type="cbd", listing_state="archived")
    product(session, hidden, category="topicals", strain_type="cbd")
    after = get_catalog_facets(session)

    def delta(attr):
        b = {f.value: f.count for f in getattr(before, attr)}
        return {f.value: f.count - b[f.value] for f in getattr(after, attr) if f.count != b[f.value]}

    assert delta("categories") == {"tinctures": 2, "topicals": 1}
    assert delta("strain_types") == {"cbd": 2, "none": 1}
