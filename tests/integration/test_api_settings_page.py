"""/settings/api through its page state: a new key's secret never reaches state (only one-time ticket
URLs, the secret sealed in the ticket store), the key works, revoking it stops it; non-managers are
refused."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlparse

import pytest
from sqlmodel import Session, select

from reup_app.db import unit_of_work
from reup_app.errors import NotAuthenticated
from reup_app.models import OutboxMessage, WebhookDelivery
from reup_app.security import crypto, ticket_links, tickets
from reup_app.security.ratelimit import get_backend
from reup_app.services.public_api import keys, webhooks
from reup_app.state.api_settings import ApiSettingsState
from tests.factories import make_entity, make_member
from tests.integration.statekit import Tab, email_of, frontend_json, run

pytestmark = pytest.mark.mysql


def _secret_behind(url: str, user_id: int) -> str:
    code = parse_qs(urlparse(url).query)["t"][0]
    stored = get_backend().get(tickets.ticket_key(ticket_links.API_SECRET, code))
    payload = tickets.peek(ticket_links.API_SECRET, code)
    secret = crypto.decrypt(payload["sealed"], ticket_links.api_secret_aad(user_id))
    assert stored and secret not in stored  # sealed in the ticket store, never plain
    return secret


def test_key_created_on_the_page_is_shown_only_through_a_ticket_and_can_be_revoked(engine, session):
    entity = make_entity(session, "wholesaler")
    _user, owner = make_member(session, entity, "owner")
    tab = Tab().at("/settings/api").sign_in(email_of(session, owner))
    page = tab.state(ApiSettingsState)
    run(page.load())
    run(page.create_key({"name": "ERP", "role": "sales", "expires_in_days": "30"}))
    assert page.error == "" and page.secret_image_url.startswith("/api/auth/reveal/api-secret.svg?t=")
    secret = _secret_behind(page.secret_text_url, owner.user_id)
    assert secret.startswith("rk_") and secret not in frontend_json(page)  # only its prefix is listed
    with unit_of_work(None, engine=engine) as s:
        identity = keys.authenticate(s, secret)
    assert identity.principal.entity_id == entity.id and identity.principal.roles == frozenset({"sales"})
    [row] = page.keys
    assert row["name"] == "ERP" and row["status"] == "active" and row["prefix"] == secret[:11] + "…"
    run(page.create_endpoint({"url": "https://erp.example/hooks", "kind_order.submitted": "on"}))
    assert page.error == "" and "whsec_" not in frontend_json(page)
    hook_secret = _secret_behind(page.secret_text_url, owner.user_id)
    assert hook_secret.startswith("whsec_") and hook_secret not in frontend_json(page)
    assert page.endpoints[0]["kinds"] == "order.submitted"
    run(page.revoke_key(row["id"]))
    assert page.keys[0]["status"] == "revoked"
    with unit_of_work(None, engine=engine) as s, pytest.raises(NotAuthenticated):
        keys.authenticate(s, secret)


def test_a_member_without_team_manage_is_refused(session):
    entity = make_entity(session, "wholesaler")
    _user, sales = make_member(session, entity, "sales")
    tab = Tab().at("/settings/api").sign_in(email_of(session, sales))
    page = tab.state(ApiSettingsState)
    events = run(page.load())
    assert events and page.keys == []
    run(page.create_key({"name": "x", "role": "viewer"}))
    assert page.error and page.secret_image_url == ""


def test_send_test_event_queues_a_signed_ping_for_the_own_endpoint_only(engine, session):
    entity, other = make_entity(session, "wholesaler"), make_entity(session, "wholesaler")
    _user, owner = make_member(session, entity, "owner")
    _user, other_owner = make_member(session, other, "owner")
    with unit_of_work(other_owner, engine=engine) as s:
        foreign, _secret = webhooks.create_endpoint(
            s, other_owner, url="https://other.example/hooks", event_kinds=["order.submitted"]
        )
    page = Tab().at("/settings/api").sign_in(email_of(session, owner)).state(ApiSettingsState)
    run(page.load())
    run(page.create_endpoint({"url": "https://erp.example/hooks", "kind_invoice.paid": "on"}))
    endpoint_id = page.endpoints[0]["id"]
    run(page.send_test(endpoint_id))
    assert page.error == "" and page.deliveries_for == endpoint_id
    [row] = page.deliveries
    assert (row["kind"], row["status"], row["attempts"]) == ("ping", "pending", "0")
    with Session(engine) as s:
        delivery = s.exec(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == int(endpoint_id))).one()
        outbox = s.exec(
            select(OutboxMessage).where(
                OutboxMessage.target_table == "webhook_deliveries", OutboxMessage.target_id == delivery.id
            )
        ).all()
    assert json.loads(delivery.payload)["type"] == "ping" and json.loads(delivery.payload)["business_id"] == entity.id
    assert [(m.kind, m.target_table) for m in outbox] == [("webhook.deliver", "webhook_deliveries")]
    run(page.send_test(str(foreign.id)))  # another business's endpoint: not found, nothing queued
    assert "not found" in page.error
    with Session(engine) as s:
        assert s.exec(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == foreign.id)).all() == []
    run(page.toggle_endpoint(endpoint_id, False))
    run(page.send_test(endpoint_id))
    assert "Enable the endpoint" in page.error
