"""Exactly one Fleetbase order per ReUp order under a crash: a real `reup worker` process is SIGKILLed
(1) after Fleetbase created the order but before the worker recorded the answer, and (2) after the
ship committed and the worker started the send but before the order POST (it had just created the
vehicle). A new worker reconciles by the order's internal id and either adopts the order or creates
it once; the sandbox then holds exactly one order (and one driver, one vehicle) for the ReUp order.

The same proof for the two calls that change an existing Fleetbase order: the METRC manifest number's
PUT and the seller's cancel (DELETE). Fleetbase applies the call, then its answer stalls; the worker is
SIGKILLed while the outbox row is still "sending". A new worker re-claims the row as maybe-sent, reads
the order first, recognises the effect as already there and does not call again: the sandbox raised
the effect's event once (one order.updated for the PUT, one order.canceled for the cancel, no refused
second DELETE), the row ends sent, and the delivery shows no error."""

from __future__ import annotations

import json
import signal
import uuid

import pytest
from sqlalchemy import update

from reup_app.integrations.fleetbase.client import FleetbaseClient
from reup_app.models import IntegrationConnection, OutboxMessage
from reup_app.models.types import utcnow
from reup_app.services.logistics import deliveries
from reup_app.services.logistics.delivery_cancel import cancel_delivery
from reup_app.services.logistics.delivery_cancel import reference as cancel_reference
from reup_app.services.logistics.fleetbase_manifest import reference as manifest_reference
from reup_app.settings import reset_settings_cache
from tests.integration.fleetbase_kit import (
    DRIVER,
    create_delivery,
    delivery_of,
    fulfilled,
    issue_manifest,
    order_status,
    ship,
)
from tests.integration.metrc_transfer_kit import outbox_row
from tests.integration.orderkit import call, fresh
from tests.integration.test_metrc_transfer_crash import spawn_worker, wait_for
from tests.sandboxes import FleetbaseSandbox


@pytest.fixture
def fb(fleetbase_sandbox, engine):
    """The sandbox alone (no webhook endpoint: the restarted worker must reconcile by itself), and
    every earlier test's Fleetbase connection disabled so the worker sends only this test's rows."""
    with fresh(engine) as s:
        s.execute(
            update(IntegrationConnection).where(IntegrationConnection.provider == "fleetbase").values(enabled=False)
        )
        s.commit()
    mp = pytest.MonkeyPatch()
    mp.setenv("REUP_FLEETBASE_TIMEOUT_SECONDS", "60")  # the worker inherits it: a stalled call waits to be killed
    reset_settings_cache()
    yield fleetbase_sandbox
    mp.undo()
    reset_settings_cache()


def _ours(sb: FleetbaseSandbox, reference: str) -> list[dict]:
    return [o for o in sb.orders() if o["internal_id"] == reference]


def _due_now(engine, reference: str) -> None:
    """The claim timeout of the dead sender's row has passed."""
    with fresh(engine) as s:
        s.execute(update(OutboxMessage).where(OutboxMessage.reference == reference).values(next_attempt_at=utcnow()))
        s.commit()


def _kill(proc) -> None:
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)


def _worker(mysql_url, tmp_path, name: str):
    return spawn_worker(mysql_url, f"reup:test:{uuid.uuid4().hex[:8]}", tmp_path / f"{name}.log")


def _restart_and_finish(engine, mysql_url, tmp_path, reference: str):
    second = _worker(mysql_url, tmp_path, "second")
    try:
        return second, wait_for(
            lambda: (r := outbox_row(engine, reference)) and r.status == "sent" and r, 60, "the restarted worker"
        )
    except BaseException:
        _kill(second)
        raise


def test_killed_after_fleetbase_created_the_order_adopts_it(session, engine, mysql_url, fb, tmp_path):
    s = fulfilled(session, engine, fb)
    ship(engine, s)
    fb.fault(path_prefix="/v1/orders", stall_after_write=1, stall_seconds=120)
    first, second = _worker(mysql_url, tmp_path, "first"), None
    try:
        wait_for(lambda: _ours(fb, s.reference), 60, "Fleetbase to create the order")
        assert outbox_row(engine, s.reference).status == "sending"  # the answer has not come back yet
        _kill(first)
        assert delivery_of(engine, s.number).external_id is None  # nothing was recorded
        _due_now(engine, s.reference)
        fb.fault(stall_after_write=0)

        second, row = _restart_and_finish(engine, mysql_url, tmp_path, s.reference)
        assert json.loads(row.result)["adopted"] is True and row.attempts == 2
        [order] = _ours(fb, s.reference)  # exactly one: adopted, not created again
        d = delivery_of(engine, s.number)
        assert d.external_id == order["id"] and d.last_error is None
    finally:
        _kill(first)
        _kill(second)


def test_killed_before_the_order_post_creates_it_once(session, engine, mysql_url, fb, tmp_path):
    s = fulfilled(session, engine, fb)
    ship(engine, s)
    client = FleetbaseClient(fb.base_url, FleetbaseSandbox.API_KEY)
    fb.fault(path_prefix="/v1/vehicles", stall_after_write=1, stall_seconds=120)  # the step before the order
    first, second = _worker(mysql_url, tmp_path, "first"), None
    try:
        wait_for(lambda: client.vehicles(DRIVER["vehicle_plate"]), 60, "the vehicle to be created")
        assert outbox_row(engine, s.reference).status == "sending"
        _kill(first)
        assert _ours(fb, s.reference) == []  # killed before the order was sent
        _due_now(engine, s.reference)
        fb.fault(stall_after_write=0)

        second, row = _restart_and_finish(engine, mysql_url, tmp_path, s.reference)
        assert json.loads(row.result)["adopted"] is False and row.attempts == 2
        [order] = _ours(fb, s.reference)
        assert order["vehicle_assigned"]["plate_number"] == DRIVER["vehicle_plate"]
        assert len(client.vehicles(DRIVER["vehicle_plate"])) == 1  # found again, not made twice
        assert len([d for d in client.drivers(DRIVER["driver_name"]) if d.name == DRIVER["driver_name"]]) == 1
        assert delivery_of(engine, s.number).external_id == order["id"]
    finally:
        _kill(first)
        _kill(second)


def _sandbox_order(sb: FleetbaseSandbox, order_id: str) -> dict:
    [order] = [o for o in sb.orders() if o["id"] == order_id]
    return order


def _answered(sb: FleetbaseSandbox, method: str, path: str) -> list[int]:
    """The statuses the sandbox answered `method path` with so far (a stalled call counts once it answers)."""
    return [
        r["status"] for r in sb.calls()["rows"] for _ in range(r["count"]) if (r["method"], r["path"]) == (method, path)
    ]


def test_killed_after_fleetbase_took_the_manifest_put_sets_it_once(session, engine, mysql_url, fb, tmp_path):
    s = fulfilled(session, engine, fb)
    ship(engine, s)
    assert create_delivery(engine, s) == ["sent"]
    d = delivery_of(engine, s.number)
    client = FleetbaseClient(fb.base_url, FleetbaseSandbox.API_KEY)
    stranger = client.create_driver(name="Someone Else")  # the dispatcher put someone else on meanwhile
    client.update_order(d.external_id, {"driver": stranger.id})
    issue_manifest(engine, s.number, "0000737373", f"7{d.id}")
    ref = manifest_reference(s.number)
    assert outbox_row(engine, ref).status == "pending"
    updates_before = len(fb.events(d.external_id, "order.updated"))

    fb.fault(path_prefix="/v1/orders", stall_after_write=1, stall_seconds=120)  # the PUT applies, its answer stalls
    first, second = _worker(mysql_url, tmp_path, "first"), None
    try:
        wait_for(
            lambda: _sandbox_order(fb, d.external_id)["meta"].get("metrc_manifest_number") == "0000737373",
            60,
            "Fleetbase to apply the manifest PUT",
        )
        assert outbox_row(engine, ref).status == "sending"  # the answer has not come back yet
        _kill(first)
        row = outbox_row(engine, ref)
        assert row.status == "sending" and row.sent_at is None and row.attempts == 1  # nothing was recorded
        _due_now(engine, ref)
        fb.fault(stall_after_write=0)

        second, row = _restart_and_finish(engine, mysql_url, tmp_path, ref)
        result = json.loads(row.result)
        assert result == {"order_id": d.external_id, "unchanged": True} and row.attempts == 2  # replay recognised
        assert row.last_error is None
        order = client.get_order(d.external_id)
        assert order.meta["metrc_manifest_number"] == "0000737373" and order.meta["reup_order_number"] == s.number
        assert order.driver.name == DRIVER["driver_name"]  # the manifest's driver, put back by the killed PUT
        # Fleetbase applied exactly one update: the killed worker's (the replay sent none)
        assert len(fb.events(d.external_id, "order.updated")) == updates_before + 1
        assert len([x for x in client.drivers(DRIVER["driver_name"]) if x.name == DRIVER["driver_name"]]) == 1
        assert delivery_of(engine, s.number).last_error is None
    finally:
        _kill(first)
        _kill(second)


def test_killed_after_fleetbase_took_the_cancel_cancels_once(session, engine, mysql_url, fb, tmp_path):
    s = fulfilled(session, engine, fb)
    ship(engine, s)
    assert create_delivery(engine, s) == ["sent"]
    d = delivery_of(engine, s.number)
    assert d.vendor_status == "dispatched"
    call(engine, s.seller.owner, cancel_delivery, s.number, "Buyer's dock is closed")
    ref = cancel_reference(s.number)
    assert outbox_row(engine, ref).status == "pending"

    fb.fault(path_prefix="/v1/orders", stall_after_write=1, stall_seconds=120)  # the DELETE applies, its answer stalls
    first, second = _worker(mysql_url, tmp_path, "first"), None
    try:
        wait_for(lambda: _sandbox_order(fb, d.external_id)["status"] == "canceled", 60, "Fleetbase to cancel")
        assert outbox_row(engine, ref).status == "sending"
        _kill(first)
        row = outbox_row(engine, ref)
        assert row.status == "sending" and row.sent_at is None and row.attempts == 1
        d = delivery_of(engine, s.number)
        assert d.status == "dispatched" and d.cancel_requested_at is not None  # the answer was never recorded
        _due_now(engine, ref)
        fb.fault(stall_after_write=0)

        second, row = _restart_and_finish(engine, mysql_url, tmp_path, ref)
        assert json.loads(row.result) == {"order_id": d.external_id, "status": "canceled"} and row.attempts == 2
        assert row.last_error is None
        # cancelled once: one order.canceled, and no second DELETE refused as "already canceled"
        assert len(fb.events(d.external_id, "order.canceled")) == 1
        assert all(status < 300 for status in _answered(fb, "DELETE", "/v1/orders/{id}/cancel"))
        d = delivery_of(engine, s.number)
        assert d.status == "cancelled" and d.vendor_status == "canceled" and d.last_error is None
        assert d.cancel_reason == "Buyer's dock is closed"
        view = call(engine, s.seller.owner, deliveries.get_order_delivery, s.number)
        assert view.note == "Cancelled by the seller: Buyer's dock is closed" and view.can_cancel is False
        assert order_status(engine, s.number) == "shipped"
    finally:
        _kill(first)
        _kill(second)
