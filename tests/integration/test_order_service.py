"""Seller line edits, order messages, order lists, and the wholesaler's lot management."""

from __future__ import annotations

from decimal import Decimal

import pytest

from reup_app.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from reup_app.services.inventory import lot_management as lot_management_service
from reup_app.services.ordering import line_edits, messages, order_views
from tests.integration.orderkit import (
    EventLog,
    advance,
    assert_stock_consistent,
    call,
    db_state,
    events_of,
    key,
    lot_row,
    make_buyer,
    make_seller,
    order_row,
    place,
    product_row,
    stock,
)

pytestmark = pytest.mark.mysql

D = Decimal


@pytest.fixture
def deal(engine, session):
    class Deal:
        seller = make_seller(session)
        buyer = make_buyer(session)

    d = Deal()
    d.p1, d.lots1 = stock(session, d.seller, qty="20", price="10.00")
    d.p2, d.lots2 = stock(session, d.seller, qty="20", price="3.00")
    d.number = place(engine, d.buyer, [(d.p1, "5"), (d.p2, "4")]).orders[0].number
    detail = call(engine, d.seller.owner, order_views.get_order, d.number)
    d.l1, d.l2 = (next(ln.id for ln in detail.lines if ln.product_id == p.id) for p in (d.p1, d.p2))
    return d


def test_seller_edits_lines_before_accepting(engine, deal):
    with EventLog() as log:
        detail = call(
            engine,
            deal.seller.p["sales"],
            line_edits.edit_lines,
            deal.number,
            [{"line_id": deal.l1, "quantity": "8", "unit_price": "9.50"}, {"line_id": deal.l2, "remove": True}],
            idempotency_key="edit-1",
        )
    assert [(ln.product_id, ln.quantity, ln.unit_price, ln.line_total) for ln in detail.lines] == [
        (deal.p1.id, D("8.000"), D("9.50"), D("76.00"))
    ]
    assert (detail.subtotal, detail.total) == (D("76.00"), D("76.00"))
    assert sum(a.quantity for a in detail.lines[0].allocations) == 8
    assert (
        lot_row(engine, deal.lots1[0].id).quantity_reserved,
        lot_row(engine, deal.lots2[0].id).quantity_reserved,
    ) == (8, 0)
    assert (product_row(engine, deal.p1.id).available_qty, product_row(engine, deal.p2.id).available_qty) == (12, 20)
    edit = detail.events[-1]
    assert edit.kind == "lines_edited" and edit.detail["total_before"] == "62.00"
    assert {c["line_id"] for c in edit.detail["changes"]} == {deal.l1, deal.l2}
    emitted = log.of("order.lines_edited")
    assert len(emitted) == 1 and set(emitted[0].entity_ids) == {deal.buyer.id, deal.seller.id}
    # the same key again changes nothing
    call(
        engine,
        deal.seller.owner,
        line_edits.edit_lines,
        deal.number,
        [{"line_id": deal.l1, "quantity": "1"}],
        idempotency_key="edit-1",
    )
    assert order_row(engine, deal.number).total == D("76.00")
    assert [e.kind for e in events_of(engine, deal.number)] == ["submitted", "lines_edited"]
    assert_stock_consistent(engine, deal.p1.id)
    assert_stock_consistent(engine, deal.p2.id)


def test_edit_lines_refusals(engine, deal):
    before = db_state(engine, entity_ids=[deal.seller.id, deal.buyer.id])
    bad = [
        [],
        [{"line_id": deal.l1, "quantity": "0"}],
        [{"line_id": deal.l1, "unit_price": "-1"}],
        [{"line_id": 999999999, "quantity": "1"}],
        [{"line_id": deal.l1, "remove": True}, {"line_id": deal.l2, "remove": True}],
        [{"line_id": deal.l1, "quantity": "2"}, {"line_id": deal.l1, "quantity": "3"}],
        [{"line_id": deal.l1, "colour": "red"}],
        [{"line_id": deal.l1, "quantity": "5"}],  # no change at all
    ]
    for changes in bad:
        with pytest.raises(ValidationError):
            call(engine, deal.seller.owner, line_edits.edit_lines, deal.number, changes)
    with pytest.raises(Conflict, match="Only 20 each"):
        call(engine, deal.seller.owner, line_edits.edit_lines, deal.number, [{"line_id": deal.l1, "quantity": "21"}])
    for role in ("viewer", "fulfillment", "buyer"):
        with pytest.raises(PermissionDenied):
            call(
                engine, deal.seller.p[role], line_edits.edit_lines, deal.number, [{"line_id": deal.l1, "quantity": "1"}]
            )
    with pytest.raises(PermissionDenied):
        call(engine, deal.buyer.owner, line_edits.edit_lines, deal.number, [{"line_id": deal.l1, "quantity": "1"}])
    assert db_state(engine, entity_ids=[deal.seller.id, deal.buyer.id]) == before
    advance(engine, deal.seller, deal.number, "accept")
    with pytest.raises(Conflict, match="before it is accepted"):
        call(engine, deal.seller.owner, line_edits.edit_lines, deal.number, [{"line_id": deal.l1, "quantity": "1"}])


def test_messages(engine, deal):
    with EventLog() as log:
        msg = call(engine, deal.buyer.p["buyer"], messages.post_message, deal.number, "  Can you deliver Friday?  ")
    assert msg.body == "Can you deliver Friday?" and msg.author_entity_id == deal.buyer.id
    assert log.of("order.message")[0].payload["preview"] == "Can you deliver Friday?"
    assert set(log.of("order.message")[0].entity_ids) == {deal.buyer.id, deal.seller.id}
    call(engine, deal.seller.p["fulfillment"], messages.post_message, deal.number, "Yes.")
    listed = call(engine, deal.seller.p["viewer"], messages.list_messages, deal.number)
    assert [(m.body, m.author_entity_name) for m in listed] == [
        ("Can you deliver Friday?", deal.buyer.entity.name),
        ("Yes.", deal.seller.entity.name),
    ]
    assert [m.body for m in call(engine, deal.buyer.owner, order_views.get_order, deal.number).messages] == [
        "Can you deliver Friday?",
        "Yes.",
    ]
    for body in ("", "   ", None, "x" * 4001, 42):
        with pytest.raises(ValidationError):
            call(engine, deal.buyer.owner, messages.post_message, deal.number, body)
    assert call(engine, deal.buyer.owner, messages.post_message, deal.number, "y" * 4000).body == "y" * 4000
    with pytest.raises(PermissionDenied):
        call(engine, deal.buyer.p["viewer"], messages.post_message, deal.number, "hi")
    assert len(call(engine, deal.buyer.owner, messages.list_messages, deal.number)) == 3


def test_list_orders_filters_and_pages(engine, session, deal):
    second = place(engine, deal.buyer, [(deal.p2, "1")]).orders[0].number
    advance(engine, deal.seller, second, "accept")
    mine = call(engine, deal.buyer.owner, order_views.list_orders, role_side="buyer")
    assert [o.number for o in mine.items] == [second, deal.number] and mine.total == 2
    assert call(engine, deal.buyer.owner, order_views.list_orders, role_side="seller").total == 0
    assert [o.number for o in call(engine, deal.seller.owner, order_views.list_orders, status="accepted").items] == [
        second
    ]
    assert call(engine, deal.seller.owner, order_views.list_orders, status=["submitted", "accepted"]).total == 2
    assert call(engine, deal.seller.owner, order_views.list_orders, status="open").total == 2
    page = call(engine, deal.seller.owner, order_views.list_orders, page=2, page_size=1)
    assert [o.number for o in page.items] == [deal.number] and page.pages == 2
    assert [o.number for o in call(engine, deal.seller.owner, order_views.list_orders, search=second[3:]).items] == [
        second
    ]
    found = call(
        engine, deal.seller.owner, order_views.list_orders, role_side="seller", search=deal.buyer.entity.name[-8:]
    )
    assert found.total == 2
    with pytest.raises(ValidationError):
        call(engine, deal.seller.owner, order_views.list_orders, status="lost")
    with pytest.raises(ValidationError):
        call(engine, deal.seller.owner, order_views.list_orders, role_side="both")


def test_lot_management(engine, session, deal):
    fulfill = deal.seller.p["fulfillment"]
    lot = call(
        engine,
        fulfill,
        lot_management_service.create_lot,
        product_id=deal.p1.id,
        license_id=deal.seller.license.id,
        package_label="1A4060300002EE1000012345",
        quantity_on_hand="7.5",
        batch_number="B-1",
        expires_on="2030-01-01",
    )
    assert (lot.quantity_available, lot.license_number) == (D("7.500"), deal.seller.license.number)
    assert product_row(engine, deal.p1.id).available_qty == D("22.500")  # 20 - 5 reserved + 7.5
    for label in ("1a4060300002ee1000012345", "1A40603", "1A4060300002EE10000123456", "1A4060300002EE10000123-5"):
        with pytest.raises(ValidationError, match="24 characters"):
            call(
                engine,
                fulfill,
                lot_management_service.create_lot,
                product_id=deal.p1.id,
                license_id=deal.seller.license.id,
                package_label=label,
                quantity_on_hand="1",
            )
    with pytest.raises(Conflict, match="already in use"):
        call(
            engine,
            fulfill,
            lot_management_service.create_lot,
            product_id=deal.p1.id,
            license_id=deal.seller.license.id,
            package_label="1A4060300002EE1000012345",
            quantity_on_hand="1",
        )
    with pytest.raises(PermissionDenied):
        call(
            engine,
            deal.seller.p["viewer"],
            lot_management_service.create_lot,
            product_id=deal.p1.id,
            license_id=deal.seller.license.id,
            package_label="1A4060300002EE1000099999",
            quantity_on_hand="1",
        )
    # adjust: count, delta, and never below what open orders reserve
    with EventLog() as log:
        adjusted = call(
            engine, fulfill, lot_management_service.adjust_lot, lot.id, delta="-2.5", reason="Damaged in storage"
        )
    assert adjusted.quantity_on_hand == D("5.000")
    changed = log.of("inventory.changed")
    assert changed[0].payload == {"product_ids": [deal.p1.id], "available": {str(deal.p1.id): "20.000"}, "public": True}
    assert changed[0].entity_ids == (deal.seller.id,)
    reserved_lot = deal.lots1[0]
    with pytest.raises(Conflict, match="reserved for open orders"):
        call(engine, fulfill, lot_management_service.adjust_lot, reserved_lot.id, quantity_on_hand="4", reason="Count")
    assert (
        call(
            engine, fulfill, lot_management_service.adjust_lot, reserved_lot.id, quantity_on_hand="5", reason="Count"
        ).quantity_available
        == 0
    )
    for kw in (
        {"reason": "x"},
        {"quantity_on_hand": "1", "delta": "1", "reason": "x"},
        {"quantity_on_hand": "1", "reason": " "},
        {"delta": "-99", "reason": "x"},
        {"delta": "0", "reason": "x"},
    ):
        with pytest.raises(ValidationError):
            call(engine, fulfill, lot_management_service.adjust_lot, lot.id, **kw)
    labels = {x.package_label for x in call(engine, fulfill, lot_management_service.list_lots, product_id=deal.p1.id)}
    assert labels == {"1A4060300002EE1000012345", reserved_lot.package_label}
    with pytest.raises(NotFound):
        call(engine, deal.buyer.owner, lot_management_service.adjust_lot, lot.id, delta="1", reason="x")
    assert_stock_consistent(engine, deal.p1.id)


def test_get_order_detail(engine, deal):
    detail = call(engine, deal.buyer.p["viewer"], order_views.get_order, deal.number)
    assert detail.side == "buyer" and detail.seller_name == deal.seller.entity.name
    assert detail.buyer_license_number == deal.buyer.license.number
    assert all(not a.confirmed for ln in detail.lines for a in ln.allocations)
    assert detail.invoice_number is None and detail.delivery_status is None
    with pytest.raises(NotFound):
        call(engine, deal.seller.owner, order_views.get_order, key())
