"""A stored Fleetbase webhook whose processing keeps failing backs off (the outbox's backoff policy),
is "dead" after its budget, waits in the admin error queue without holding up other receipts, and an
admin's Retry (audited) processes it again."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from reup_app.backoff import BASE_SECONDS
from reup_app.db import unit_of_work
from reup_app.errors import PermissionDenied
from reup_app.models import AuditLog, Delivery, WebhookReceipt
from reup_app.models.types import utcnow
from reup_app.security.principal import Principal
from reup_app.services.integrations import error_queue
from reup_app.services.logistics.fleetbase_events import RECEIPT_MAX_ATTEMPTS, stale_receipts
from reup_app.services.ordering.fleetbase_inbox import process_receipt
from tests.factories import make_user
from tests.integration.fleetbase_kit import (
    create_delivery,
    delivery_of,
    fleetbase_env,
    fulfilled,
    settle,
    ship,
    wait_for,
)
from tests.integration.orderkit import fresh


@pytest.fixture
def fb(fleetbase_sandbox, app_server):
    yield from fleetbase_env(fleetbase_sandbox, app_server)


def _receipt(engine, receipt_id: int) -> WebhookReceipt:
    with fresh(engine) as db:
        return db.get(WebhookReceipt, receipt_id)


def _corrupt_route(engine, delivery_id: int, route: str | None) -> None:
    with fresh(engine) as db:
        db.execute(update(Delivery).where(Delivery.id == delivery_id).values(route=route))
        db.commit()


def _due_ids(engine) -> list[int]:
    with fresh(engine) as db:
        return stale_receipts(db, older_than=timedelta(seconds=0), limit=100_000)


def test_failing_receipt_backs_off_dies_is_listed_and_retry_reprocesses(session, engine, fb):
    s = fulfilled(session, engine, fb)
    ship(engine, s)
    create_delivery(engine, s)
    settle(engine, fb)
    d = delivery_of(engine, s.number)
    assert d.status == "dispatched"
    _corrupt_route(engine, d.id, "{not json")  # applying any order event to this delivery now raises

    fb.advance(d.external_id, "started")
    fb.flush()
    [event] = [r for r in fb.webhook_log() if r["event"] == "order.updated" and r["status"] == 200]
    with fresh(engine) as db:
        receipt_id = db.execute(
            select(WebhookReceipt.id).where(WebhookReceipt.external_event_id == event["event_id"])
        ).scalar_one()
    # the endpoint's in-process kick was the first try; it failed and set a backoff
    r = wait_for(
        lambda: (x := _receipt(engine, receipt_id)).attempts == 1 and x.status == "received" and x, what="try 1"
    )
    assert "JSONDecodeError" in r.error and r.next_attempt_at is not None

    # a second, healthy delivery's events flow while this receipt keeps failing
    other = fulfilled(session, engine, fb)
    ship(engine, other)
    create_delivery(engine, other)

    for attempt in range(2, RECEIPT_MAX_ATTEMPTS + 1):
        before = _receipt(engine, receipt_id)
        # not due before its next attempt time: the sweep leaves it alone
        with fresh(engine) as db:
            db.execute(
                update(WebhookReceipt)
                .where(WebhookReceipt.id == receipt_id)
                .values(next_attempt_at=utcnow() + timedelta(minutes=5))
            )
            db.commit()
        assert receipt_id not in _due_ids(engine)
        with fresh(engine) as db:
            db.execute(update(WebhookReceipt).where(WebhookReceipt.id == receipt_id).values(next_attempt_at=utcnow()))
            db.commit()
        assert receipt_id in _due_ids(engine)
        outcome = process_receipt(receipt_id)
        r = _receipt(engine, receipt_id)
        assert r.attempts == attempt == before.attempts + 1
        if attempt < RECEIPT_MAX_ATTEMPTS:
            assert outcome == "error" and r.status == "received"
            # exponential backoff with full jitter, the outbox sender's policy (reup_app.backoff)
            ceiling = BASE_SECONDS * 2 ** (attempt - 1)
            wait = (r.next_attempt_at - r.processed_at).total_seconds()
            assert -1 <= wait <= ceiling + 1, (attempt, wait, ceiling)
        else:
            assert outcome == "dead" and r.status == "dead" and r.next_attempt_at is None

    assert receipt_id not in _due_ids(engine)  # dead: never swept again, so it blocks nothing
    settle(engine, fb)  # ...and the other delivery's events were all processed meanwhile
    assert delivery_of(engine, other.number).status == "dispatched"

    admin = make_user(session, is_platform_admin=True)
    p = Principal(user_id=admin.id, is_platform_admin=True)
    with unit_of_work(p) as db:
        [listed] = [w for w in error_queue.dead_webhooks(db, p) if w.id == receipt_id]
    assert listed.attempts == RECEIPT_MAX_ATTEMPTS and "JSONDecodeError" in listed.error
    with pytest.raises(PermissionDenied), unit_of_work(s.seller.owner) as db:
        error_queue.retry_webhook(db, s.seller.owner, receipt_id)

    _corrupt_route(engine, d.id, None)  # the cause is fixed
    with unit_of_work(p) as db:
        error_queue.retry_webhook(db, p, receipt_id)
    r = _receipt(engine, receipt_id)
    assert r.status == "received" and r.attempts == 0
    with fresh(engine) as db:  # the admin's retry is in the audit trail, like an outbox retry
        audit = db.execute(
            select(AuditLog).where(AuditLog.table_name == "webhook_receipts", AuditLog.row_id == str(receipt_id))
        ).scalar_one()
    assert audit.actor_user_id == admin.id and '"dead", "received"' in audit.changes

    assert receipt_id in _due_ids(engine)
    assert process_receipt(receipt_id) == "processed"
    assert _receipt(engine, receipt_id).status == "processed"
    d = delivery_of(engine, s.number)
    assert d.vendor_status == "started" and d.status == "in_transit"
    with unit_of_work(p) as db:
        assert receipt_id not in [w.id for w in error_queue.dead_webhooks(db, p)]


def test_a_full_processing_backlog_leaves_new_receipts_to_the_sweep(engine, fb, app_server, monkeypatch):
    from reup_app.api import fleetbase_webhook as endpoint
    from tests.integration.fleetbase_kit import fleetbase_time, receipts, signed_post

    monkeypatch.setattr(endpoint, "MAX_QUEUED", 0)  # the processing thread's backlog is full
    try:
        event = {
            "id": "event_backlog_" + utcnow().strftime("%H%M%S%f"),
            "event": "order.dispatched",
            "created_at": fleetbase_time(utcnow()),
            "data": {"id": "order_backlogged", "status": "dispatched"},
        }
        answer = signed_post(app_server.base_url, event)
        assert answer.status_code == 200 and answer.json() == {"ok": True}  # stored and answered at once
        time.sleep(0.5)
        [r] = receipts(engine, [event["id"]])
        assert r.status == "received" and r.attempts == 0  # not kicked: nothing queued behind the backlog
    finally:
        monkeypatch.undo()
    assert r.id in _due_ids(engine)  # the sweep takes it
    assert process_receipt(r.id) == "unmatched"


def test_admin_jobs_page_lists_dead_webhooks_with_retry(session, engine):
    from reup_app.state.admin_jobs import AdminJobsState
    from tests.integration.statekit import run
    from tests.integration.test_admin_jobs_page import _admin_tab

    event_id = "event_dead_" + utcnow().strftime("%H%M%S%f")
    row = WebhookReceipt(
        provider="fleetbase",
        external_event_id=event_id,
        event_type="order.updated",
        payload="{}",
        status="dead",
        error="JSONDecodeError: Expecting value",
        received_at=utcnow(),
        attempts=RECEIPT_MAX_ATTEMPTS,
    )
    session.add(row)
    session.commit()
    page = _admin_tab(session).at("/admin/jobs").state(AdminJobsState)
    assert run(page.load()) == []
    [listed] = [w for w in page.dead_webhooks if w["event_id"] == event_id]
    assert listed["attempts"] == str(RECEIPT_MAX_ATTEMPTS) and "JSONDecodeError" in listed["error"]
    run(page.retry_webhook(listed["id"]))
    assert "Queued again" in page.notice and event_id not in [w["event_id"] for w in page.dead_webhooks]
    assert _receipt(engine, row.id).status == "received"
    run(page.retry_webhook(listed["id"]))  # no longer dead
    assert "Only dead webhooks" in page.error
