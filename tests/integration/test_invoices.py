"""Invoices created at shipment, their PDF, payments, balances, overdue state and holds."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from reup_app.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from reup_app.models import Invoice, Payment
from reup_app.models.types import utcnow
from reup_app.services.billing import invoices, payments
from reup_app.services.compliance.license_calendar import license_today, state_zone
from tests.integration.orderkit import (
    EventLog,
    advance,
    call,
    db_state,
    fresh,
    make_buyer,
    make_party,
    make_seller,
    order_row,
    place_one,
    stock,
)

pytestmark = pytest.mark.mysql

D = Decimal


@pytest.fixture
def trade(session):
    class Trade:
        seller = make_seller(session, terms="cod,prepay,net_7,net_15,net_30,net_60")
        buyer = make_buyer(session)
        outsider = make_party(session, "both", roles=("owner", "admin", "sales", "buyer", "viewer"))

    t = Trade()
    t.product, _ = stock(session, t.seller, qty="100", price="19.99", name="Blue Dream 3.5g")
    return t


def shipped(engine, t, qty="3", terms="cod") -> str:
    number = place_one(engine, t.buyer, t.product, qty, choices={t.seller.id: {"payment_terms": terms}})
    advance(engine, t.seller, number, "accept", "fulfill", "ship")
    return number


def invoice_of(engine, number) -> Invoice:
    order = order_row(engine, number)
    with fresh(engine) as s:
        return s.execute(select(Invoice).where(Invoice.order_id == order.id)).scalars().one()


@pytest.mark.parametrize("terms,days", [("cod", 0), ("prepay", 0), ("net_7", 7), ("net_30", 30), ("net_60", 60)])
def test_invoice_created_at_ship_with_due_date_from_terms(engine, trade, terms, days):
    number = place_one(engine, trade.buyer, trade.product, "3", choices={trade.seller.id: {"payment_terms": terms}})
    advance(engine, trade.seller, number, "accept", "fulfill")
    with fresh(engine) as s:  # no invoice before shipping
        assert s.execute(select(Invoice).where(Invoice.order_id == order_row(engine, number).id)).first() is None
    with EventLog() as log:
        advance(engine, trade.seller, number, "ship")
    order = order_row(engine, number)
    inv = invoice_of(engine, number)
    assert inv.number == "INV-" + number[3:]
    assert (inv.subtotal, inv.tax, inv.total, inv.amount_paid, inv.status) == (
        D("59.97"),
        D("0.00"),
        D("59.97"),
        D("0.00"),
        "open",
    )
    assert (inv.seller_entity_id, inv.buyer_entity_id) == (trade.seller.id, trade.buyer.id)
    assert inv.issued_at == order.shipped_at
    assert inv.due_at == order.shipped_at + timedelta(days=days)
    created = log.of("invoice.created")
    assert len(created) == 1 and set(created[0].entity_ids) == {trade.seller.id, trade.buyer.id}
    dto = call(engine, trade.buyer.p["viewer"], invoices.get_invoice, inv.number)
    assert dto.order_number == number and dto.payment_terms == terms and dto.balance == D("59.97")
    assert [(ln.sku, ln.quantity, ln.unit_price, ln.line_total) for ln in dto.lines] == [
        (trade.product.sku, D("3.000"), D("19.99"), D("59.97"))
    ]


def test_invoice_pdf(engine, trade):
    number = shipped(engine, trade)
    inv = invoice_of(engine, number)
    call(engine, trade.seller.owner, payments.record_payment, inv.number, "10.00", "check", "CHK-1001")
    for who in (trade.seller.p["viewer"], trade.buyer.p["buyer"]):
        pdf = call(engine, who, invoices.render_invoice_pdf, inv.number)
        assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
        assert inv.number.encode() in pdf and number.encode() in pdf
        assert b"Blue Dream 3.5g" in pdf and b"49.97" in pdf  # balance after the payment
    with pytest.raises(NotFound):
        call(engine, trade.outsider.owner, invoices.render_invoice_pdf, inv.number)


def test_payments_balance_and_paid_status(engine, trade):
    number = shipped(engine, trade)
    inv = invoice_of(engine, number)
    seller = trade.seller.p["sales"]
    with EventLog() as log:
        dto = call(engine, seller, payments.record_payment, inv.number, "20.00", "ach", "ACH-1")
    assert (dto.amount_paid, dto.balance, dto.status) == (D("20.00"), D("39.97"), "open")
    assert log.of("invoice.payment_recorded")[0].payload["balance"] == "39.97"
    bad = [
        ("0", "cash"),
        ("-5", "cash"),
        ("39.98", "cash"),
        ("1.001", "cash"),
        ("abc", "cash"),
        ("5", "bitcoin"),
        ("5", None),
    ]
    before = db_state(engine, entity_ids=[trade.seller.id, trade.buyer.id])
    for amount, method in bad:
        with pytest.raises(ValidationError):
            call(engine, seller, payments.record_payment, inv.number, amount, method)
    with pytest.raises(ValidationError, match="future"):
        call(engine, seller, payments.record_payment, inv.number, "5", "cash", None, utcnow() + timedelta(days=2))
    with pytest.raises(Conflict, match="already recorded"):
        call(engine, seller, payments.record_payment, inv.number, "5.00", "ach", "ACH-1")
    for role in ("viewer", "fulfillment", "buyer"):
        with pytest.raises(PermissionDenied):
            call(engine, trade.seller.p[role], payments.record_payment, inv.number, "5", "cash")
    with pytest.raises(PermissionDenied):
        call(engine, trade.buyer.owner, payments.record_payment, inv.number, "5", "cash")
    with pytest.raises(NotFound):
        call(engine, trade.outsider.owner, payments.record_payment, inv.number, "5", "cash")
    assert db_state(engine, entity_ids=[trade.seller.id, trade.buyer.id]) == before
    received = utcnow() - timedelta(days=1)
    dto = call(engine, seller, payments.record_payment, inv.number, "39.97", "wire", "W-77", received)
    assert (dto.amount_paid, dto.balance, dto.status, dto.is_overdue) == (D("59.97"), D("0.00"), "paid", False)
    assert [(p.amount, p.method, p.reference) for p in dto.payments] == [
        (D("39.97"), "wire", "W-77"),
        (D("20.00"), "ach", "ACH-1"),
    ]  # oldest received first
    with pytest.raises(Conflict, match="paid in full"):
        call(engine, seller, payments.record_payment, inv.number, "1", "cash")
    with fresh(engine) as s:
        assert len(s.execute(select(Payment).where(Payment.invoice_id == inv.id)).all()) == 2


def test_overdue_and_listing(engine, session, trade):
    late = shipped(engine, trade, terms="net_7")
    fresh_one = shipped(engine, trade, terms="net_30")
    inv = invoice_of(engine, late)
    session.commit()  # end the fixture session's snapshot
    row = session.get(Invoice, inv.id)
    row.issued_at = utcnow() - timedelta(days=20)
    row.due_at = utcnow() - timedelta(days=13, hours=1)
    session.add(row)
    session.commit()
    dto = call(engine, trade.buyer.owner, invoices.get_invoice, inv.number)
    state = trade.seller.license.state
    expected = (license_today(state) - row.due_at.astimezone(state_zone(state)).date()).days  # 13 or 14 by hour
    assert dto.is_overdue and dto.days_overdue == expected and expected in (13, 14)
    assert invoices.is_overdue(row, state) and not invoices.is_overdue(invoice_of(engine, fresh_one), state)
    overdue = call(engine, trade.seller.owner, invoices.list_invoices, side="seller", status="overdue")
    assert [i.number for i in overdue.items] == [inv.number]
    assert call(engine, trade.buyer.owner, invoices.list_invoices, side="buyer", status="overdue").total == 1
    assert call(engine, trade.buyer.owner, invoices.list_invoices, side="seller").total == 0
    assert call(engine, trade.seller.owner, invoices.list_invoices).total == 2
    assert call(engine, trade.outsider.owner, invoices.list_invoices).total == 0
    call(engine, trade.seller.owner, payments.record_payment, inv.number, str(inv.total), "cash")
    dto = call(engine, trade.buyer.owner, invoices.get_invoice, inv.number)
    assert not dto.is_overdue and dto.status == "paid"
    assert call(engine, trade.seller.owner, invoices.list_invoices, status="overdue").total == 0


def test_invoices_of_other_entities_are_not_found(engine, trade):
    inv = invoice_of(engine, shipped(engine, trade))
    for role in ("owner", "admin", "sales", "buyer", "viewer"):
        for fn in (invoices.get_invoice, invoices.render_invoice_pdf, payments.list_payments):
            with pytest.raises(NotFound):
                call(engine, trade.outsider.p[role], fn, inv.number)
    with pytest.raises(NotFound):
        call(engine, trade.seller.owner, invoices.get_invoice, "INV-00000000")


def test_buyer_hold(engine, session, trade):
    stranger = make_buyer(session)
    with pytest.raises(NotFound):  # not a customer of this seller
        call(engine, trade.seller.owner, payments.set_buyer_hold, stranger.id, True, "x")
    place_one(engine, trade.buyer, trade.product)
    for role in ("viewer", "fulfillment", "buyer"):
        with pytest.raises(PermissionDenied):
            call(engine, trade.seller.p[role], payments.set_buyer_hold, trade.buyer.id, True)
    with EventLog() as log:
        hold = call(engine, trade.seller.p["sales"], payments.set_buyer_hold, trade.buyer.id, True, "60 days late")
    assert (hold.on_hold, hold.reason, hold.buyer_name) == (True, "60 days late", trade.buyer.entity.name)
    assert set(log.of("customer.hold_changed")[0].entity_ids) == {trade.seller.id, trade.buyer.id}
    again = call(engine, trade.seller.owner, payments.set_buyer_hold, trade.buyer.id, False)
    assert (again.on_hold, again.reason) == (False, None)
    with pytest.raises(ValidationError):
        call(engine, trade.seller.owner, payments.set_buyer_hold, trade.buyer.id, "yes")


def test_due_today_is_not_overdue_and_pages_lists_and_dashboards_agree(engine, session, trade):
    from reup_app.services.billing.overdue import start_of_today
    from reup_app.services.reporting import dashboards

    inv = invoice_of(engine, shipped(engine, trade, terms="net_7"))
    state = trade.seller.license.state
    session.commit()

    def due(at):
        row = session.get(Invoice, inv.id)
        row.due_at = at
        session.add(row)
        session.commit()
        dto = call(engine, trade.buyer.owner, invoices.get_invoice, inv.number)
        listed = call(engine, trade.seller.owner, invoices.list_invoices, side="seller", status="overdue").total
        board = call(engine, trade.seller.owner, dashboards.wholesaler_dashboard).receivables.overdue_count
        mine = call(engine, trade.buyer.owner, dashboards.retailer_dashboard).payables.overdue_count
        return dto.is_overdue, dto.days_overdue, listed, board, mine

    midnight = start_of_today(state)  # today began at this instant in the license's state
    assert due(midnight + timedelta(minutes=1)) == (False, 0, 0, 0, 0)  # due today, already past: not overdue
    assert due(midnight - timedelta(minutes=1)) == (True, 1, 1, 1, 1)  # due yesterday: 1 day
