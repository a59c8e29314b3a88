"""Over the Fleetbase sandbox: a METRC manifest number issued after the Fleetbase order exists reaches
the order's meta (one outbox intent written with the manifest, sent after commit, retried under
faults), with the manifest's driver and vehicle re-asserted; and the seller's "Cancel delivery"
(seller only, before the driver starts) cancels the Fleetbase order through the outbox."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update

from reup_app.errors import Conflict, NotFound, PermissionDenied, ValidationError
from reup_app.integrations.fleetbase.client import FleetbaseClient
from reup_app.models import OutboxMessage
from reup_app.services.logistics import deliveries
from reup_app.services.logistics.delivery_cancel import cancel_delivery
from reup_app.services.logistics.delivery_cancel import reference as cancel_reference
from reup_app.services.logistics.fleetbase_manifest import reference as manifest_reference
from tests.integration.fleetbase_kit import (
    DRIVER,
    create_delivery,
    delivery_of,
    fleetbase_env,
    fulfilled,
    issue_manifest,
    order_status,
    settle,
    ship,
    wait_for,
)
from tests.integration.metrc_transfer_kit import drain, fence, outbox_row, send
from tests.integration.orderkit import call, fresh, make_seller
from tests.sandboxes import FleetbaseSandbox


@pytest.fixture
def fb(fleetbase_sandbox, app_server):
    yield from fleetbase_env(fleetbase_sandbox, app_server)


def _client(sb: FleetbaseSandbox) -> FleetbaseClient:
    return FleetbaseClient(sb.base_url, FleetbaseSandbox.API_KEY)


def _first_due(engine, reference: str) -> None:
    """Make our row the first due one (another test's drain may have claimed it beside its own, and
    rows other tests left behind would otherwise come first)."""
    with fresh(engine) as db:
        db.execute(
            update(OutboxMessage)
            .where(OutboxMessage.reference == reference)
            .values(next_attempt_at=datetime(2000, 1, 1, tzinfo=UTC))
        )
        db.commit()


def _sandbox_order(sb: FleetbaseSandbox, order_id: str) -> dict:
    [order] = [o for o in sb.orders() if o["id"] == order_id]
    return order


def test_manifest_issued_after_the_fleetbase_order_reaches_its_meta(session, engine, fb):
    s = fulfilled(session, engine, fb)
    ship(engine, s)
    assert create_delivery(engine, s) == ["sent"]
    settle(engine, fb)
    d = delivery_of(engine, s.number)
    assert _sandbox_order(fb, d.external_id)["meta"]["metrc_manifest_number"] is None  # not issued yet

    # Fleetbase's dispatcher put someone else on the order meanwhile
    client = _client(fb)
    stranger = client.create_driver(name="Someone Else")
    client.update_order(d.external_id, {"driver": stranger.id})
    assert _client(fb).get_order(d.external_id).driver.name == "Someone Else"

    issue_manifest(engine, s.number, "0000424242", f"9{d.id}")
    row = outbox_row(engine, manifest_reference(s.number))
    assert row is not None and row.kind == "fleetbase.update_order_meta" and row.status == "pending"

    fb.fault(error_rate=1.0, path_prefix="/v1/orders")  # Fleetbase is down: retried with backoff
    assert send(engine, fence(), manifest_reference(s.number), later=True) == "failed"
    assert _sandbox_order(fb, d.external_id)["meta"]["metrc_manifest_number"] is None
    fb.fault(error_rate=0.0)
    assert drain(engine, fence(), manifest_reference(s.number)) == ["sent"]

    order = _client(fb).get_order(d.external_id)  # GET order reflects the update
    assert order.meta["metrc_manifest_number"] == "0000424242"
    assert order.meta["reup_order_number"] == s.number  # the rest of the meta was kept
    assert order.meta["seller_license_number"] == s.seller.license.number
    # the manifest's driver and vehicle are the Fleetbase order's again
    assert order.driver.name == DRIVER["driver_name"] and order.vehicle.plate_number == DRIVER["vehicle_plate"]
    with fresh(engine) as db:  # exactly one intent per order
        n = db.execute(select(func.count()).where(OutboxMessage.reference == manifest_reference(s.number))).scalar_one()
    assert n == 1
    settle(engine, fb)
    assert delivery_of(engine, s.number).driver_name == DRIVER["driver_name"]


def test_manifest_put_whose_answer_is_lost_is_not_replayed_blindly(session, engine, fb):
    """A PUT that timed out is not retried by the client (the dispatcher may have moved on): the row is
    retried as maybe-sent, the job reads the order, finds the number there and sends nothing again."""
    s = fulfilled(session, engine, fb)
    ship(engine, s)
    assert create_delivery(engine, s) == ["sent"]
    d = delivery_of(engine, s.number)
    issue_manifest(engine, s.number, "0000616161", f"6{d.id}")
    ref = manifest_reference(s.number)
    updates_before = len(fb.events(d.external_id, "order.updated"))

    fb.fault(stall_after_write=1, stall_seconds=5, path_prefix="/v1/orders")  # applied; the answer comes too late
    _first_due(engine, ref)
    assert send(engine, fence(), ref, later=True) == "failed"
    row = outbox_row(engine, ref)
    assert "AmbiguousWrite" in row.last_error and row.send_started_at is not None  # maybe sent: reconcile next
    assert _sandbox_order(fb, d.external_id)["meta"]["metrc_manifest_number"] == "0000616161"
    assert len(fb.events(d.external_id, "order.updated")) == updates_before + 1

    assert drain(engine, fence(), ref) == ["sent"]
    assert '"unchanged": true' in outbox_row(engine, ref).result  # recognised, not sent again
    assert len(fb.events(d.external_id, "order.updated")) == updates_before + 1  # Fleetbase applied it once


def test_lost_put_answer_does_not_undo_a_driver_reassigned_after_the_start(session, engine, fb):
    """The manifest PUT puts the manifest's driver back (the order was still dispatched); its answer is
    lost, and meanwhile the driver starts and the dispatcher hands the order to a relief driver. A
    blind replay of that PUT would take the order from the relief driver; the job reads it again instead."""
    s = fulfilled(session, engine, fb)
    ship(engine, s)
    assert create_delivery(engine, s) == ["sent"]
    settle(engine, fb)
    d = delivery_of(engine, s.number)
    client = _client(fb)
    client.update_order(d.external_id, {"driver": client.create_driver(name="Someone Else").id})
    issue_manifest(engine, s.number, "0000626262", f"5{d.id}")
    ref = manifest_reference(s.number)
    _first_due(engine, ref)

    fb.fault(stall_after_write=1, stall_seconds=5, path_prefix="/v1/orders")
    with ThreadPoolExecutor(1) as pool:
        sending = pool.submit(send, engine, fence(), ref, later=True)
        wait_for(lambda: _sandbox_order(fb, d.external_id)["meta"].get("metrc_manifest_number"), what="the PUT")
        assert _sandbox_order(fb, d.external_id)["driver_assigned"]["name"] == DRIVER["driver_name"]
        fb.advance(d.external_id, "started")
        fb.reassign(d.external_id, "Riley Relief")
        assert sending.result(30) == "failed"  # the answer timed out; the PUT was not replayed
    assert drain(engine, fence(), ref) == ["sent"]
    assert '"unchanged": true' in outbox_row(engine, ref).result  # started: the driver is Fleetbase's to choose
    assert client.get_order(d.external_id).driver.name == "Riley Relief"
    settle(engine, fb)
    assert delivery_of(engine, s.number).driver_name == "Riley Relief"


def test_manifest_issued_before_the_create_goes_with_the_create(session, engine, fb):
    s = fulfilled(session, engine, fb)
    ship(engine, s)
    d = delivery_of(engine, s.number)
    issue_manifest(engine, s.number, "0000515151", f"8{d.id}")
    assert create_delivery(engine, s) == ["sent"]
    [order] = [o for o in fb.orders() if o["internal_id"] == s.reference]
    assert order["meta"]["metrc_manifest_number"] == "0000515151"
    _first_due(engine, manifest_reference(s.number))
    assert drain(engine, fence(), manifest_reference(s.number)) == ["sent"]
    assert '"unchanged": true' in outbox_row(engine, manifest_reference(s.number)).result


def test_seller_cancels_the_delivery_before_the_driver_starts(session, engine, fb):
    s = fulfilled(session, engine, fb)
    ship(engine, s)
    create_delivery(engine, s)
    settle(engine, fb)
    assert call(engine, s.seller.owner, deliveries.get_order_delivery, s.number).can_cancel is True
    assert call(engine, s.buyer.owner, deliveries.get_order_delivery, s.number).can_cancel is False

    with pytest.raises(PermissionDenied):  # the buyer may not
        call(engine, s.buyer.owner, cancel_delivery, s.number, "changed my mind")
    with pytest.raises(NotFound):  # another business does not even see the order
        call(engine, make_seller(session).owner, cancel_delivery, s.number, "not mine")
    with pytest.raises(PermissionDenied):  # a seller member who may not ship
        call(engine, s.seller.p["viewer"], cancel_delivery, s.number, "viewer")
    with pytest.raises(ValidationError):
        call(engine, s.seller.owner, cancel_delivery, s.number, "  ")
    assert outbox_row(engine, cancel_reference(s.number)) is None

    call(engine, s.seller.owner, cancel_delivery, s.number, "Buyer's store closed today")
    d = delivery_of(engine, s.number)
    assert d.cancel_reason == "Buyer's store closed today" and d.cancel_requested_at is not None
    assert "Cancelling in Fleetbase" in d.last_error
    assert call(engine, s.seller.owner, deliveries.get_order_delivery, s.number).can_cancel is False
    with pytest.raises(Conflict):  # asked once
        call(engine, s.seller.owner, cancel_delivery, s.number, "again")
    assert _sandbox_order(fb, d.external_id)["status"] == "dispatched"  # nothing sent inside the transaction

    fb.fault(stall_after_write=1, stall_seconds=5, path_prefix="/v1/orders")  # the cancel's answer is lost
    # the client retries the (idempotent) DELETE, Fleetbase answers "already canceled", the job reads the
    # order and adopts its cancellation
    assert drain(engine, fence(), cancel_reference(s.number)) == ["sent"]
    assert '"status": "canceled"' in outbox_row(engine, cancel_reference(s.number)).result
    assert _sandbox_order(fb, d.external_id)["status"] == "canceled"
    settle(engine, fb)
    d = delivery_of(engine, s.number)
    assert d.status == "cancelled" and d.vendor_status == "canceled" and d.last_error is None
    assert order_status(engine, s.number) == "shipped"  # the seller decides what happens next
    view = call(engine, s.buyer.owner, deliveries.get_order_delivery, s.number)
    assert view.status == "cancelled" and view.note == "Cancelled by the seller: Buyer's store closed today"


def test_cancel_refused_once_the_driver_started(session, engine, fb):
    s = fulfilled(session, engine, fb)
    ship(engine, s)
    create_delivery(engine, s)
    settle(engine, fb)
    fb.advance(delivery_of(engine, s.number).external_id, "started")
    settle(engine, fb)
    assert call(engine, s.seller.owner, deliveries.get_order_delivery, s.number).can_cancel is False
    with pytest.raises(Conflict, match="before the driver starts"):
        call(engine, s.seller.owner, cancel_delivery, s.number, "too late")
