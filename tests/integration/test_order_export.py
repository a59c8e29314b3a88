"""Order list filters (date range, counterparty, sort) and the CSV export of orders and lines, for
both sides, through a single-use download ticket bound to the exact filters."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from starlette.testclient import TestClient

from reup_app.api.routes import build_api
from reup_app.errors import ValidationError
from reup_app.models import Order
from reup_app.services.ordering import order_export, order_views
from reup_app.services.ordering.order_filters import OrderFilters
from reup_app.settings import get_settings
from tests.integration.orderkit import call, make_buyer, make_seller, place_one, stock

pytestmark = pytest.mark.mysql

D = Decimal


@pytest.fixture
def book(session, engine):
    seller = make_seller(session)
    product, _ = stock(session, seller, qty="100", price="10.00")
    b1, b2 = make_buyer(session), make_buyer(session)
    numbers = {
        "jan": place_one(engine, b1, product, "1"),
        "feb": place_one(engine, b1, product, "5"),
        "mar": place_one(engine, b2, product, "3"),
    }
    session.commit()  # end the fixture session's snapshot: it sees the orders placed meanwhile
    for key, day in (("jan", date(2026, 1, 10)), ("feb", date(2026, 2, 10)), ("mar", date(2026, 3, 10))):
        order = session.query(Order).filter(Order.number == numbers[key]).one()
        order.created_at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
        session.add(order)
    session.commit()
    return seller, b1, b2, product, numbers


def _numbers(engine, principal, **kw):
    return [o.number for o in call(engine, principal, order_views.list_orders, **kw).items]


def test_filters_by_date_range_counterparty_and_sorts(engine, book):
    seller, b1, b2, _p, n = book
    owner = seller.owner
    assert _numbers(engine, owner, placed_from="2026-02-01", placed_to="2026-03-10") == [n["mar"], n["feb"]]
    assert _numbers(engine, owner, counterparty_id=b1.id) == [n["feb"], n["jan"]]
    assert _numbers(engine, owner, sort="total_desc") == [n["feb"], n["mar"], n["jan"]]
    assert _numbers(engine, owner, sort="oldest") == [n["jan"], n["feb"], n["mar"]]
    assert _numbers(engine, b1.p["buyer"], counterparty_id=seller.id) == [n["feb"], n["jan"]]
    assert _numbers(engine, b2.p["buyer"], counterparty_id=b1.id) == []  # not its counterparty: nothing
    names = call(engine, owner, order_views.order_counterparties)
    assert sorted(i for i, _ in names) == sorted([b1.id, b2.id])
    with pytest.raises(ValidationError, match="ends before it starts"):
        call(engine, owner, order_views.list_orders, placed_from="2026-03-01", placed_to="2026-02-01")


def test_csv_export_of_orders_and_lines_through_a_one_time_ticket(engine, book):
    seller, b1, _b2, product, n = book
    client = TestClient(build_api(), base_url=get_settings().app_url)
    filters = OrderFilters.parse(counterparty_id=b1.id, sort="oldest")
    ticket = call(engine, seller.owner, order_export.create_export_ticket, "orders", filters)
    url = "/api/orders/export/orders.csv"
    r = client.get(url, params={"f": filters.to_ref(), "ticket": ticket})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0][:3] == ["Order", "Side", "Counterparty"]
    assert [(row[0], row[1], row[2], row[-1]) for row in rows[1:]] == [
        (n["jan"], "sold", b1.entity.name, "10.00"),
        (n["feb"], "sold", b1.entity.name, "50.00"),
    ]
    assert client.get(url, params={"f": filters.to_ref(), "ticket": ticket}).status_code == 401  # used up
    # a ticket is bound to its filters: asking for other filters with it is refused
    ticket = call(engine, seller.owner, order_export.create_export_ticket, "orders", filters)
    other = OrderFilters.parse(sort="oldest").to_ref()
    assert client.get(url, params={"f": other, "ticket": ticket}).status_code == 403
    # lines, the buyer's side
    mine = OrderFilters.parse(sort="oldest")
    ticket = call(engine, b1.p["buyer"], order_export.create_export_ticket, "lines", mine)
    r = client.get("/api/orders/export/lines.csv", params={"f": mine.to_ref(), "ticket": ticket})
    lines = list(csv.reader(io.StringIO(r.text)))[1:]
    assert [(ln[0], ln[1], ln[5], ln[7]) for ln in lines] == [
        (n["jan"], "bought", product.sku, "1.000"),
        (n["feb"], "bought", product.sku, "5.000"),
    ]


def test_csv_cells_never_start_a_formula():
    assert order_export._cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and order_export._cell("Acme") == "Acme"
