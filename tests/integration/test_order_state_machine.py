"""The order state machine: every transition allowed for the right side, role and status; every
other combination refused with nothing changed; idempotency; the timeline."""

from __future__ import annotations

import threading
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from reup_app.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from reup_app.models import ComplianceManifest, Delivery, Invoice, Order, OrderLine
from reup_app.models.enums import OrderStatus
from reup_app.security.permissions import ACTION_ROLES
from reup_app.security.principal import Principal, system_principal
from reup_app.services.ordering import order_views, orders, shipping
from tests.integration.orderkit import (
    EventLog,
    advance,
    assert_stock_consistent,
    call,
    db_state,
    events_of,
    fresh,
    key,
    lot_row,
    make_party,
    order_row,
    place_one,
    stock,
)

pytestmark = pytest.mark.mysql

D = Decimal
ROLES = ("owner", "admin", "buyer", "sales", "fulfillment", "viewer")
# Least privileged first: the role used to perform an allowed transition.
BY_PRIVILEGE = ("fulfillment", "buyer", "sales", "viewer", "admin", "owner")
PATHS = {
    "submitted": [],
    "accepted": [("seller", "accept")],
    "backorder": [("seller", "backorder")],
    "rejected": [("seller", "reject")],
    "cancelled": [("buyer", "cancel")],
    "fulfilled": [("seller", "accept"), ("seller", "fulfill")],
    "shipped": [("seller", "accept"), ("seller", "fulfill"), ("seller", "ship")],
    "delivered": [("seller", "accept"), ("seller", "fulfill"), ("seller", "ship"), ("seller", "deliver")],
    "complete": [
        ("seller", "accept"),
        ("seller", "fulfill"),
        ("seller", "ship"),
        ("seller", "deliver"),
        ("seller", "complete"),
    ],
}


class World:
    def __init__(self, session):
        self.seller = make_party(session, "wholesaler", roles=ROLES)
        self.buyer = make_party(session, "retailer", roles=ROLES)
        self.outsider = make_party(session, "both", roles=ROLES)
        self.product, self.lots = stock(session, self.seller, qty="100", lots=2)

    def party(self, side):
        return self.seller if side == "seller" else self.buyer

    def ids(self):
        return [self.seller.id, self.buyer.id, self.outsider.id]


@pytest.fixture
def w(session):
    return World(session)


def order_in(engine, w: World, status: str, qty: str = "2") -> str:
    if status == "draft":
        with fresh(engine) as s:
            order = Order(
                number=f"RU-9{uuid.uuid4().int % 10**9:09d}",
                buyer_entity_id=w.buyer.id,
                buyer_license_id=w.buyer.license.id,
                seller_entity_id=w.seller.id,
                seller_license_id=w.seller.license.id,
                status="draft",
                subtotal=D("20.00"),
                total=D("20.00"),
            )
            s.add(order)
            s.flush()
            s.add(
                OrderLine(
                    order_id=order.id,
                    product_id=w.product.id,
                    sku=w.product.sku,
                    product_name=w.product.name,
                    quantity=D(qty),
                    unit_price=D("10.00"),
                    line_total=D("20.00"),
                )
            )
            s.commit()
            return order.number
    number = place_one(engine, w.buyer, w.product, qty)
    for side, action in PATHS[status]:
        call(engine, w.party(side).owner, orders.transition, number, action, idempotency_key=key())
    assert order_row(engine, number).status == status
    return number


def _t_id(t):
    return f"{t.source}-{t.action}-{t.side}"


@pytest.mark.parametrize("t", orders.TRANSITIONS, ids=_t_id)
def test_transition_refused_for_wrong_role_side_and_outsiders(engine, w, t):
    number = order_in(engine, w, t.source)
    before = db_state(engine, entity_ids=w.ids())
    acting = w.party(t.side)
    other_side = "buyer" if t.side == "seller" else "seller"
    for role in ROLES:
        if role in ACTION_ROLES[t.permission]:
            continue
        with pytest.raises(PermissionDenied):
            call(engine, acting.p[role], orders.transition, number, t.action, idempotency_key=key())
    if (t.action, other_side) not in orders.PERMISSIONS:
        for role in ROLES:
            with pytest.raises(PermissionDenied):
                call(engine, w.party(other_side).p[role], orders.transition, number, t.action, idempotency_key=key())
    for role in ROLES:
        with pytest.raises(NotFound):
            call(engine, w.outsider.p[role], orders.transition, number, t.action, idempotency_key=key())
    admin = Principal(user_id=w.outsider.owner.user_id, is_platform_admin=True)
    with pytest.raises(PermissionDenied):
        call(engine, admin, orders.transition, number, t.action, idempotency_key=key())
    if not any(x.system_allowed for x in orders.TRANSITIONS if x.action == t.action):
        with pytest.raises(PermissionDenied):
            call(engine, system_principal("test"), orders.transition, number, t.action, idempotency_key=key())
    assert db_state(engine, entity_ids=w.ids()) == before
    assert order_row(engine, number).status == t.source


@pytest.mark.parametrize("t", orders.TRANSITIONS, ids=_t_id)
def test_transition_allowed_for_every_permitted_role(engine, w, t):
    allowed = [r for r in BY_PRIVILEGE if r in ACTION_ROLES[t.permission]]
    assert allowed
    for role in allowed:
        number = order_in(engine, w, t.source)
        principal = w.party(t.side).p[role]
        with EventLog() as log:
            result = call(engine, principal, orders.transition, number, t.action, idempotency_key=key())
        assert result.applied and result.status == t.target and result.from_status == t.source
        order = order_row(engine, number)
        assert order.status == t.target
        stamp = orders.STATUS_TIMESTAMP.get(OrderStatus(t.target))
        if stamp:
            assert getattr(order, stamp) is not None
        last = events_of(engine, number)[-1]
        assert (last.kind, last.from_status, last.to_status) == (t.target, t.source, t.target)
        assert (last.actor_user_id, last.actor_entity_id) == (principal.user_id, principal.entity_id)
        changed = log.of("order.status_changed")
        assert len(changed) == 1
        assert set(changed[0].entity_ids) == {w.buyer.id, w.seller.id}
        assert changed[0].payload["order_number"] == number and changed[0].payload["status"] == t.target
        assert_stock_consistent(engine, w.product.id)


def test_system_principal_may_deliver_and_complete(engine, w):
    number = order_in(engine, w, "shipped")
    system = system_principal("fleetbase-webhook")
    assert call(engine, system, orders.transition, number, "deliver").status == "delivered"
    assert call(engine, system, orders.transition, number, "complete").status == "complete"
    assert [e.actor_user_id for e in events_of(engine, number)[-2:]] == [None, None]


def test_every_action_refused_in_every_other_status(engine, w):
    numbers = {status: order_in(engine, w, status) for status in [str(s) for s in OrderStatus]}
    before = db_state(engine, entity_ids=w.ids())
    checked = 0
    for status, number in numbers.items():
        for action in sorted(orders.ACTIONS):
            sides = [s for s in ("seller", "buyer") if (action, s) in orders.PERMISSIONS]
            for side in sides:
                if orders.find_transition(status, action, side):
                    continue
                principal = w.party(side).owner
                if any(t.action == action and t.target == status for t in orders.TRANSITIONS):
                    # already where the action leads: a double click is a no-op
                    result = call(engine, principal, orders.transition, number, action)
                    assert not result.applied and result.status == status
                else:
                    with pytest.raises(Conflict) as err:
                        call(engine, principal, orders.transition, number, action, idempotency_key=key())
                    assert number in str(err.value) and status in str(err.value)
                checked += 1
    assert checked > 60
    assert db_state(engine, entity_ids=w.ids()) == before


def test_buyer_cancel_after_acceptance_is_refused_with_a_hint(engine, w):
    number = order_in(engine, w, "accepted")
    with pytest.raises(Conflict, match="Message the seller"):
        call(engine, w.buyer.p["buyer"], orders.transition, number, "cancel", idempotency_key=key())


def test_unknown_action_and_unexpected_data_are_refused(engine, w):
    number = order_in(engine, w, "submitted")
    with pytest.raises(ValidationError):
        call(engine, w.seller.owner, orders.transition, number, "teleport")
    with pytest.raises(ValidationError):
        call(engine, w.seller.owner, orders.transition, number, "accept", reason="x", sneaky=1)
    with pytest.raises(ValidationError):
        call(engine, w.seller.owner, orders.transition, number, "accept", idempotency_key="bad key with spaces")
    with pytest.raises(NotFound):
        call(engine, w.seller.owner, orders.transition, "RU-00000000", "accept")
    assert order_row(engine, number).status == "submitted"


def test_same_idempotency_key_applies_once(engine, w):
    number = order_in(engine, w, "submitted")
    k = key()
    first = call(engine, w.seller.p["sales"], orders.transition, number, "accept", idempotency_key=k)
    second = call(engine, w.seller.p["sales"], orders.transition, number, "accept", idempotency_key=k)
    assert first.applied and not second.applied
    assert second.event_id == first.event_id and second.status == "accepted"
    assert [e.kind for e in events_of(engine, number)] == ["submitted", "accepted"]
    # the same key for a different action on this order is a client bug: refused
    with pytest.raises(Conflict):
        call(engine, w.seller.owner, orders.transition, number, "fulfill", idempotency_key=k)
    assert order_row(engine, number).status == "accepted"


def test_double_click_without_key_is_a_no_op(engine, w):
    number = order_in(engine, w, "submitted")
    call(engine, w.seller.owner, orders.transition, number, "reject", reason="Out of season")
    again = call(engine, w.seller.owner, orders.transition, number, "reject")
    assert not again.applied and again.status == "rejected"
    kinds = [e.kind for e in events_of(engine, number)]
    assert kinds == ["submitted", "rejected"]
    assert lot_row(engine, w.lots[0].id).quantity_reserved == 0


@pytest.mark.parametrize("same_key", [True, False])
def test_concurrent_clicks_apply_once(engine, w, same_key):
    number = order_in(engine, w, "submitted")
    k = key()
    results, errors = [], []
    barrier = threading.Barrier(8)

    def click():
        barrier.wait()
        try:
            results.append(
                call(
                    engine,
                    w.seller.owner,
                    orders.transition,
                    number,
                    "accept",
                    idempotency_key=k if same_key else key(),
                )
            )
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=click) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(r.applied for r in results) == 1
    assert all(r.status == "accepted" for r in results)
    assert [e.kind for e in events_of(engine, number)] == ["submitted", "accepted"]


def test_full_timeline_is_recorded_and_visible_to_both_parties(engine, w):
    number = order_in(engine, w, "submitted")
    steps = [
        ("seller", "sales", "accept"),
        ("seller", "fulfillment", "fulfill"),
        ("seller", "fulfillment", "ship"),
        ("seller", "fulfillment", "deliver"),
        ("buyer", "owner", "complete"),
    ]
    for side, role, action in steps:
        call(
            engine,
            w.party(side).p[role],
            orders.transition,
            number,
            action,
            idempotency_key=key(),
            **({"note": "Thanks!"} if action == "complete" else {}),
        )
    for viewer in (w.buyer.p["viewer"], w.seller.p["viewer"]):
        detail = call(engine, viewer, order_views.get_order, number)
        kinds = [(e.kind, e.from_status, e.to_status) for e in detail.events]
        assert kinds == [
            ("submitted", None, "submitted"),
            ("accepted", "submitted", "accepted"),
            ("fulfilled", "accepted", "fulfilled"),
            ("shipped", "fulfilled", "shipped"),
            ("delivered", "shipped", "delivered"),
            ("complete", "delivered", "complete"),
        ]
        assert [e.actor_user_id for e in detail.events] == [w.buyer.p["buyer"].user_id] + [
            w.party(side).p[role].user_id for side, role, _ in steps
        ]
        assert all(e.actor_name for e in detail.events)
        assert detail.events[-1].detail["note"] == "Thanks!"
        assert detail.events[2].detail["packages"][0]["package_label"] == w.lots[0].package_label
        assert detail.status == "complete" and detail.available_actions == []
    assert all(
        getattr(order_row(engine, number), f) is not None
        for f in ("submitted_at", "accepted_at", "fulfilled_at", "shipped_at", "delivered_at", "completed_at")
    )


def test_available_actions_follow_the_table(engine, w):
    number = order_in(engine, w, "submitted")
    assert call(engine, w.seller.owner, order_views.get_order, number).available_actions == [
        "accept",
        "reject",
        "backorder",
        "edit_lines",
    ]
    assert call(engine, w.seller.p["fulfillment"], order_views.get_order, number).available_actions == []
    assert call(engine, w.buyer.p["buyer"], order_views.get_order, number).available_actions == ["cancel"]
    assert call(engine, w.buyer.p["viewer"], order_views.get_order, number).available_actions == []


# --------------------------------------------------------------------------------------------
# Effects of particular transitions
# --------------------------------------------------------------------------------------------


def test_fulfill_with_chosen_packages(engine, session, w):
    number = order_in(engine, w, "accepted", qty="5")
    line_id = call(engine, w.seller.owner, order_views.get_order, number).lines[0].id
    lot_a, lot_b = w.lots
    other_product, other_lots = stock(session, w.seller, qty="10")
    bad = [
        {line_id: [{"lot_id": lot_a.id, "quantity": "4"}]},  # sums to 4, line is 5
        {line_id: [{"lot_id": other_lots[0].id, "quantity": "5"}]},  # another product's package
        {line_id: [{"package_label": "1A40NOPE0000000000000000", "quantity": "5"}]},
        {999999999: [{"lot_id": lot_a.id, "quantity": "5"}]},
    ]
    before = db_state(engine, entity_ids=w.ids())
    for allocations in bad:
        with pytest.raises(ValidationError):
            call(
                engine,
                w.seller.p["fulfillment"],
                orders.transition,
                number,
                "fulfill",
                idempotency_key=key(),
                allocations=allocations,
            )
    assert db_state(engine, entity_ids=w.ids()) == before
    call(
        engine,
        w.seller.p["fulfillment"],
        orders.transition,
        number,
        "fulfill",
        idempotency_key=key(),
        allocations=[
            {"line_id": line_id, "package_label": lot_a.package_label, "quantity": "2"},
            {"line_id": line_id, "lot_id": lot_b.id, "quantity": "3"},
        ],
    )
    detail = call(engine, w.buyer.owner, order_views.get_order, number)
    picked = {(a.package_label, a.quantity, a.confirmed) for a in detail.lines[0].allocations}
    assert picked == {(lot_a.package_label, D("2.000"), True), (lot_b.package_label, D("3.000"), True)}
    assert lot_row(engine, lot_a.id).quantity_reserved == 2
    assert lot_row(engine, lot_b.id).quantity_reserved == 3
    assert_stock_consistent(engine, w.product.id)
    call(engine, w.seller.owner, orders.transition, number, "ship", idempotency_key=key())
    assert (lot_row(engine, lot_a.id).quantity_on_hand, lot_row(engine, lot_b.id).quantity_on_hand) == (98, 97)
    assert_stock_consistent(engine, w.product.id)


def test_fulfill_refuses_packages_that_failed_lab_testing(engine, session, w):
    number = order_in(engine, w, "accepted", qty="1")
    w.lots[1].lab_test_state = "failed"
    session.add(w.lots[1])
    session.commit()
    line_id = call(engine, w.seller.owner, order_views.get_order, number).lines[0].id
    with pytest.raises(ValidationError, match="failed lab testing"):
        call(
            engine,
            w.seller.owner,
            orders.transition,
            number,
            "fulfill",
            idempotency_key=key(),
            allocations={line_id: [{"lot_id": w.lots[1].id, "quantity": "1"}]},
        )


def test_ship_records_manifest_delivery_invoice_and_calls_hooks(engine, w):
    number = order_in(engine, w, "fulfilled")
    calls = []

    class Recorder(shipping.PendingRecordsHooks):
        def order_shipped(self, session, order, details):
            calls.append(("shipped", order.number, details.driver_name, tuple(details.package_labels)))
            super().order_shipped(session, order, details)

        def order_delivered(self, session, order):
            calls.append(("delivered", order.number))
            super().order_delivered(session, order)

    previous = shipping.set_shipping_hooks(Recorder())
    try:
        call(
            engine,
            w.seller.owner,
            orders.transition,
            number,
            "ship",
            idempotency_key=key(),
            driver_name="Dana Driver",
            vehicle="Ford Transit 7ABC123",
        )
        call(engine, w.seller.owner, orders.transition, number, "deliver", idempotency_key=key())
    finally:
        shipping.set_shipping_hooks(previous)
    assert calls == [("shipped", number, "Dana Driver", (w.lots[0].package_label,)), ("delivered", number)]
    order = order_row(engine, number)
    with fresh(engine) as s:
        manifest = s.execute(select(ComplianceManifest).where(ComplianceManifest.order_id == order.id)).scalars().one()
        delivery = s.execute(select(Delivery).where(Delivery.order_id == order.id)).scalars().one()
        invoice = s.execute(select(Invoice).where(Invoice.order_id == order.id)).scalars().one()
    # no METRC connection for this license: the manifest says so (services/compliance/metrc_transfers.py)
    assert (manifest.provider, manifest.status, manifest.license_id) == ("metrc", "not_connected", w.seller.license.id)
    assert (delivery.provider, delivery.status, delivery.driver_name) == ("fleetbase", "delivered", "Dana Driver")
    assert invoice.total == order.total
    detail = call(engine, w.buyer.owner, order_views.get_order, number)
    assert (detail.manifest_status, detail.delivery_status, detail.invoice_number) == (
        "not_connected",
        "delivered",
        invoice.number,
    )


def test_failed_hook_rolls_back_the_shipment(engine, w):
    number = order_in(engine, w, "fulfilled")
    before = db_state(engine, entity_ids=w.ids())

    class Broken(shipping.PendingRecordsHooks):
        def order_shipped(self, session, order, details):
            raise Conflict("METRC is down")

    previous = shipping.set_shipping_hooks(Broken())
    try:
        with pytest.raises(Conflict):
            call(engine, w.seller.owner, orders.transition, number, "ship", idempotency_key=key())
    finally:
        shipping.set_shipping_hooks(previous)
    assert db_state(engine, entity_ids=w.ids()) == before


def test_submit_a_draft_reserves_stock(engine, w):
    number = order_in(engine, w, "draft", qty="3")
    before = lot_row(engine, w.lots[0].id).quantity_reserved
    call(engine, w.buyer.p["buyer"], orders.transition, number, "submit", idempotency_key=key())
    assert lot_row(engine, w.lots[0].id).quantity_reserved == before + 3
    assert order_row(engine, number).submitted_at is not None
    assert_stock_consistent(engine, w.product.id)


def test_backorder_keeps_the_reservation_until_accepted_or_rejected(engine, w):
    a = order_in(engine, w, "backorder", qty="4")
    b = order_in(engine, w, "backorder", qty="6")
    assert lot_row(engine, w.lots[0].id).quantity_reserved == 10
    advance(engine, w.seller, a, "accept")
    advance(engine, w.seller, b, "reject")
    assert lot_row(engine, w.lots[0].id).quantity_reserved == 4
    assert_stock_consistent(engine, w.product.id)
