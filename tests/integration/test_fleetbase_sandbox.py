"""The Fleetbase sandbox on its own, over a real socket with the typed client: auth, validation in
Fleetbase's error shape, the transport flow and its refusals, tracker/ETA by the sandbox clock,
downtime through the shared faults, and the webhook fault switches."""

from __future__ import annotations

import httpx
import pytest

from reup_app.integrations.errors import AuthFailed, NotFound, Rejected, Unavailable
from reup_app.integrations.fleetbase.client import FleetbaseClient
from reup_app.integrations.http.transport import RetryPolicy
from tests.sandboxes import FleetbaseSandbox


def _client(sb: FleetbaseSandbox, key: str = FleetbaseSandbox.API_KEY) -> FleetbaseClient:
    return FleetbaseClient(sb.base_url, key, retry=RetryPolicy(attempts=1), timeout=5)


def _order(c: FleetbaseClient, **extra):
    a = c.find_or_create_place(
        name="A", street1="1 Test St", city="Oakland", postal_code="94607", province="CA", license_number="L-A"
    )
    b = c.find_or_create_place(
        name="B", street1="9 Test Ave", city="SF", postal_code="94110", province="CA", license_number="L-B"
    )
    return c.create_order({"internal_id": "fleetbase:T-1", "payload": {"pickup": a.id, "dropoff": b.id}, **extra})


def test_auth_validation_and_flow(fleetbase_sandbox):
    sb = fleetbase_sandbox
    with pytest.raises(AuthFailed):
        _client(sb, "flb_test_wrong").search_places("x")
    r = httpx.get(sb.base_url + "/orders/order_x", headers={"Authorization": f"Bearer {sb.API_KEY}"})
    assert r.status_code == 404 and r.json() == {"errors": ["Order resource not found."]}
    c = _client(sb)
    with pytest.raises(Rejected):
        c.create_order({"payload": {"pickup": "somewhere"}})
    with pytest.raises(Rejected):
        _order(c, driver="driver_unknown")
    o = _order(c)
    assert o.status == "created" and o.pickup.meta["license_number"] == "L-A" and o.internal_id == "fleetbase:T-1"
    same = c.find_or_create_place(
        name="A", street1="1 Test St", city="Oakland", postal_code="94607", province="CA", license_number="L-A"
    )
    assert same.id == o.pickup.id  # found, not created twice
    with pytest.raises(NotFound):
        c.get_order("order_missing")
    d = c.dispatch_order(o.id)
    assert d.status == "dispatched" and d.driver is not None and d.vehicle is not None
    sb.advance(o.id, "enroute", trip_seconds=1000)
    sb.advance_clock(250)
    t = c.tracker(o.id)
    assert t.progress_percentage == pytest.approx(25, abs=1) and t.estimated_completion_time is not None
    assert list(c.eta(o.id).values())[0] == pytest.approx(750, abs=5)
    with pytest.raises(Rejected):
        c.dispatch_order(o.id)  # cannot move backwards
    assert c.cancel_order(o.id).status == "canceled"
    assert c.find_order("fleetbase:T-1").status == "canceled"


def test_downtime_and_webhook_fault_switches(fleetbase_sandbox):
    sb = fleetbase_sandbox
    sb.fault(error_rate=1.0, path_prefix="/v1/")
    with pytest.raises(Unavailable):
        _client(sb).search_places("x")
    sb.fault(error_rate=0.0)
    r = sb.control.post("/_sandbox/fleetbase/webhooks/faults", json={"no_such": 1})
    assert r.status_code == 400 and "unknown webhook fault" in r.json()["error"]
    described = sb.webhook_faults(duplicate_rate=0.1, bad_signature_next=2, out_of_order=True)
    assert described["faults"]["bad_signature_next"] == 2 and described["faults"]["out_of_order"] is True


def test_update_order_replaces_meta_and_reassigns(fleetbase_sandbox):
    c = _client(fleetbase_sandbox)
    o = _order(c, meta={"reup_order_number": "T-1", "metrc_manifest_number": None})
    driver = c.create_driver(name="Dana Ruiz")
    u = c.update_order(o.id, {"meta": {**o.meta, "metrc_manifest_number": "0000123"}, "driver": driver.id})
    assert u.meta == {"reup_order_number": "T-1", "metrc_manifest_number": "0000123"} and u.driver.name == "Dana Ruiz"
    got = c.get_order(o.id)  # GET reflects it
    assert got.meta == u.meta and got.driver.id == driver.id
    assert c.update_order(o.id, {"meta": {"only": "this"}}).meta == {"only": "this"}  # meta is replaced as a whole
    with pytest.raises(Rejected):
        c.update_order(o.id, {"vehicle": "vehicle_unknown"})
    with pytest.raises(NotFound):
        c.update_order("order_missing", {"meta": {}})
    c.cancel_order(o.id)
    assert c.update_order(o.id, {"meta": {"late": "note"}}).meta == {"late": "note"}  # meta still editable
    with pytest.raises(Rejected):
        c.update_order(o.id, {"driver": driver.id})  # a finished order keeps its driver


def test_driver_swap_scenario_and_reassign_raise_driver_assigned(fleetbase_sandbox):
    sb = fleetbase_sandbox
    r = sb.control.post("/_sandbox/fleetbase/scenarios", json={"swap_driver_on": "completed"})
    assert r.status_code == 400 and "swap_driver_on must be one of" in r.json()["error"]
    r = sb.control.post("/_sandbox/fleetbase/scenarios", json={"no_such": 1})
    assert r.status_code == 400 and "unknown scenario" in r.json()["error"]
    assert sb.scenarios(swap_driver_on="started")["swap_driver_name"] == "Riley Relief"

    c = _client(sb)
    o = _order(c)
    c.dispatch_order(o.id)
    first = c.get_order(o.id).driver.name
    assert [e["event"] for e in sb.events(o.id, "order.driver_assigned")] == ["order.driver_assigned"]
    sb.advance(o.id, "started")  # the scenario hands it over, once
    assert c.get_order(o.id).driver.name == "Riley Relief" != first
    sb.advance(o.id, "enroute")
    assert len(sb.events(o.id, "order.driver_assigned")) == 2
    assert [e["event"] for e in sb.events(o.id)] == [
        "order.created",
        "order.driver_assigned",  # the dispatch's
        "order.dispatched",
        "order.updated",  # started
        "order.driver_assigned",  # the swap, right after the start
        "order.updated",  # enroute
    ]

    assert sb.reassign(o.id, "Morgan Third")["driver_assigned"]["name"] == "Morgan Third"
    assert len(sb.events(o.id, "order.driver_assigned")) == 3
    sb.reassign(o.id, "Morgan Third")  # the same driver: nothing to announce
    assert len(sb.events(o.id, "order.driver_assigned")) == 3
    sb.reset()
    assert sb.control.get("/_sandbox/fleetbase/scenarios").json()["swap_driver_on"] is None
    assert sb.events() == []
