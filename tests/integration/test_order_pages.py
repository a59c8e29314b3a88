"""OrdersState and OrderDetailState on MySQL: lists per side, the actions each side may take, line
edits, messages, payments, holds, refusals shown as messages, and live reloads."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from reup_app.errors import NotFound
from reup_app.events.core import DomainEvent
from reup_app.models import Delivery, Order, TradeRelationship
from reup_app.services.billing import payments
from reup_app.services.ordering import checkout_licenses
from reup_app.state.arg_guard import MALFORMED
from reup_app.state.order_detail import OrderDetailState
from reup_app.state.orders import OrdersState
from tests.integration.orderkit import advance, call, fresh, make_buyer, make_seller, order_row, place, place_one, stock
from tests.integration.statekit import Tab, email_of, frontend_json, run

D = Decimal


def _detail(session, principal, number: str) -> OrderDetailState:
    page = Tab().sign_in(email_of(session, principal)).at(f"/orders/{number}").state(OrderDetailState)
    run(page.load())
    return page


def test_order_pages_need_sign_in(session):
    for cls, path in ((OrdersState, "/orders"), (OrderDetailState, "/orders/RU-1")):
        page = Tab().at(path).state(cls)
        events = run(page.load())  # signed out: restore from the cookie, else sign-in (the page guard)
        assert "/api/auth/restore" in str(events) and "finish_restore_required" in str(events)


def test_list_shows_each_side_its_counterparty_and_filters_by_status(session, engine):
    seller, buyer = make_seller(session), make_buyer(session)
    product, _ = stock(session, seller)
    first = place_one(engine, buyer, product, "1")
    second = place_one(engine, buyer, product, "2")
    advance(engine, seller, second, "accept")

    bought = Tab().sign_in(email_of(session, buyer.p["buyer"])).at("/orders").state(OrdersState)
    run(bought.load())
    assert [r["number"] for r in bought.rows] == [second, first]
    assert {r["counterparty"] for r in bought.rows} == {seller.entity.name}
    assert bought.rows[0]["status_label"] == "Accepted" and bought.rows[0]["side"] == "Bought from"

    sold = Tab().sign_in(email_of(session, seller.p["sales"])).at("/orders", {"status": "submitted"}).state(OrdersState)
    run(sold.load())
    assert [r["number"] for r in sold.rows] == [first] and sold.rows[0]["counterparty"] == buyer.entity.name
    run(sold.set_status("nonsense"))
    assert sold.error == "Unknown status filter." and [r["number"] for r in sold.rows] == [first]
    run(sold.set_status("all"))
    assert len(sold.rows) == 2

    # Live: a change to a shown order reloads; unrelated events do not.
    advance(engine, seller, first, "accept")
    run(sold._on_domain_event(DomainEvent("order.status_changed", (seller.id,), {"order_number": "RU-0"})))
    assert next(r for r in sold.rows if r["number"] == first)["status"] == "submitted"
    run(sold._on_domain_event(DomainEvent("order.status_changed", (seller.id,), {"order_number": first})))
    assert next(r for r in sold.rows if r["number"] == first)["status"] == "accepted"


def test_seller_moves_order_to_shipped_and_buyer_sees_timeline_and_invoice(session, engine):
    seller, buyer = make_seller(session), make_buyer(session)
    product, (lot,) = stock(session, seller, qty="20")
    number = place_one(engine, buyer, product, "3")

    buyer_page = _detail(session, buyer.p["buyer"], number)
    assert buyer_page.actions == ["cancel"] and buyer_page.can_reorder and not buyer_page.can_edit_lines
    run(buyer_page.act("accept"))  # not offered to the buyer, and refused by the service anyway
    assert (
        buyer_page.error == "Only the seller can accept this order." and order_row(engine, number).status == "submitted"
    )

    seller_page = _detail(session, seller.p["sales"], number)
    assert seller_page.actions == ["accept", "backorder", "reject"] and seller_page.can_edit_lines
    run(seller_page.act("reject"))
    assert seller_page.error == "Give the buyer a reason for rejecting the order."
    run(seller_page.act("drop_table"))
    assert seller_page.error == "Unknown order action."
    seller_page.set_driver_name("Dana Ruiz")
    seller_page.set_vehicle("Van 7")
    for action, status in (("accept", "accepted"), ("fulfill", "fulfilled"), ("ship", "shipped")):
        run(seller_page.act(action))
        assert seller_page.error == "" and seller_page.order["status"] == status
    assert lot.package_label in seller_page.lines[0]["packages"] and seller_page.lines[0]["confirmed"] == "yes"
    run(seller_page.act("accept"))  # a late repeat of an earlier click replays quietly
    assert seller_page.error == "" and seller_page.order["status"] == "shipped" and len(seller_page.events) == 4
    assert seller_page.invoice["number"].startswith("INV-") and seller_page.can_record_payment
    with fresh(engine) as s:
        delivery = (
            s.execute(select(Delivery).join(Order, Order.id == Delivery.order_id).where(Order.number == number))
            .scalars()
            .one()
        )
    assert (delivery.driver_name, delivery.vehicle) == ("Dana Ruiz", "Van 7")

    run(buyer_page._on_domain_event(DomainEvent("order.status_changed", (buyer.id,), {"order_number": number})))
    assert buyer_page.order["status"] == "shipped" and buyer_page.actions == []
    assert [e["what"].split(" ")[0] for e in buyer_page.events] == ["Order", "Accepted", "Fulfilled", "Shipped;"]
    assert seller.entity.name in buyer_page.events[1]["who"]
    assert buyer_page.invoice["balance"] == seller_page.invoice["total"] and not buyer_page.can_record_payment


def test_buyer_cancels_with_reason_and_reorders(session, engine):
    seller, buyer = make_seller(session), make_buyer(session)
    product, _ = stock(session, seller)
    number = place_one(engine, buyer, product, "2")
    page = _detail(session, buyer.p["buyer"], number)
    page.ask_cancel()
    assert page.confirming_cancel
    run(page.act("cancel"))  # no reason: refused by the page, nothing changes
    assert page.error == "Tell the seller why you are cancelling the order." and page.order["status"] == "submitted"
    page.set_reason("Ordered twice by mistake")
    run(page.act("cancel"))
    assert not page.confirming_cancel
    assert page.order["status"] == "cancelled" and "Ordered twice by mistake" in page.events[-1]["what"]
    run(page.reorder())
    assert page.notice == "Added 1 product(s) to your cart."


def test_seller_edits_lines_before_accepting(session, engine):
    seller, buyer = make_seller(session), make_buyer(session)
    p1, _ = stock(session, seller, price="5.00")
    p2, _ = stock(session, seller, price="7.00")
    number = place(engine, buyer, [(p1, "4"), (p2, "1")]).orders[0].number
    page = _detail(session, seller.p["sales"], number)
    line1, line2 = page.lines
    run(page.change_line(line1["id"], "2"))
    assert page.error == "" and page.lines[0]["quantity"] == "2"
    run(page.change_line(line1["id"], "-1"))
    assert page.error == "Quantity must be greater than zero."
    run(page.remove_line(line2["id"]))
    assert len(page.lines) == 1 and page.order["total"] == "$10.00"
    run(page.remove_line(page.lines[0]["id"]))
    assert page.error == "An order needs at least one line; reject the order instead."
    assert "Lines edited" in page.events[-1]["what"]

    buyer_page = _detail(session, buyer.p["buyer"], number)
    run(buyer_page.change_line(buyer_page.lines[0]["id"], "1"))
    assert buyer_page.error == "Only the seller can edit an order's lines."


def test_messages_payments_and_holds(session, engine):
    seller, buyer = make_seller(session), make_buyer(session)
    product, _ = stock(session, seller, price="100.00")
    number = place_one(engine, buyer, product, "1")
    advance(engine, seller, number, "accept", "fulfill", "ship")

    buyer_page = _detail(session, buyer.p["buyer"], number)
    run(buyer_page.send_message())
    assert buyer_page.error == "Write a message first."
    buyer_page.set_message_body("When will it arrive?")
    run(buyer_page.send_message())
    assert buyer_page.thread[-1]["body"] == "When will it arrive?" and buyer_page.message_body == ""
    run(buyer_page.set_hold(True))
    assert buyer_page.error == "You are not allowed to do that."

    seller_page = _detail(session, seller.p["sales"], number)
    assert seller_page.thread[-1]["author"] and seller_page.can_hold and not seller_page.buyer_on_hold
    seller_page.set_payment_amount("500")
    run(seller_page.record_payment())
    assert "more than the $100.00 still due" in seller_page.error
    seller_page.set_payment_method("bitcoin")
    assert seller_page.error == "Choose cash, check, ACH or wire."
    seller_page.set_payment_amount("40")
    seller_page.set_payment_method("check")
    seller_page.set_payment_reference("CHK-1001")
    run(seller_page.record_payment())
    assert seller_page.error == "" and seller_page.invoice["balance"] == "$60.00"
    assert seller_page.payment_rows[0]["reference"] == "CHK-1001"

    seller_page.set_reason("Balance overdue")
    run(seller_page.set_hold(True))
    assert seller_page.buyer_on_hold and seller_page.hold_reason == "Balance overdue"
    with fresh(engine) as s:
        rel = (
            s.execute(
                select(TradeRelationship).where(
                    TradeRelationship.seller_entity_id == seller.id, TradeRelationship.buyer_entity_id == buyer.id
                )
            )
            .scalars()
            .one()
        )
        assert rel.on_hold
    assert MALFORMED in str(run(seller_page.set_hold("yes")))  # refused by the argument guard
    assert seller_page.buyer_on_hold
    run(seller_page.set_hold(False))
    assert not seller_page.buyer_on_hold

    # Nothing secret or foreign reaches the browser: no ids of the other side, no tokens.
    sent = frontend_json(seller_page)
    assert "_access_token" not in sent and str(buyer.license.id) not in seller_page.order.values()


def test_other_business_cannot_open_an_order(session, engine):
    seller, buyer, stranger = make_seller(session), make_buyer(session), make_buyer(session)
    product, _ = stock(session, seller)
    number = place_one(engine, buyer, product, "1")
    page = _detail(session, stranger.p["owner"], number)
    assert page.error == f"Order {number} was not found." and page.order == {}
    run(page.act("cancel"))
    assert page.error == f"Order {number} was not found." and order_row(engine, number).status == "submitted"


def test_hold_status_and_licenses_are_only_readable_for_own_business(session, engine):
    seller, buyer, other_seller = make_seller(session), make_buyer(session), make_seller(session)
    product, _ = stock(session, seller)
    place_one(engine, buyer, product, "1")
    assert not call(engine, seller.p["viewer"], payments.get_buyer_hold, buyer.id).on_hold
    # Another seller never traded with the buyer; the buyer is not a seller to its supplier.
    for who, target in ((other_seller.owner, buyer.id), (buyer.owner, seller.id)):
        with pytest.raises(NotFound, match="That customer was not found."):
            call(engine, who, payments.get_buyer_hold, target)
    assert [lic.id for lic in call(engine, buyer.p["buyer"], checkout_licenses.buyer_licenses)] == [buyer.license.id]


def test_list_search_by_number_and_counterparty(session, engine):
    seller, buyer = make_seller(session), make_buyer(session)
    product, _ = stock(session, seller)
    number = place_one(engine, buyer, product, "1")
    page = Tab().sign_in(email_of(session, seller.p["sales"])).at("/orders").state(OrdersState)
    run(page.load())
    run(page.set_search(number))
    assert [r["number"] for r in page.rows] == [number]
    run(page.set_search(buyer.entity.name))
    assert [r["number"] for r in page.rows] == [number]
    run(page.set_search("zz-no-such-business"))
    assert page.rows == [] and page.total == 0
    assert MALFORMED in str(run(page.set_search(["not", "text"])))  # refused by the argument guard
