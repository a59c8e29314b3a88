"""Fleetbase deliveries end to end over real sockets: the ship creates the Fleetbase order through the
outbox (exactly once, also when Fleetbase is down or the create's answer is lost), the sandbox runs it
through the transport flow and sends signed webhooks to the app's endpoint on a real socket, and the
delivery (status, driver, route progress, ETA, proof) and the order (delivered) follow."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from reup_app.integrations.fleetbase.client import FleetbaseClient
from reup_app.models.enums import OutboxStatus
from reup_app.models.types import utcnow
from tests.integration.fleetbase_kit import (
    DRIVER,
    create_delivery,
    delivered_events,
    delivery_of,
    fleetbase_env,
    fleetbase_time,
    fulfilled,
    order_status,
    receipts,
    settle,
    ship,
    signed_post,
)
from tests.integration.metrc_transfer_kit import fence, outbox_row, send
from tests.sandboxes import FleetbaseSandbox


@pytest.fixture
def fb(fleetbase_sandbox, app_server):
    yield from fleetbase_env(fleetbase_sandbox, app_server)


def _client(sb: FleetbaseSandbox) -> FleetbaseClient:
    return FleetbaseClient(sb.base_url, FleetbaseSandbox.API_KEY)


def test_lifecycle_ship_dispatch_route_proof_and_auto_delivered(session, engine, fb, app_server):
    s = fulfilled(session, engine, fb)
    ship(engine, s)
    d = delivery_of(engine, s.number)
    assert d.status == "pending" and d.last_error.startswith("Waiting for Fleetbase") and d.external_id is None
    row = outbox_row(engine, s.reference)
    assert row.kind == "fleetbase.create_order" and row.target_id == d.id

    assert create_delivery(engine, s) == ["sent"]
    [order] = fb.orders()
    assert order["internal_id"] == s.reference and order["status"] == "dispatched"
    assert order["meta"]["reup_order_number"] == s.number
    assert order["meta"]["seller_license_number"] == s.seller.license.number
    assert order["meta"]["buyer_license_number"] == s.buyer.license.number
    assert [e["internal_id"] for e in order["payload"]["entities"]] == [s.label]
    assert order["payload"]["pickup"]["meta"]["license_number"] == s.seller.license.number
    # the driver and vehicle named at ship (the METRC manifest's) are the Fleetbase order's
    assert order["driver_assigned"]["name"] == DRIVER["driver_name"]
    assert order["vehicle_assigned"]["plate_number"] == DRIVER["vehicle_plate"]

    settle(engine, fb)
    d = delivery_of(engine, s.number)
    assert d.external_id == order["id"] and d.status == "dispatched" and d.last_error is None
    assert d.driver_name == "Dana Ruiz" and d.vehicle == "Ford Transit, plate 8ABC123"

    fb.advance(order["id"], "enroute", trip_seconds=600)
    fb.advance_clock(300)
    fb.tick()
    settle(engine, fb)
    d = delivery_of(engine, s.number)
    route = json.loads(d.route)
    assert d.status == "in_transit" and d.vendor_status == "enroute"
    assert route["progress"] == pytest.approx(50, abs=2) and len(route["driver"]) == 2
    assert route["pickup"] != route["dropoff"] and d.eta is not None
    assert order_status(engine, s.number) == "shipped"

    fb.advance_clock(400)
    fb.tick()  # arrived: the driver completes with a signature
    settle(engine, fb)
    d = delivery_of(engine, s.number)
    assert d.status == "delivered" and d.vendor_status == "completed" and d.delivered_at is not None
    proof = json.loads(d.proof)
    assert proof["type"] == "signature" and proof["data_url"].startswith("data:image/svg+xml;base64,")
    assert [t["status"] for t in json.loads(d.timeline)] == ["created", "dispatched", "started", "enroute", "completed"]
    assert order_status(engine, s.number) == "delivered" and delivered_events(engine, s.number) == 1


def test_fleetbase_down_at_ship_still_ships_then_retries_once(session, engine, fb):
    s = fulfilled(session, engine, fb)
    fb.fault(error_rate=1.0, path_prefix="/v1/")
    ship(engine, s)
    assert order_status(engine, s.number) == "shipped"
    assert send(engine, fence(), s.reference) == "failed"  # retried later
    d = delivery_of(engine, s.number)
    assert d.status == "pending" and d.last_error.startswith("Waiting for Fleetbase (retrying)")
    assert outbox_row(engine, s.reference).status == OutboxStatus.FAILED

    fb.fault(error_rate=0.0)
    assert create_delivery(engine, s)[-1] == "sent"
    assert [o["internal_id"] for o in fb.orders()] == [s.reference]
    settle(engine, fb)
    assert delivery_of(engine, s.number).status == "dispatched"


def test_lost_create_answer_is_reconciled_not_sent_twice(session, engine, fb):
    s = fulfilled(session, engine, fb)
    ship(engine, s)
    fb.fault(stall_after_write=1, stall_seconds=5, path_prefix="/v1/orders")
    outcomes = create_delivery(engine, s)
    assert outcomes[0] == "failed" and outcomes[-1] == "sent"
    assert [o["internal_id"] for o in fb.orders()] == [s.reference]  # created once, adopted on the retry
    assert json.loads(outbox_row(engine, s.reference).result)["adopted"] is True


def test_forged_unsigned_stale_and_replayed_events(session, engine, fb, app_server):
    s = fulfilled(session, engine, fb)
    ship(engine, s)
    fb.webhook_faults(bad_signature_next=1)
    create_delivery(engine, s)
    log = settle(engine, fb)
    assert log[0]["forged"] is True and log[0]["status"] == 401  # refused, then retried correctly signed
    assert any(r["event_id"] == log[0]["event_id"] and r["status"] == 200 for r in log[1:]), [
        (r["event_id"][-6:], r["attempt"], r["status"], r.get("forged"), r.get("error")) for r in log
    ]

    event = {"id": "event_forged1", "event": "order.completed", "created_at": fleetbase_time(utcnow()), "data": {}}
    assert signed_post(app_server.base_url, event, secret=None).status_code == 401  # unsigned
    assert signed_post(app_server.base_url, event, secret="guessed").status_code == 401  # forged
    assert signed_post(app_server.base_url, event, signature="00" * 32).status_code == 401
    old = {**event, "id": "event_stale1", "created_at": fleetbase_time(utcnow() - timedelta(days=2))}
    assert signed_post(app_server.base_url, old).status_code == 400  # stale
    assert receipts(engine, ["event_forged1", "event_stale1"]) == []

    replay = fb.signed_event(log[-1]["event_id"])
    answer = signed_post(app_server.base_url, replay["body"].encode(), signature=replay["signature"])
    assert answer.status_code == 200 and answer.json()["duplicate"] is True
    assert len(receipts(engine, [log[-1]["event_id"]])) == 1


def test_duplicates_and_out_of_order_never_move_backwards(session, engine, fb):
    s = fulfilled(session, engine, fb)
    ship(engine, s)
    create_delivery(engine, s)
    settle(engine, fb)
    order_id = delivery_of(engine, s.number).external_id
    fb.webhook_faults(out_of_order=True, duplicate_next=20)
    fb.advance(order_id, "completed", pod="signature")  # started, enroute, completed held back
    assert fb.release()["released"] == 3  # sent newest first: completed, enroute, started
    log = settle(engine, fb)
    sent = [r for r in log if r["event"] == "order.updated" or r["event"] == "order.completed"]
    assert sent[0]["event"] == "order.completed" and any(r["duplicate"] for r in sent)
    d = delivery_of(engine, s.number)
    assert d.status == "delivered" and d.vendor_status == "completed"
    assert [t["status"] for t in json.loads(d.timeline)] == ["created", "dispatched", "started", "enroute", "completed"]
    ids = {r["event_id"] for r in log}
    stored = receipts(engine, ids)
    assert len(stored) == len(ids)  # one receipt per event id, duplicates dropped
    assert order_status(engine, s.number) == "delivered" and delivered_events(engine, s.number) == 1


def test_cancel_in_fleetbase_marks_the_delivery_cancelled(session, engine, fb):
    s = fulfilled(session, engine, fb)
    ship(engine, s)
    create_delivery(engine, s)
    settle(engine, fb)
    d = delivery_of(engine, s.number)
    _client(fb).cancel_order(d.external_id)
    settle(engine, fb)
    d = delivery_of(engine, s.number)
    assert d.status == "cancelled" and d.vendor_status == "canceled"
    assert order_status(engine, s.number) == "shipped"  # the seller decides what happens next


def test_unknown_order_event_is_recorded_unmatched(session, engine, fb, app_server):
    event = {
        "id": "event_unknown_" + utcnow().strftime("%H%M%S%f"),
        "event": "order.dispatched",
        "created_at": fleetbase_time(utcnow()),
        "data": {"id": "order_nobodyknows", "status": "dispatched"},
    }
    assert signed_post(app_server.base_url, event).status_code == 200
    from tests.integration.fleetbase_kit import wait_for

    [r] = wait_for(
        lambda: [x for x in receipts(engine, [event["id"]]) if x.status not in ("received", "processing")],
        what="processing",
    )  # not "processing": the processor may be between its claim and its outcome
    assert r.status == "unmatched" and "order_nobodyknows" in r.error
    from reup_app.db import unit_of_work
    from reup_app.security.principal import Principal
    from reup_app.services.integrations.error_queue import unmatched_webhooks
    from tests.factories import make_user

    admin = make_user(session, is_platform_admin=True)
    p = Principal(user_id=admin.id, is_platform_admin=True)
    with unit_of_work(p) as s:  # listed for admins on /admin/jobs
        assert event["id"] in [w.event_id for w in unmatched_webhooks(s, p)]
