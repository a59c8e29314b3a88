"""A member of entity C hands A's and B's order numbers, invoice numbers, lot ids, product ids,
license ids and cart item ids to every data-changing service function: every call is refused and
the database is unchanged."""

from __future__ import annotations

import pytest

from reup_app.errors import (
    NotFound,
    PermissionDenied,
    ServiceError,
    ValidationError,
)
from reup_app.services.billing import invoices, payments
from reup_app.services.inventory import lot_management as lot_management_service
from reup_app.services.ordering import (
    cart,
    checkout_flow,
    line_edits,
    messages,
    order_views,
    orders,
    reordering,
)
from reup_app.services.reporting import dashboards
from tests.integration.orderkit import (
    advance,
    call,
    db_state,
    key,
    make_buyer,
    make_party,
    make_seller,
    order_row,
    place,
    place_one,
    stock,
)

pytestmark = pytest.mark.mysql

ROLES = ("owner", "admin", "buyer", "sales", "fulfillment", "viewer")


@pytest.fixture
def scene(engine, session):
    class Scene:
        a = make_seller(session)
        b = make_buyer(session)
        c = make_party(session, "both", roles=ROLES)

    s = Scene()
    s.product, s.lots = stock(session, s.a, qty="50")
    s.c_product, s.c_lots = stock(session, s.c, qty="50")
    s.checkout_key = key()
    s.submitted = place(engine, s.b, [(s.product, "2")], idempotency_key=s.checkout_key).orders[0].number
    s.accepted = place_one(engine, s.b, s.product, "1")
    advance(engine, s.a, s.accepted, "accept")
    s.shipped = place_one(engine, s.b, s.product, "1")
    advance(engine, s.a, s.shipped, "accept", "fulfill", "ship")
    s.invoice = call(engine, s.a.owner, order_views.get_order, s.shipped).invoice_number
    s.line_id = call(engine, s.a.owner, order_views.get_order, s.submitted).lines[0].id
    s.c_order = place_one(engine, s.b, s.c_product, "1")  # an order C sells, for C's own actions
    s.c_line_id = call(engine, s.c.owner, order_views.get_order, s.c_order).lines[0].id
    s.c_order_open = place_one(engine, s.b, s.c_product, "1")  # stays submitted
    s.cart_item = call(engine, s.b.p["buyer"], cart.add_to_cart, s.product.id, "3").cart_item_id
    return s


def attempts(s):
    """(description, function, args, kwargs) of every data-changing call C might try."""
    out = []
    for number in (s.submitted, s.accepted, s.shipped):
        for action in sorted(orders.ACTIONS):
            out.append(
                (f"transition {action} {number}", orders.transition, (number, action), {"idempotency_key": key()})
            )
        out.append(
            (
                f"edit_lines {number}",
                line_edits.edit_lines,
                (number, [{"line_id": s.line_id, "quantity": "1"}]),
                {"idempotency_key": key()},
            )
        )
        out.append((f"reorder {number}", reordering.reorder, (number,), {}))
        out.append((f"post_message {number}", messages.post_message, (number, "hello"), {}))
    out += [
        ("update B's cart item", cart.update_cart_item, (s.cart_item, "1"), {}),
        ("remove B's cart item", cart.remove_cart_item, (s.cart_item,), {}),
        (
            "checkout to B's license",
            checkout_flow.checkout,
            (),
            {"buyer_license_id": s.b.license.id, "idempotency_key": key()},
        ),
        (
            "checkout to A's license",
            checkout_flow.checkout,
            (),
            {"buyer_license_id": s.a.license.id, "idempotency_key": key()},
        ),
        ("record payment on A's invoice", payments.record_payment, (s.invoice, "1.00", "cash"), {}),
        ("hold A", payments.set_buyer_hold, (s.a.id, True, "x"), {}),
        (
            "adjust A's lot",
            lot_management_service.adjust_lot,
            (s.lots[0].id,),
            {"quantity_on_hand": "0", "reason": "x"},
        ),
        ("adjust A's lot by delta", lot_management_service.adjust_lot, (s.lots[0].id,), {"delta": "-1", "reason": "x"}),
        (
            "lot for A's product",
            lot_management_service.create_lot,
            (),
            {
                "product_id": s.product.id,
                "license_id": s.a.license.id,
                "package_label": "1A4000000000000000000001",
                "quantity_on_hand": "5",
            },
        ),
        (
            "lot under A's license",
            lot_management_service.create_lot,
            (),
            {
                "product_id": s.c_product.id,
                "license_id": s.a.license.id,
                "package_label": "1A4000000000000000000002",
                "quantity_on_hand": "5",
            },
        ),
        (
            "fulfill C's order from A's lot",
            orders.transition,
            (s.c_order, "fulfill"),
            {"idempotency_key": key(), "allocations": {s.c_line_id: [{"lot_id": s.lots[0].id, "quantity": "1"}]}},
        ),
        (
            "edit C's order with A's line",
            line_edits.edit_lines,
            (s.c_order_open, [{"line_id": s.line_id, "remove": True}]),
            {},
        ),
    ]
    return out


def test_member_of_c_cannot_change_anything_of_a_or_b(engine, scene):
    s = scene
    advance(engine, s.c, s.c_order, "accept")  # so "fulfill C's order" reaches the allocation check
    before = db_state(engine, entity_ids=[s.a.id, s.b.id, s.c.id])
    refused = 0
    for role in ROLES:
        principal = s.c.p[role]
        for what, fn, args, kw in attempts(s):
            with pytest.raises(ServiceError) as err:
                call(engine, principal, fn, *args, **kw)
            assert isinstance(err.value, (NotFound, PermissionDenied, ValidationError)), (role, what, err.value)
            if "A's" in what or "B's" in what or what.startswith(("transition", "edit_lines", "reorder", "post")):
                assert s.a.entity.name not in str(err.value) and s.b.entity.name not in str(err.value), what
            refused += 1
    assert refused == len(ROLES) * len(attempts(s))
    assert db_state(engine, entity_ids=[s.a.id, s.b.id, s.c.id]) == before
    assert order_row(engine, s.submitted).status == "submitted"


def test_orders_of_others_are_not_found_not_forbidden(engine, scene):
    s = scene
    for role in ROLES:
        p = s.c.p[role]
        for number in (s.submitted, s.accepted, s.shipped):
            with pytest.raises(NotFound) as err:
                call(engine, p, order_views.get_order, number)
            assert str(err.value) == f"Order {number} was not found."
            with pytest.raises(NotFound):
                call(engine, p, messages.list_messages, number)
            with pytest.raises(NotFound) as missing:
                call(engine, p, order_views.get_order, "RU-00000000")
            assert str(missing.value) == "Order RU-00000000 was not found."
        for fn in (invoices.get_invoice, invoices.render_invoice_pdf):
            with pytest.raises(NotFound):
                call(engine, p, fn, s.invoice)
        listed = call(engine, p, order_views.list_orders)
        assert {o.number for o in listed.items} == {s.c_order, s.c_order_open}
        assert (
            all(lot.product_id == s.c_product.id for lot in call(engine, p, lot_management_service.list_lots))
            if role in ("owner", "admin", "sales", "fulfillment")
            else True
        )


def test_someone_elses_checkout_key_does_not_replay_their_orders(engine, scene):
    s = scene
    call(engine, s.c.p["buyer"], cart.add_to_cart, s.product.id, "1")
    result = call(
        engine, s.c.p["buyer"], checkout_flow.checkout, buyer_license_id=s.c.license.id, idempotency_key=s.checkout_key
    )
    assert not result.replayed
    assert [o.buyer_entity_id for o in result.orders] == [s.c.id]
    assert s.submitted not in {o.number for o in result.orders}


def test_dashboards_only_count_own_orders(engine, scene):
    s = scene
    board = call(engine, s.c.owner, dashboards.wholesaler_dashboard)
    assert board.incoming.count == 2 and {o.number for o in board.incoming.orders} == {s.c_order, s.c_order_open}
    assert board.sales.total_amount == 0
    assert call(engine, s.c.owner, dashboards.retailer_dashboard).open_orders.count == 0
