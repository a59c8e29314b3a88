"""Exactly one Fleetbase order per ReUp order under a crash: a real `reup worker` process is SIGKILLed
(1) after Fleetbase created the order but before the worker recorded the answer, and (2) after the
ship committed and the worker started the send but before the order POST (it had just created the
vehicle). A new worker reconciles by the order's internal id and either adopts the order or creates
it once; the sandbox then holds exactly one order (and one driver, one vehicle) for the ReUp order."""

from __future__ import annotations

import json
import signal
import uuid

import pytest
from sqlalchemy import update

from reup_app.integrations.fleetbase.client import FleetbaseClient
from reup_app.models import IntegrationConnection, OutboxMessage
from reup_app.models.types import utcnow
from reup_app.settings import reset_settings_cache
from tests.integration.fleetbase_kit import DRIVER, delivery_of, fulfilled, ship
from tests.integration.metrc_transfer_kit import outbox_row
from tests.integration.orderkit import fresh
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
