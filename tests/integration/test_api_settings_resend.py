"""/settings/api's "resend" button through its page state (ApiSettingsState.resend): the business's
own failed delivery is queued again (pending, a fresh outbox message, the same signed body); another
business's delivery id is refused as not found and nothing of it changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from reup_app.db import unit_of_work
from reup_app.models import OutboxMessage, WebhookDelivery
from reup_app.services.public_api import webhooks
from reup_app.state.api_settings import ApiSettingsState
from tests.factories import make_entity, make_member
from tests.integration.statekit import Tab, email_of, run

pytestmark = pytest.mark.mysql


def _failed_delivery(engine, principal, url: str) -> int:
    """An endpoint of the principal's business and one ping to it that has failed for good."""
    with unit_of_work(principal, engine=engine) as s:
        ep, _secret = webhooks.create_endpoint(s, principal, url=url, event_kinds=["order.submitted"])
        delivery_id = webhooks.send_test_event(s, principal, ep.id).id
    with unit_of_work(None, engine=engine) as s:
        webhooks.record_attempt(s, delivery_id, status_code=500, duration_ms=12, error="HTTP 500")
        d = s.get(WebhookDelivery, delivery_id)
        assert d is not None
        d.status, d.created_at = "dead", d.created_at - timedelta(days=2)  # past the retry window
        s.add(d)
    return delivery_id


def _snapshot(engine, delivery_id: int) -> tuple[tuple, list[tuple]]:
    with Session(engine) as s:
        d = s.get(WebhookDelivery, delivery_id)
        assert d is not None
        outbox = s.exec(
            select(OutboxMessage)
            .where(OutboxMessage.target_table == "webhook_deliveries", OutboxMessage.target_id == delivery_id)
            .order_by(col(OutboxMessage.id))
        ).all()
        return (d.status, d.attempts, d.created_at, d.payload, d.event_id), [
            (m.id, m.kind, m.status, m.reference) for m in outbox
        ]


def test_resend_requeues_the_own_delivery_and_refuses_another_business_delivery(engine, session):
    entity, other = make_entity(session, "wholesaler"), make_entity(session, "wholesaler")
    _user, owner = make_member(session, entity, "owner")
    _user, other_owner = make_member(session, other, "owner")
    mine = _failed_delivery(engine, owner, "https://erp.example/hooks")
    foreign = _failed_delivery(engine, other_owner, "https://other.example/hooks")
    (status, attempts, created, payload, event_id), outbox_before = _snapshot(engine, mine)
    assert status == "dead" and attempts == 1 and len(outbox_before) == 1
    foreign_before = _snapshot(engine, foreign)

    page = Tab().at("/settings/api").sign_in(email_of(session, owner)).state(ApiSettingsState)
    run(page.load())
    run(page.show_deliveries(page.endpoints[0]["id"]))
    assert [(r["id"], r["status"]) for r in page.deliveries] == [(str(mine), "dead")]

    run(page.resend(str(mine)))
    assert page.error == "" and page.notice == "Queued for sending again."
    (status2, attempts2, created2, payload2, event_id2), outbox_after = _snapshot(engine, mine)
    assert status2 == "pending" and created2 > created  # a fresh retry window
    assert (payload2, event_id2, attempts2) == (payload, event_id, attempts)  # the same event, log kept
    new = outbox_after[len(outbox_before) :]
    assert outbox_after[: len(outbox_before)] == outbox_before and len(new) == 1
    assert new[0][1:3] == ("webhook.deliver", "pending") and new[0][3].startswith(f"webhook:{mine}:resend:")
    assert [(r["id"], r["status"]) for r in page.deliveries] == [(str(mine), "pending")]  # the log reloaded

    run(page.resend(str(foreign)))  # another business's delivery: not found, nothing queued
    assert "not found" in page.error
    assert _snapshot(engine, foreign) == foreign_before
    assert _snapshot(engine, mine)[1] == outbox_after  # and nothing more of its own either
    run(page.resend("not-a-number"))
    assert page.error and _snapshot(engine, foreign) == foreign_before


def test_resend_is_refused_to_a_member_without_team_manage(engine, session):
    entity = make_entity(session, "wholesaler")
    _user, owner = make_member(session, entity, "owner")
    _user, sales = make_member(session, entity, "sales")
    mine = _failed_delivery(engine, owner, "https://erp.example/hooks")
    before = _snapshot(engine, mine)
    page = Tab().at("/settings/api").sign_in(email_of(session, sales)).state(ApiSettingsState)
    run(page.resend(str(mine)))
    assert page.error and page.notice == ""
    assert _snapshot(engine, mine) == before
