"""Catalog search on SQLite (dev default): no FULLTEXT, every word is matched with an escaped LIKE."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlmodel import Session, SQLModel

import reup_app.models  # noqa: F401  (registers every table)
from reup_app.db import build_engine
from reup_app.models.catalog import product_search_text
from reup_app.security.principal import ANONYMOUS
from reup_app.services.catalog.catalog_query import CatalogQuery
from reup_app.services.catalog.facets import get_catalog_facets
from reup_app.services.catalog.search import search_catalog
from tests.factories import make_brand, make_entity, make_product


@pytest.fixture
def db(tmp_path):
    engine = build_engine(f"sqlite:///{tmp_path / 'catalog.db'}")
    SQLModel.metadata.create_all(engine)
    with Session(engine, expire_on_commit=False) as s:
        # The audit listener's audit_log.id is a BIGINT primary key, which SQLite does not
        # auto-number (reported separately); auditing is not what this test is about.
        s.info["audit_disabled"] = True
        yield s
    engine.dispose()


def _product(session, seller, brand=None, **kw):
    kw.setdefault("sku", f"SKU-{uuid.uuid4().hex[:8]}")  # hex: never contains the words searched below
    kw["search_text"] = product_search_text(kw["name"], brand.name if brand else None, kw.get("strain_name"), kw["sku"])
    return make_product(session, seller, brand, **kw)


def _ids(session, **raw) -> list[int]:
    return [i.id for i in search_catalog(session, ANONYMOUS, CatalogQuery.parse(**raw)).items]


def test_like_fallback_search_filters_sorts_and_pages(db):
    seller = make_entity(db, "wholesaler", name="Bay Wholesale")
    brand = make_brand(db, seller, name="Emerald Farms")
    dream = _product(
        db,
        seller,
        brand,
        name="Blue Dream 3.5g",
        strain_name="Blue Dream",
        category="flower",
        unit_price=Decimal("25.00"),
        thc_percent=Decimal("22.00"),
    )
    cart = _product(
        db,
        seller,
        name="Blue Dream Cart 1g",
        strain_name="Blue Dream",
        category="vapes",
        unit_price=Decimal("30.00"),
        thc_percent=None,
    )
    kush = _product(
        db,
        seller,
        brand,
        name="OG Kush Pre-Roll",
        strain_name="OG Kush",
        category="pre_rolls",
        sku="SKU-OGKUSH",
        unit_price=Decimal("8.00"),
        thc_percent=Decimal("27.50"),
    )
    under = _product(db, seller, name="a_c Special", category="topicals", unit_price=Decimal("12.00"))
    plain = _product(db, seller, name="abc Special", category="topicals", unit_price=Decimal("12.00"))
    _product(db, seller, brand, name="Blue Dream Internal", listing_state="internal")
    _product(db, seller, brand, name="Blue Dream Archived", listing_state="archived")
    pending = make_entity(db, "wholesaler", status="pending")
    _product(db, pending, name="Blue Dream From Pending")

    # every word must match somewhere in name / brand / strain / sku; LIKE matches inside words too
    assert _ids(db, text="blue dream") == [dream.id, cart.id]
    assert _ids(db, text="BLUE ream") == [dream.id, cart.id]
    assert _ids(db, text="emerald") == [dream.id, kush.id]  # brand
    assert _ids(db, text="og kush") == [kush.id]  # strain, and a two-letter word
    assert _ids(db, text="sku-ogkush") == [kush.id]  # sku
    assert _ids(db, text="blue kush") == []
    # LIKE wildcards in user text are literal characters
    assert _ids(db, text="a_c") == [under.id]
    assert _ids(db, text="special") == [under.id, plain.id]
    assert _ids(db, text="%") == _ids(db) and len(_ids(db)) == 5
    # operators are dropped, not interpreted
    assert _ids(db, text='+blue -"dream" (cart)*') == [cart.id]

    assert _ids(db, text="blue", category="vapes") == [cart.id]
    assert _ids(db, price_min="10", price_max="25") == [dream.id, under.id, plain.id]
    assert _ids(db, sort="price_asc") == [kush.id, under.id, plain.id, dream.id, cart.id]
    assert _ids(db, sort="price_desc") == [cart.id, dream.id, plain.id, under.id, kush.id]
    assert _ids(db, sort="thc_desc")[:2] == [kush.id, dream.id]  # products without THC come last
    assert _ids(db, text="blue", sort="relevance") == [dream.id, cart.id]  # relevance -> name on SQLite

    page1 = search_catalog(db, ANONYMOUS, CatalogQuery.parse(page_size="2"))
    page3 = search_catalog(db, ANONYMOUS, CatalogQuery.parse(page_size="2", page="3"))
    assert (page1.total, page1.pages, page1.has_next, page1.has_prev) == (5, 3, True, False)
    assert (page3.total, len(page3.items), page3.has_next, page3.has_prev) == (5, 1, False, True)

    item = search_catalog(db, ANONYMOUS, CatalogQuery.parse(text="og kush")).items[0]
    assert (item.brand, item.seller_name, item.category) == ("Emerald Farms", "Bay Wholesale", "pre_rolls")
    assert item.unit_price == Decimal("8.00") and isinstance(item.unit_price, Decimal)
    assert isinstance(item.available_qty, Decimal) and isinstance(item.thc_percent, Decimal)

    facets = get_catalog_facets(db)
    assert {f.value: f.count for f in facets.categories} == {
        "flower": 1,
        "pre_rolls": 1,
        "vapes": 1,
        "edibles": 0,
        "concentrates": 0,
        "tinctures": 0,
        "topicals": 2,
    }
