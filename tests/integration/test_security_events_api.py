"""Security log lines for API key use and for a platform admin's "view as business" (ASVS V7):
who, which business, which address, and never the key itself."""

from __future__ import annotations

import logging

import pytest

from reup_app.db import unit_of_work
from reup_app.errors import NotAuthenticated
from reup_app.services.identity import support_view as support_service
from reup_app.services.public_api import keys
from tests.identity_support import admin_principal
from tests.integration.apikit import new_key
from tests.integration.orderkit import call, make_seller


def _events(caplog, name: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "security_event", None) == name]


def test_api_key_use_and_refusal_are_security_events_without_the_secret(session, engine, caplog):
    seller = make_seller(session)
    key_id, secret = new_key(engine, seller.owner)
    caplog.set_level(logging.INFO, logger="reup.security")
    with unit_of_work(None, engine=engine) as s:
        identity = keys.authenticate(s, secret, client_ip="203.0.113.9")
    assert identity.principal.entity_id == seller.id
    (used,) = _events(caplog, "api_key.used")
    assert used.security["business"] == seller.id and used.security["address"] == "203.0.113.9"
    assert used.security["api_credential"] == key_id
    with pytest.raises(NotAuthenticated), unit_of_work(None, engine=engine) as s:
        keys.authenticate(s, secret + "x", client_ip="203.0.113.9")
    (refused,) = _events(caplog, "api_key.refused")
    assert refused.security["address"] == "203.0.113.9"
    assert all(secret not in r.getMessage() for r in caplog.records)


def test_a_support_view_is_a_security_event_naming_the_admin_and_the_business(session, engine, caplog):
    seller = make_seller(session)
    admin = admin_principal(session)
    caplog.set_level(logging.INFO, logger="reup.security")
    call(engine, admin, support_service.start_support_view, seller.id, "Ticket 7: invoice question")
    (started,) = _events(caplog, "support_view.started")
    assert started.security["user"] == admin.user_id and started.security["viewed_entity"] == seller.id
