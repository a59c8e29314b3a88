"""A driver change after the delivery was dispatched, through Fleetbase's signed webhooks on a real
socket: the sandbox's dispatcher hands a started order to a relief driver (the switchable
"swap_driver_on" scenario, then a direct reassign while en route); ReUp records the new driver, puts
"Driver changed to X at HH:MM UTC" on the delivery (panel and the seller's board) and notifies the
seller's members (not the buyer's). A replayed event and an older, out-of-order assignment change
nothing."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from reup_app.models import Membership, Notification
from reup_app.models.types import utcnow
from reup_app.services.logistics import deliveries
from reup_app.services.logistics.delivery_timeline import DRIVER_CHANGED
from reup_app.state.deliveries import _board_row, delivery_view
from tests.integration.fleetbase_kit import (
    DRIVER,
    create_delivery,
    delivery_of,
    fleetbase_env,
    fleetbase_time,
    fulfilled,
    receipts,
    settle,
    ship,
    signed_post,
    wait_for,
)
from tests.integration.orderkit import call, fresh

RELIEF = ("Riley Relief", "+15105550199")


@pytest.fixture
def fb(fleetbase_sandbox, app_server):
    yield from fleetbase_env(fleetbase_sandbox, app_server)


def _notifications(engine, entity_id: int, number: str) -> list[Notification]:
    with fresh(engine) as db:
        return list(
            db.execute(
                select(Notification).where(
                    Notification.entity_id == entity_id,
                    Notification.kind == "delivery.driver_changed",
                    Notification.link == f"/orders/{number}",
                )
            ).scalars()
        )


def _members(engine, entity_id: int) -> set[int]:
    with fresh(engine) as db:
        return set(db.execute(select(Membership.user_id).where(Membership.entity_id == entity_id)).scalars())


def _done(engine, event_id: str):
    rows = receipts(engine, [event_id])
    return rows if rows and rows[0].status not in ("received", "processing") else None


def _hhmm(event_at: str) -> str:
    return datetime.fromisoformat(event_at.replace("Z", "+00:00")).astimezone(UTC).strftime("%H:%M")


def test_driver_swapped_after_the_start_is_recorded_and_flagged_to_the_seller(session, engine, fb, app_server):
    s = fulfilled(session, engine, fb)
    ship(engine, s)
    assert create_delivery(engine, s) == ["sent"]
    settle(engine, fb)
    d = delivery_of(engine, s.number)
    order_id = d.external_id
    # dispatched with the driver named at ship: that is not a change
    assert d.vendor_status == "dispatched" and d.driver_name == DRIVER["driver_name"]
    assert call(engine, s.seller.owner, deliveries.get_order_delivery, s.number).driver_change is None
    assert _notifications(engine, s.seller.entity.id, s.number) == []

    fb.scenarios(swap_driver_on="started", swap_driver_name=RELIEF[0], swap_driver_phone=RELIEF[1])
    fb.advance(order_id, "started")
    settle(engine, fb)
    [swap] = fb.events(order_id, "order.driver_assigned")[1:]  # the first one came with the dispatch
    assert [r.status for r in receipts(engine, [swap["event_id"]])] == ["processed"]

    d = delivery_of(engine, s.number)
    assert d.vendor_status == "started" and d.status == "in_transit"
    assert (d.driver_name, d.driver_phone) == RELIEF  # the relief driver's phone, not Dana's
    [change] = [t for t in json.loads(d.timeline) if t["status"] == DRIVER_CHANGED]
    assert change["driver"] == RELIEF[0] and change["previous"] == DRIVER["driver_name"]
    assert change["during"] == "started"
    sentence = f"Driver changed to {RELIEF[0]} at {_hhmm(swap['at'])} UTC (was {DRIVER['driver_name']})"

    seller_view = call(engine, s.seller.owner, deliveries.get_order_delivery, s.number)
    assert seller_view.driver_change == sentence and seller_view.driver_name == RELIEF[0]
    labels = [label for label, _ in seller_view.timeline]
    assert labels == [
        "Order created in Fleetbase",
        "Dispatched to the driver",
        "Driver started",
        f"Driver changed to {RELIEF[0]} (was {DRIVER['driver_name']})",
    ]
    [row] = [r for r in call(engine, s.seller.owner, deliveries.seller_board) if r.order_number == s.number]
    assert row.driver_change == sentence and row.driver_name == RELIEF[0]
    facts, steps = delivery_view(seller_view)  # what the order page's panel and the board receive
    assert facts["driver_change"] == sentence and facts["driver"] == f"{RELIEF[0]} · {RELIEF[1]}"
    assert steps[-1]["label"] == labels[-1] and _board_row(row)["driver_change"] == sentence

    # the seller's members are told, once each; the buyer's are not
    told = _notifications(engine, s.seller.entity.id, s.number)
    assert told and {n.user_id for n in told} <= _members(engine, s.seller.entity.id)
    assert len({n.user_id for n in told}) == len(told)
    assert all(n.title == f"Driver changed on order {s.number}" and n.body == sentence for n in told)
    assert _notifications(engine, s.buyer.entity.id, s.number) == []

    # the same signed event delivered again: stored once, nothing changes, nobody is told twice
    replay = fb.signed_event(swap["event_id"])
    r = signed_post(app_server.base_url, replay["body"].encode(), signature=replay["signature"])
    assert r.status_code == 200
    settle(engine, fb)
    assert len(_notifications(engine, s.seller.entity.id, s.number)) == len(told)

    # an older assignment (the dispatch's, naming Dana) arriving late under a new id does not move it back
    [dispatch_assign] = fb.events(order_id, "order.driver_assigned")[:1]
    stale = json.loads(fb.signed_event(dispatch_assign["event_id"])["body"])
    stale["id"] = f"event_late_{uuid.uuid4().hex[:10]}"
    assert signed_post(app_server.base_url, stale).status_code == 200
    [late] = wait_for(lambda: _done(engine, stale["id"]), what="the late event to be processed")
    assert late.status == "ignored"  # applied, and nothing changed
    d = delivery_of(engine, s.number)
    assert d.driver_name == RELIEF[0] and len([t for t in json.loads(d.timeline) if t["status"] == DRIVER_CHANGED]) == 1
    assert len(_notifications(engine, s.seller.entity.id, s.number)) == len(told)


def test_a_second_reassignment_en_route_is_flagged_again(session, engine, fb, app_server):
    s = fulfilled(session, engine, fb)
    ship(engine, s)
    create_delivery(engine, s)
    settle(engine, fb)
    order_id = delivery_of(engine, s.number).external_id
    fb.scenarios(swap_driver_on="started", swap_driver_name=RELIEF[0], swap_driver_phone=RELIEF[1])
    fb.advance(order_id, "enroute", trip_seconds=1800)  # started (swap), then en route
    settle(engine, fb)
    first = len(_notifications(engine, s.seller.entity.id, s.number))
    assert first >= 1

    fb.reassign(order_id, "Morgan Third")  # Fleetbase's dispatcher again, no phone on file
    settle(engine, fb)
    [event] = fb.events(order_id, "order.driver_assigned")[2:]
    d = delivery_of(engine, s.number)
    assert d.vendor_status == "enroute" and d.driver_name == "Morgan Third" and d.driver_phone is None
    changes = [t for t in json.loads(d.timeline) if t["status"] == DRIVER_CHANGED]
    assert [(c["previous"], c["driver"], c["during"]) for c in changes] == [
        (DRIVER["driver_name"], RELIEF[0], "started"),
        (RELIEF[0], "Morgan Third", "enroute"),
    ]
    view = call(engine, s.buyer.owner, deliveries.get_order_delivery, s.number)  # the buyer sees who comes
    assert view.driver_change == f"Driver changed to Morgan Third at {_hhmm(event['at'])} UTC (was {RELIEF[0]})"
    assert len(_notifications(engine, s.seller.entity.id, s.number)) == 2 * first
    assert _notifications(engine, s.buyer.entity.id, s.number) == []

    fb.advance(order_id, "completed")
    settle(engine, fb)
    assert delivery_of(engine, s.number).status == "delivered"
    with pytest.raises(AssertionError, match="already completed"):  # Fleetbase refuses to reassign a finished order
        fb.reassign(order_id, "Too Late")
    # and an assignment event for a finished delivery (a delayed one, say) is not a change any more
    late = json.loads(fb.signed_event(event["event_id"])["body"])
    late["id"], late["created_at"] = f"event_after_{uuid.uuid4().hex[:10]}", fleetbase_time(utcnow())
    late["data"]["driver_assigned"] = {**late["data"]["driver_assigned"], "id": "driver_late", "name": "Too Late"}
    assert signed_post(app_server.base_url, late).status_code == 200
    wait_for(lambda: _done(engine, late["id"]), what="the late event to be processed")
    d = delivery_of(engine, s.number)
    assert (
        d.driver_name == "Morgan Third"
        and len([t for t in json.loads(d.timeline) if t["status"] == DRIVER_CHANGED]) == 2
    )
    assert len(_notifications(engine, s.seller.entity.id, s.number)) == 2 * first
