"""Dashboards computed from known data: queues, sales by product/customer per day and week,
receivables, retailer open orders, spend by vendor and recently ordered products."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import update

from reup_app.errors import NotAuthenticated, PermissionDenied, ValidationError
from reup_app.models import Order
from reup_app.models.types import utcnow
from reup_app.security.principal import ANONYMOUS, Principal
from reup_app.services.billing import payments
from reup_app.services.ordering import order_views, orders
from reup_app.services.reporting import dashboards
from tests.integration.orderkit import (
    advance,
    call,
    fresh,
    make_buyer,
    make_seller,
    place,
    stock,
)

pytestmark = pytest.mark.mysql

D = Decimal
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)  # a Thursday


def _at(engine, number, day: str, hour: int = 10):
    with fresh(engine) as s:
        s.execute(
            update(Order)
            .where(Order.number == number)
            .values(submitted_at=datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC))
        )
        s.commit()


@pytest.fixture
def book(engine, session):
    class Book:
        s = make_seller(session)
        s2 = make_seller(session)
        b1 = make_buyer(session, name=f"Alpha Retail {utcnow().timestamp()}")
        b2 = make_buyer(session, name=f"Beta Retail {utcnow().timestamp()}")

    bk = Book()
    bk.p1, _ = stock(session, bk.s, qty="1000", price="10.00", name="P1 Flower")
    bk.p2, _ = stock(session, bk.s, qty="1000", price="5.00", name="P2 Vape")
    bk.q, _ = stock(session, bk.s2, qty="1000", price="25.00", name="Q Edible")

    def order(buyer, items, day, *actions, seller=None):
        number = place(engine, buyer, items).orders[0].number
        _at(engine, number, day)
        if actions:
            advance(engine, seller or bk.s, number, *actions)
        return number

    bk.o1 = order(bk.b1, [(bk.p1, "2")], "2026-01-15", "accept")
    bk.o2 = order(bk.b1, [(bk.p2, "1"), (bk.p1, "1")], "2026-01-14", "accept", "fulfill", "ship")
    bk.o3 = order(bk.b2, [(bk.p1, "3")], "2026-01-08", "accept", "fulfill", "ship", "deliver", "complete")
    bk.o4 = order(bk.b2, [(bk.p2, "4")], "2026-01-15")  # submitted: not a sale yet
    bk.o5 = order(bk.b1, [(bk.p2, "1")], "2026-01-15")
    call(engine, bk.b1.p["buyer"], orders.transition, bk.o5, "cancel")
    bk.o6 = order(bk.b2, [(bk.p1, "1")], "2025-12-01", "accept")  # outside the window
    bk.o7 = order(bk.b2, [(bk.p2, "2")], "2026-01-13", "accept", "fulfill")
    bk.o8 = order(bk.b1, [(bk.q, "2")], "2026-01-10", "accept", seller=bk.s2)
    return bk


def test_wholesaler_queues_and_daily_sales(engine, book):
    board = call(engine, book.s.p["viewer"], dashboards.wholesaler_dashboard, days=14, now=NOW)
    assert (board.incoming.count, [o.number for o in board.incoming.orders]) == (1, [book.o4])
    assert board.backorder.count == 0
    assert (board.fulfillment.count, {o.number for o in board.fulfillment.orders}) == (2, {book.o1, book.o6})
    assert (board.shipment.count, [o.number for o in board.shipment.orders]) == (1, [book.o7])

    sales = board.sales
    assert (sales.start, sales.end, len(sales.buckets)) == (date(2026, 1, 2), date(2026, 1, 15), 14)
    assert sales.total_amount == D("75.00") and sales.order_count == 4
    by_day = dict(zip(sales.buckets, sales.totals_by_bucket, strict=True))
    assert by_day[date(2026, 1, 15)] == D("20.00")
    assert by_day[date(2026, 1, 14)] == D("15.00")
    assert by_day[date(2026, 1, 13)] == D("10.00")
    assert by_day[date(2026, 1, 8)] == D("30.00")
    assert sum(by_day.values()) == D("75.00")
    points = {(p.bucket, p.label): (p.amount, p.quantity, p.orders) for p in sales.by_product}
    assert points == {
        (date(2026, 1, 15), "P1 Flower"): (D("20.00"), D("2.000"), 1),
        (date(2026, 1, 14), "P1 Flower"): (D("10.00"), D("1.000"), 1),
        (date(2026, 1, 14), "P2 Vape"): (D("5.00"), D("1.000"), 1),
        (date(2026, 1, 13), "P2 Vape"): (D("10.00"), D("2.000"), 1),
        (date(2026, 1, 8), "P1 Flower"): (D("30.00"), D("3.000"), 1),
    }
    assert [(t.label, t.amount, t.quantity, t.orders) for t in sales.product_totals] == [
        ("P1 Flower", D("60.00"), D("6.000"), 3),
        ("P2 Vape", D("15.00"), D("3.000"), 2),
    ]
    assert [(t.key, t.amount, t.orders) for t in sales.customer_totals] == [
        (book.b2.id, D("40.00"), 2),
        (book.b1.id, D("35.00"), 2),
    ]
    rows = sales.chart_data("product", top=1)
    assert rows[-1] == {"bucket": "2026-01-15", "P1 Flower": 20.0}
    assert rows[-2] == {"bucket": "2026-01-14", "P1 Flower": 10.0, "Other": 5.0}
    assert rows[0] == {"bucket": "2026-01-02"}


def test_weekly_sales(engine, book):
    sales = call(engine, book.s.owner, dashboards.sales_report, days=14, granularity="week", now=NOW)
    assert sales.buckets == [date(2025, 12, 29), date(2026, 1, 5), date(2026, 1, 12)]
    assert sales.totals_by_bucket == [D("0"), D("30.00"), D("45.00")]
    week = {(p.bucket, p.key): p.amount for p in sales.by_customer}
    assert week == {
        (date(2026, 1, 5), book.b2.id): D("30.00"),
        (date(2026, 1, 12), book.b2.id): D("10.00"),
        (date(2026, 1, 12), book.b1.id): D("35.00"),
    }
    wider = call(engine, book.s.owner, dashboards.sales_report, days=60, granularity="week", now=NOW)
    assert wider.total_amount == D("85.00")  # now includes the December order


def test_receivables(engine, book):
    board = call(engine, book.s.owner, dashboards.wholesaler_dashboard, now=utcnow() - timedelta(minutes=5))
    assert (board.receivables.open_count, board.receivables.open_total) == (2, D("45.00"))
    assert board.receivables.overdue_count == 0  # not yet due
    later = call(engine, book.s.owner, dashboards.wholesaler_dashboard, now=utcnow() + timedelta(days=1))
    assert (later.receivables.overdue_count, later.receivables.overdue_total) == (2, D("45.00"))  # cod: due at ship
    detail = call(engine, book.s.owner, order_views.get_order, book.o3)
    call(engine, book.s.owner, payments.record_payment, detail.invoice_number, "30.00", "cash")
    board = call(engine, book.s.owner, dashboards.wholesaler_dashboard)
    assert (board.receivables.open_count, board.receivables.open_total) == (1, D("15.00"))


def test_retailer_dashboard(engine, book):
    board = call(engine, book.b1.p["buyer"], dashboards.retailer_dashboard, days=14, now=NOW)
    assert (board.open_orders.count, {o.number for o in board.open_orders.orders}) == (3, {book.o1, book.o2, book.o8})
    assert [(v["seller_entity_id"], v["amount"], v["orders"]) for v in board.spend_by_vendor] == [
        (book.s2.id, D("50.00"), 1),
        (book.s.id, D("35.00"), 2),
    ]
    recent = [(r["product_id"], r["last_quantity"], r["order_number"]) for r in board.recently_ordered]
    assert recent == [
        (book.p1.id, D("2.000"), book.o1),
        (book.p2.id, D("1.000"), book.o2),
        (book.q.id, D("2.000"), book.o8),
    ]
    assert all(r["orderable"] for r in board.recently_ordered)
    assert (board.payables.open_count, board.payables.open_total) == (1, D("15.00"))


def test_dashboard_arguments_and_access(engine, book):
    with pytest.raises(ValidationError):
        call(engine, book.s.owner, dashboards.sales_report, days=0)
    with pytest.raises(ValidationError):
        call(engine, book.s.owner, dashboards.sales_report, granularity="hour")
    with pytest.raises(PermissionDenied):
        call(
            engine,
            Principal(user_id=book.s.owner.user_id, entity_id=book.s.id, roles=frozenset()),
            dashboards.wholesaler_dashboard,
        )
    with pytest.raises(NotAuthenticated):
        call(engine, ANONYMOUS, dashboards.retailer_dashboard)
