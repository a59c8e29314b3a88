"""Events are published after the REAL commit of their transaction, never at a savepoint's release:
a subscriber (the push hub, in another process) that reads on its own connection must see every
row the event's transaction wrote, its notifications included (they are written in a savepoint
just before the commit). A rolled-back savepoint never drops the outer transaction's events or
cache invalidations."""

from __future__ import annotations

from sqlalchemy import func, select

from reup_app.db import unit_of_work
from reup_app.events import emit
from reup_app.events.bus import get_bus
from reup_app.models import Order
from reup_app.models.notifications import Notification
from reup_app.services.identity import principal_cache
from tests.integration.orderkit import fresh, make_buyer, make_seller, place_one, stock


def test_a_subscriber_reading_on_its_own_connection_sees_the_order_and_its_notifications(engine, session):
    seller, buyer = make_seller(session), make_buyer(session)
    product, _ = stock(session, seller, qty="20")
    seen: list[tuple[int, int]] = []

    def on_event(ev) -> None:  # runs as the event is published, like the push hub's bus thread
        if ev.kind != "order.submitted" or seller.id not in ev.entity_ids:
            return
        number = ev.payload["order_number"]
        with fresh(engine) as s:
            orders = s.scalar(select(func.count()).select_from(Order).where(Order.number == number))
            notes = s.scalar(
                select(func.count())
                .select_from(Notification)
                .where(Notification.entity_id == seller.id, Notification.link == f"/orders/{number}")
            )
        seen.append((orders, notes))

    unsubscribe = get_bus().subscribe(on_event)
    try:
        place_one(engine, buyer, product, "1")
    finally:
        unsubscribe()
    members = len(seller.p)
    assert seen == [(1, members)]  # published once, with the order and one notification per member visible


def test_a_rolled_back_savepoint_keeps_the_outer_transactions_events_and_invalidations(engine):
    got = []
    unsubscribe = get_bus().subscribe(got.append)
    try:
        with unit_of_work(None, engine=engine) as s:
            ev = emit(s, "inventory.changed", entity_ids=[424242], payload={"probe": "savepoint"})
            principal_cache.invalidate_users(s, 424242)
            try:
                with s.begin_nested():
                    s.execute(select(1))
                    raise RuntimeError("the savepoint fails")
            except RuntimeError:
                pass
            with s.begin_nested():  # a released savepoint publishes nothing yet
                s.execute(select(1))
            assert [e.id for e in got if e.id == ev.id] == []
            assert principal_cache._user_key(424242) in s.info[principal_cache._INVALIDATE_KEY]
    finally:
        unsubscribe()
    assert [e.id for e in got if e.id == ev.id] == [ev.id]  # published once, at the real commit


def test_a_checkout_whose_events_cannot_be_published_still_succeeds(engine, session):
    """Redis down after the COMMIT: the order is placed, so the caller is told it was (a lost live
    push is logged; pages show the order on their next load), never "Something went wrong"."""
    import socket

    from reup_app.events.bus import RedisBus, set_bus

    seller, buyer = make_seller(session), make_buyer(session)
    product, _ = stock(session, seller, qty="20")
    with socket.socket() as probe:  # a port nothing listens on: every publish is refused
        probe.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{probe.getsockname()[1]}/0"
    set_bus(RedisBus(dead, "reup:test:dead"))
    try:
        number = place_one(engine, buyer, product, "1")
    finally:
        set_bus(None)
    with fresh(engine) as s:
        assert s.scalar(select(func.count()).select_from(Order).where(Order.number == number)) == 1
