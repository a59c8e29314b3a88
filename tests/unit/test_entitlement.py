"""The one rule deciding which open session may receive a domain event."""

from reup_app.events.core import DomainEvent
from reup_app.realtime.entitlement import is_entitled, is_public_to_all
from reup_app.realtime.registry import SessionInfo

SELLER, BUYER, OTHER = 10, 20, 30
seller_owner = SessionInfo(user_id=1, entity_id=SELLER, roles=("owner",))
seller_viewer = SessionInfo(user_id=2, entity_id=SELLER, roles=("viewer",))
buyer = SessionInfo(user_id=3, entity_id=BUYER, roles=("buyer",))
other = SessionInfo(user_id=4, entity_id=OTHER, roles=("owner",))
admin = SessionInfo(user_id=5, entity_id=None)
anonymous = SessionInfo(user_id=None, entity_id=None)


def test_order_events_reach_both_parties_and_nobody_else():
    ev = DomainEvent("order.submitted", (BUYER, SELLER), {"order_number": "RU-1"})
    assert [is_entitled(ev, s) for s in (seller_owner, seller_viewer, buyer, other, admin, anonymous)] == [
        True,
        True,
        True,
        False,
        False,
        False,
    ]


def test_user_ids_narrow_the_audience_within_the_entities():
    ev = DomainEvent("notification.read", (SELLER,), {}, user_ids=(2,))
    assert not is_entitled(ev, seller_owner)
    assert is_entitled(ev, seller_viewer)
    # the same user acting for another entity is not told
    assert not is_entitled(ev, SessionInfo(user_id=2, entity_id=OTHER))


def test_public_stock_news_reaches_every_session_but_only_for_public_kinds():
    ev = DomainEvent("inventory.changed", (SELLER,), {"product_ids": [1], "public": True})
    assert all(is_entitled(ev, s) for s in (seller_owner, buyer, other, admin, anonymous))
    private = DomainEvent("inventory.changed", (SELLER,), {"product_ids": [1]})
    assert [is_entitled(private, s) for s in (seller_owner, other, anonymous)] == [True, False, False]
    # "public" on a kind that is not public information changes nothing
    sneaky = DomainEvent("order.submitted", (SELLER,), {"public": True})
    assert not is_entitled(sneaky, other) and not is_entitled(sneaky, anonymous)
    # the hub skips the registry for public news addressed to no one in particular, and only for it
    assert is_public_to_all(ev)
    assert not is_public_to_all(private) and not is_public_to_all(sneaky)
    assert not is_public_to_all(DomainEvent("inventory.changed", (SELLER,), {"public": True}, user_ids=(1,)))


def test_event_round_trips_through_json_with_its_audience():
    ev = DomainEvent("order.status_changed", (BUYER, SELLER), {"status": "accepted"}, user_ids=(1,))
    back = DomainEvent.from_json(ev.to_json())
    assert back == ev
