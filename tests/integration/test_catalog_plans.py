"""The catalog search reuses the statements of a search it already ran (same query, same buyer
price) and still reads the rows as they are now; another query, or a buyer paying tier prices,
gets statements of its own (tests/integration/test_marketplace_filters.py checks the tier prices
through the page), and the cache keeps at most MAX_PLANS."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from reup_app.models.catalog import Product
from reup_app.security.principal import ANONYMOUS
from reup_app.services.catalog import search
from reup_app.services.catalog.catalog_query import CatalogQuery
from tests.integration.orderkit import call, make_seller, stock

pytestmark = pytest.mark.mysql


def test_a_repeated_search_reuses_its_statements_and_reads_fresh_rows(session, engine, monkeypatch):
    tag = uuid.uuid4().hex[:8]
    seller = make_seller(session)
    product = stock(session, seller, qty="10", name=f"Planweed {tag}")[0]
    built = []
    real = search._product_filters
    monkeypatch.setattr(search, "_product_filters", lambda *a, **k: built.append(a[0]) or real(*a, **k))

    def find(**raw):
        return call(engine, ANONYMOUS, search.search_catalog, CatalogQuery.parse(**raw))

    first = find(seller_entity_id=str(seller.id))
    assert [i.available_qty for i in first.items] == [Decimal("10")] and len(built) == 1
    row = session.get(Product, product.id)
    assert row is not None
    row.available_qty = Decimal("4")
    session.add(row)
    session.commit()
    again = find(seller_entity_id=str(seller.id))
    assert [i.available_qty for i in again.items] == [Decimal("4")] and len(built) == 1  # same statements

    assert [i.name for i in find(text=f"Planweed {tag}").items] == [f"Planweed {tag}"] and len(built) == 2
    assert find(seller_entity_id=str(seller.id), in_stock="1").total == 1 and len(built) == 3

    monkeypatch.setattr(search, "MAX_PLANS", 1)
    find(seller_entity_id=str(seller.id), sort="newest")  # evicts every other plan
    assert len(search._PLANS) == 1
    find(seller_entity_id=str(seller.id))
    assert len(built) == 5
