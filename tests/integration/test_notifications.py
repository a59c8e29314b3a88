"""Notifications service on MySQL: who is told of what (written in the event's transaction),
preferences (in-app / e-mail), reading and marking, and no access to anyone else's."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from reup_app.db import unit_of_work
from reup_app.errors import NotAuthenticated, NotFound, ValidationError
from reup_app.events import emit
from reup_app.events.kinds import emit_sync_result
from reup_app.models import EmailOutbox
from reup_app.models.notifications import Notification
from reup_app.security.principal import ANONYMOUS
from reup_app.services.notifications import inbox as notifications
from reup_app.services.notifications import preferences as preferences_service
from reup_app.services.ordering import messages
from tests.integration.orderkit import advance, call, fresh, make_buyer, make_seller, place_one, stock


@pytest.fixture
def trade(session):
    seller, buyer, other = make_seller(session), make_buyer(session), make_seller(session)
    product, _ = stock(session, seller, qty="50")
    return seller, buyer, other, product


def _rows(engine, user_ids):
    with fresh(engine) as s:
        return list(
            s.execute(
                select(Notification).where(Notification.user_id.in_(list(user_ids))).order_by(Notification.id)
            ).scalars()
        )


def _users(party, *roles):
    return [party.p[r].user_id for r in (roles or party.p)]


def test_new_order_tells_every_seller_member_once_and_nobody_else(engine, trade):
    seller, buyer, other, product = trade
    number = place_one(engine, buyer, product, "2")

    seller_rows = _rows(engine, _users(seller))
    assert sorted(n.user_id for n in seller_rows) == sorted(_users(seller))  # one each
    assert {n.kind for n in seller_rows} == {"order.submitted"}
    first = seller_rows[0]
    assert first.title == f"New order {number} from {buyer.entity.name}"
    assert first.link == f"/orders/{number}" and first.entity_id == seller.id and first.read_at is None
    # the buyer placed it (no notification to itself or its colleagues), a third entity hears nothing
    assert _rows(engine, _users(buyer)) == []
    assert _rows(engine, _users(other)) == []


def test_status_change_tells_both_parties_except_the_actor(engine, trade):
    seller, buyer, other, product = trade
    number = place_one(engine, buyer, product, "1")
    advance(engine, seller, number, "accept", role="sales")

    accepted = [n for n in _rows(engine, _users(seller) + _users(buyer)) if n.kind == "order.status_changed"]
    told = sorted(n.user_id for n in accepted)
    assert told == sorted(u for u in _users(seller) + _users(buyer) if u != seller.p["sales"].user_id)
    assert all(n.title == f"Order {number} was accepted" for n in accepted)
    assert _rows(engine, _users(other)) == []


def test_message_tells_the_other_party_only(engine, trade):
    seller, buyer, _other, product = trade
    number = place_one(engine, buyer, product, "1")
    call(engine, buyer.p["buyer"], messages.post_message, number, "Can you deliver Friday?")

    msgs = [n for n in _rows(engine, _users(seller) + _users(buyer)) if n.kind == "order.message"]
    assert sorted(n.user_id for n in msgs) == sorted(_users(seller))
    assert msgs[0].body.endswith("Can you deliver Friday?")


def test_preferences_choose_the_channels(engine, trade):
    seller, buyer, _other, product = trade
    owner, sales = seller.p["owner"], seller.p["sales"]
    call(engine, owner, preferences_service.set_preference, "order.submitted", in_app=False, email=True)
    prefs = {p.kind: p for p in call(engine, owner, preferences_service.get_preferences)}
    assert (prefs["order.submitted"].in_app, prefs["order.submitted"].email) == (False, True)
    assert (prefs["order.status_changed"].in_app, prefs["order.status_changed"].email) == (True, False)

    number = place_one(engine, buyer, product, "1")
    assert [n.user_id for n in _rows(engine, [owner.user_id])] == []  # in-app off
    assert len(_rows(engine, [sales.user_id])) == 1  # defaults untouched for others
    with fresh(engine) as s:
        from reup_app.models import User

        email = s.get(User, owner.user_id).email
        mails = list(s.execute(select(EmailOutbox).where(EmailOutbox.to_address == email)).scalars())
    assert len(mails) == 1 and number in mails[0].subject and f"/orders/{number}" in mails[0].body


def test_preferences_refuse_bad_input_and_kinds_the_role_never_gets(engine, trade):
    seller, buyer, _other, _product = trade
    for bad in (
        {"kind": "nope", "in_app": True, "email": False},
        {"kind": "order.submitted", "in_app": "yes", "email": False},
        {"kind": ["order.submitted"], "in_app": True, "email": False},
    ):
        with pytest.raises(ValidationError):
            call(
                engine,
                seller.p["owner"],
                preferences_service.set_preference,
                bad["kind"],
                in_app=bad["in_app"],
                email=bad["email"],
            )
    # integration sync results go to owners and admins only
    with pytest.raises(ValidationError, match="role does not receive"):
        call(engine, seller.p["viewer"], preferences_service.set_preference, "sync.failed", in_app=True, email=True)
    assert "sync.failed" not in {p.kind for p in call(engine, seller.p["viewer"], preferences_service.get_preferences)}
    with pytest.raises(NotAuthenticated):
        call(engine, ANONYMOUS, preferences_service.get_preferences)


def test_summary_mark_read_and_mark_all_read_touch_only_ones_own(engine, trade):
    seller, buyer, _other, product = trade
    owner, sales = seller.p["owner"], seller.p["sales"]
    for _ in range(3):
        place_one(engine, buyer, product, "1")
    summary = call(engine, owner, notifications.summary, limit=2)
    assert summary.unread == 3 and len(summary.items) == 2
    assert summary.items[0].id > summary.items[1].id  # newest first

    call(engine, owner, notifications.mark_read, summary.items[0].id)
    assert call(engine, owner, notifications.unread_count) == 2
    # someone else's notification is "not found", and stays unread
    sales_first = call(engine, sales, notifications.summary).items[0]
    with pytest.raises(NotFound):
        call(engine, owner, notifications.mark_read, sales_first.id)
    with pytest.raises(ValidationError):
        call(engine, owner, notifications.mark_read, "1; drop table")
    assert call(engine, sales, notifications.unread_count) == 3

    assert call(engine, owner, notifications.mark_all_read) == 2
    assert call(engine, owner, notifications.unread_count) == 0
    assert call(engine, sales, notifications.unread_count) == 3


def test_rolled_back_work_leaves_no_notification_and_sync_results_reach_admins(engine, trade):
    seller, _buyer, _other, _product = trade
    admins = _users(seller, "owner", "admin")
    with pytest.raises(RuntimeError):
        with unit_of_work(None, engine=engine) as s:
            emit(s, "sync.failed", entity_ids=[seller.id], payload={"integration": "metrc", "summary": "boom"})
            raise RuntimeError("abort")
    assert _rows(engine, _users(seller)) == []

    with unit_of_work(None, engine=engine) as s:
        emit_sync_result(s, entity_id=seller.id, integration="metrc", ok=False, summary="HTTP 500")
    rows = _rows(engine, _users(seller))
    assert sorted(n.user_id for n in rows) == sorted(admins)
    assert rows[0].title == "METRC sync failed" and rows[0].body == "HTTP 500"


def test_events_naming_users_reach_only_those_users(engine, trade):
    seller, _buyer, _other, _product = trade
    target = seller.p["admin"].user_id
    with unit_of_work(None, engine=engine) as s:
        emit(
            s,
            "sync.finished",
            entity_ids=[seller.id],
            user_ids=[target],
            payload={"integration": "dutchie", "summary": "42 products"},
        )
    assert [n.user_id for n in _rows(engine, _users(seller))] == [target]


def test_bells_for_a_push_match_each_users_own_summary(engine, trade):
    """The push layer's one-query read of many bells gives each (user, entity) exactly what that
    user's own summary shows, and an empty bell to a pair with no notifications."""
    seller, buyer, other, product = trade
    for _ in range(3):
        place_one(engine, buyer, product, "1")
    owner, sales = seller.p["owner"], seller.p["sales"]
    call(engine, owner, notifications.mark_read, call(engine, owner, notifications.summary).items[0].id)
    members = [owner, sales, buyer.p["owner"], other.p["owner"]]
    with fresh(engine) as s:
        bells = notifications.summaries_for_push(s, [(p.user_id, p.entity_id) for p in members], limit=2)
    assert set(bells) == {(p.user_id, p.entity_id) for p in members}
    for p in members:
        assert bells[(p.user_id, p.entity_id)] == call(engine, p, notifications.summary, limit=2)
    assert bells[(owner.user_id, owner.entity_id)].unread == 2
    assert len(bells[(owner.user_id, owner.entity_id)].items) == 2
    assert bells[(other.p["owner"].user_id, other.p["owner"].entity_id)].items == []
    # a user's bell in another entity is that entity's only
    with fresh(engine) as s:
        elsewhere = notifications.summaries_for_push(s, [(owner.user_id, other.p["owner"].entity_id)])
    assert elsewhere[(owner.user_id, other.p["owner"].entity_id)].items == []


def test_the_bell_batch_fills_what_it_promised_and_a_failed_batch_lets_each_tab_load_alone(engine, trade, monkeypatch):
    """The push hub asks the bell to prepare an event for the sessions about to get it: the bells
    are promised at once, the one query fills them, and a tab waiting meanwhile gets its own user's
    bell; when that query fails, each tab loads its own instead of showing an error."""
    import asyncio

    from reup_app.events.core import DomainEvent
    from reup_app.realtime.hub import PushHub
    from reup_app.realtime.registry import SessionInfo
    from reup_app.state import notifications as bell
    from reup_app.state.push_loads import shared

    seller, buyer, _other, product = trade
    place_one(engine, buyer, product, "1")
    owner, sales = seller.p["owner"], seller.p["sales"]
    sessions = [SessionInfo(p.user_id, p.entity_id) for p in (owner, sales, buyer.p["owner"])]

    def event():
        return DomainEvent("order.submitted", (buyer.p["owner"].entity_id, owner.entity_id), {})

    async def own_load(p):
        return "loaded alone", p.user_id

    async def prepared_then_taken(ev):
        work = bell.NotificationState._prepare_domain_event(ev, sessions)
        assert work is not None
        key = (ev.id, owner.user_id, owner.entity_id)
        waiting = asyncio.ensure_future(shared(key, lambda: own_load(owner)))
        await asyncio.sleep(0)
        assert not waiting.done()  # promised, not yet loaded
        await PushHub._run_prepared(ev, bell.NotificationState, work)  # as the hub runs it
        return await waiting

    summary, views = asyncio.run(prepared_then_taken(event()))
    assert summary == call(engine, owner, notifications.summary, limit=bell.BELL_ITEMS)
    assert [v["id"] for v in views] == [str(n.id) for n in summary.items]

    def broken(*_a, **_k):
        raise RuntimeError("database went away")

    monkeypatch.setattr(notifications, "summaries_for_push", broken)
    assert asyncio.run(prepared_then_taken(event())) == ("loaded alone", owner.user_id)
