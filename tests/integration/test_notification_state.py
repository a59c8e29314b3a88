"""The bell's state handlers on MySQL: what it shows after sign-in, malformed and foreign ids,
mark all read, and what a pushed event does (own entity: reload + toast; other entity: nothing)."""

from __future__ import annotations

import asyncio
import json

from reflex.state import State
from reflex_base.event import EventSpec

from reup_app.events.core import DomainEvent
from reup_app.services.notifications import inbox as notifications
from reup_app.state.arg_guard import MALFORMED
from reup_app.state.auth import AuthState
from reup_app.state.notifications import NotificationState
from tests.factories import DEFAULT_PASSWORD, make_member
from tests.integration.orderkit import call, make_buyer, make_seller, place_one, stock


def _signed_in_bell(email: str) -> tuple[AuthState, NotificationState]:
    root = State(_reflex_internal_init=True)
    auth = root.get_substate(AuthState.get_full_name().split("."))
    bell = root.get_substate(NotificationState.get_full_name().split("."))
    asyncio.run(auth.login({"email": email, "password": DEFAULT_PASSWORD}))
    assert auth.signed_in
    asyncio.run(bell.connect())
    return auth, bell


def test_bell_shows_own_notifications_and_refuses_bad_or_foreign_ids(engine, session):
    seller, buyer = make_seller(session), make_buyer(session)
    product, _ = stock(session, seller, qty="50")
    user, _p = make_member(session, seller.entity, "sales")
    number = place_one(engine, buyer, product, "1")
    auth, bell = _signed_in_bell(user.email)

    assert bell.bell_ready and bell.unread == 1
    assert bell.items[0]["title"] == f"New order {number} from {buyer.entity.name}"
    assert bell.items[0]["read"] == "no" and bell.items[0]["link"] == f"/orders/{number}"
    sent = json.dumps(bell.dict(), default=str) + json.dumps(auth.dict(), default=str)
    assert auth._access_token not in sent and auth._refresh_token not in sent

    for bad in (None, ["1"], {"id": 1}):  # wrong types: refused by the argument guard
        assert MALFORMED in str(asyncio.run(bell.mark_read(bad)))
    for bad in ("abc", "1" * 40):
        bell.notif_error = ""
        asyncio.run(bell.mark_read(bad))
        assert bell.notif_error == "That notification was not found."
    colleague = call(engine, seller.owner, notifications.summary).items[0]  # the owner's own row
    bell.notif_error = ""
    asyncio.run(bell.mark_read(str(colleague.id)))
    assert bell.notif_error == "That notification was not found." and bell.unread == 1
    assert call(engine, seller.owner, notifications.unread_count) == 1  # untouched

    asyncio.run(bell.mark_all_read())
    assert bell.unread == 0 and bell.items[0]["read"] == "yes" and bell.notif_error == ""


def test_pushed_events_reload_for_own_entity_and_do_nothing_for_others(engine, session):
    seller, other, buyer = make_seller(session), make_seller(session), make_buyer(session)
    product, _ = stock(session, seller, qty="50")
    user, _p = make_member(session, seller.entity, "sales")
    _auth, bell = _signed_in_bell(user.email)
    assert bell.unread == 0

    number = place_one(engine, buyer, product, "1")  # stored; this bell is not told yet
    foreign = DomainEvent(
        "order.submitted", (buyer.id, other.id), {"order_number": number, "seller_entity_id": other.id}
    )
    assert asyncio.run(bell._on_domain_event(foreign)) is None
    assert bell.unread == 0 and bell.items == []

    own = DomainEvent("order.submitted", (buyer.id, seller.id), {"order_number": number, "seller_entity_id": seller.id})
    toast = asyncio.run(bell._on_domain_event(own))
    assert bell.unread == 1 and number in bell.items[0]["title"]
    assert isinstance(toast, EventSpec) and number in str(toast.args)
