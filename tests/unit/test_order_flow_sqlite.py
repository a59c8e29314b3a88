"""The whole order flow on SQLite (the first-run default): no row locks or index hints there, the
same results."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlmodel import Session, SQLModel

from reup_app.db import build_engine
from reup_app.models import InventoryLot, Product
from reup_app.services.billing import invoices, payments
from reup_app.services.ordering import cart, checkout_flow, messages, order_views, orders
from reup_app.services.reporting import dashboards
from tests.factories import (
    make_entity,
    make_license,
    make_lot,
    make_member,
    make_product,
)

D = Decimal


@pytest.fixture
def db(tmp_path):
    engine = build_engine(f"sqlite:///{tmp_path / 'orders.db'}")
    SQLModel.metadata.create_all(engine)

    def unit(principal=None):
        s = Session(engine, expire_on_commit=False)
        s.info["principal"] = principal
        # audit_log.id is a BIGINT key that SQLite does not auto-number (see test_catalog_sqlite).
        s.info["audit_disabled"] = True
        s.connection()  # begin: authorize() reads the acting business's kind through this session
        return s

    yield unit
    engine.dispose()


def _call(unit, principal, fn, *args, **kw):
    with unit(principal) as s:
        result = fn(s, principal, *args, **kw)
        s.commit()
        return result


def test_cart_to_paid_invoice_on_sqlite(db):
    with db() as s:
        seller = make_entity(s, "wholesaler", payment_terms_offered="cod,net_30")
        buyer = make_entity(s, "retailer")
        seller_lic, buyer_lic = make_license(s, seller), make_license(s, buyer)
        _, sp = make_member(s, seller, "owner")
        _, bp = make_member(s, buyer, "buyer")
        product = make_product(s, seller, unit_price=D("12.00"))
        make_lot(s, product, seller_lic, D("10"))
    _call(db, bp, cart.add_to_cart, product.id, "4")
    result = _call(
        db,
        bp,
        checkout_flow.checkout,
        buyer_license_id=buyer_lic.id,
        idempotency_key=uuid.uuid4().hex,
        choices={seller.id: {"payment_terms": "net_30"}},
    )
    number = result.orders[0].number
    assert result.orders[0].total == D("48.00")
    _call(db, bp, messages.post_message, number, "Thanks")
    for action in ("accept", "fulfill", "ship", "deliver"):
        _call(db, sp, orders.transition, number, action, idempotency_key=uuid.uuid4().hex)
    detail = _call(db, bp, order_views.get_order, number)
    assert detail.status == "delivered" and len(detail.events) == 5 and detail.messages[0].body == "Thanks"
    pdf = _call(db, bp, invoices.render_invoice_pdf, detail.invoice_number)
    assert pdf.startswith(b"%PDF") and detail.invoice_number.encode() in pdf
    paid = _call(db, sp, payments.record_payment, detail.invoice_number, "48.00", "ach", "A-1")
    assert paid.status == "paid"
    board = _call(db, sp, dashboards.wholesaler_dashboard)
    assert board.sales.total_amount == D("48.00") and board.sales.product_totals[0].quantity == 4
    with db() as s:
        lot = s.query(InventoryLot).filter_by(product_id=product.id).one()
        assert (lot.quantity_on_hand, lot.quantity_reserved, lot.quantity_available) == (6, 0, 6)
        assert s.get(Product, product.id).available_qty == 6
