"""What both parties see of a delivery, the buyer's problem report (who, when, once), the seller's
deliveries board (grouped, late flagged), and the not-connected path at ship."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from reup_app.errors import Conflict, NotFound, PermissionDenied
from reup_app.models import Delivery, OutboxMessage
from reup_app.models.types import utcnow
from reup_app.services.logistics import deliveries
from reup_app.services.logistics.route_map import route_svg
from tests.integration.fleetbase_kit import delivery_of, fulfilled, ship
from tests.integration.orderkit import EventLog, call, fresh, make_seller


def _set(engine, delivery_id: int, **values) -> None:
    with fresh(engine) as s:
        s.execute(update(Delivery).where(Delivery.id == delivery_id).values(**values))
        s.commit()


def test_not_connected_ships_and_says_so(session, engine):
    s = fulfilled(session, engine, None, connected=False)
    ship(engine, s)
    d = delivery_of(engine, s.number)
    assert d.status == "pending" and "not connected to Fleetbase" in d.last_error
    with fresh(engine) as db:
        assert (
            db.execute(select(OutboxMessage).where(OutboxMessage.reference == f"fleetbase:{s.number}")).first() is None
        )
    view = call(engine, s.buyer.owner, deliveries.get_order_delivery, s.number)
    assert view.status_label == "Waiting for Fleetbase" and "not connected" in view.note
    with pytest.raises(NotFound):
        call(engine, make_seller(session).owner, deliveries.get_order_delivery, s.number)


def test_problem_report_buyer_only_after_delivery_within_window_once(session, engine):
    s = fulfilled(session, engine, None, connected=False)
    ship(engine, s)
    d = delivery_of(engine, s.number)
    with pytest.raises(Conflict):  # not delivered yet
        call(engine, s.buyer.owner, deliveries.report_problem, s.number, "short", "2 cases missing")
    _set(engine, d.id, status="delivered", vendor_status="completed", delivered_at=utcnow())
    with pytest.raises(PermissionDenied):
        call(engine, s.seller.owner, deliveries.report_problem, s.number, "short", "2 cases missing")
    with EventLog() as log:
        view = call(engine, s.buyer.owner, deliveries.report_problem, s.number, "damaged", "One case crushed")
    assert view.problem["label"] == "Damaged goods" and not view.can_report_problem
    assert {e.kind for e in log.events} == {"delivery.updated"}
    seen = call(engine, s.seller.owner, deliveries.get_order_delivery, s.number)
    assert seen.problem["text"] == "One case crushed"
    with pytest.raises(Conflict):
        call(engine, s.buyer.owner, deliveries.report_problem, s.number, "short", "again")

    late = fulfilled(session, engine, None, connected=False)
    ship(engine, late)
    ld = delivery_of(engine, late.number)
    _set(engine, ld.id, status="delivered", delivered_at=utcnow() - timedelta(hours=49))
    with pytest.raises(Conflict, match="within 48 hours"):
        call(engine, late.buyer.owner, deliveries.report_problem, late.number, "short", "late report")


def test_seller_board_groups_flags_late_and_view_draws_the_route(session, engine):
    s = fulfilled(session, engine, None, connected=False)
    ship(engine, s)
    d = delivery_of(engine, s.number)
    route = {"pickup": [-122.27, 37.8], "dropoff": [-122.41, 37.77], "driver": [-122.3, 37.79], "progress": 25.0}
    _set(engine, d.id, status="in_transit", vendor_status="enroute", eta=utcnow() - timedelta(minutes=5),
         route=json.dumps(route), last_error=None)  # fmt: skip
    [row] = [r for r in call(engine, s.seller.owner, deliveries.seller_board) if r.order_number == s.number]
    assert row.status == "in_transit" and row.late and row.status_label == "On the way"
    assert not [r for r in call(engine, s.buyer.owner, deliveries.seller_board) if r.order_number == s.number]
    view = call(engine, s.buyer.owner, deliveries.get_order_delivery, s.number)
    assert view.late and view.progress == 25.0 and view.route_svg.startswith("<svg")
    assert view.route_svg.count("<circle") == 3  # pickup, dropoff, driver


def test_route_svg_is_numbers_only():
    assert route_svg(None, [1, 2], None) == ""
    svg = route_svg([-122.0, 37.0], [-121.0, 38.0], None)
    assert "<script" not in svg and svg.count("<circle") == 2
