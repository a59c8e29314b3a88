"""The push hub's routing and scheduling on real Redis and Reflex's own token manager: only sockets
this worker owns, only entitled sessions, only listener states the session has loaded; a slow
session does not delay the others; events reach one session in order; closed sessions are
forgotten. (End-to-end delivery through Reflex with two workers and two processes is covered by
tests/browser/test_realtime.py.)"""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import pytest
import redis
import redis.asyncio as aioredis
from reflex.istate.manager.redis import StateManagerRedis
from reflex.utils.token_manager import LocalTokenManager, SocketRecord

from reup_app.events.bus import InProcessBus
from reup_app.events.core import DomainEvent
from reup_app.realtime import hub as hub_module
from reup_app.realtime import registry as registry_module
from reup_app.realtime.hub import PushHub
from reup_app.realtime.listeners import LIVE_COALESCE, forget_interests, show_interest
from reup_app.realtime.registry import SESSION_TTL_SECONDS, MemoryRegistry, RedisRegistry, SessionInfo
from reup_app.state.catalog import CatalogState
from reup_app.state.notifications import NotificationState

SELLER, BUYER, OTHER = 101, 202, 303


@pytest.fixture
def world(redis_url, unique):
    registry = RedisRegistry(redis_url, f"reup:test:{unique}")
    tm = LocalTokenManager()
    app = SimpleNamespace(
        event_namespace=SimpleNamespace(_token_manager=tm),
        state_manager=StateManagerRedis(redis=aioredis.Redis.from_url(redis_url)),
    )
    raw = redis.Redis.from_url(redis_url)
    tokens = {}

    def session(name: str, info: SessionInfo | None, *, owned=True, loaded=(NotificationState,)):
        token = tokens[name] = f"{unique}-{name}"
        tm.token_to_socket[token] = SocketRecord(
            instance_id=tm.instance_id if owned else "another-worker", sid=f"sid-{token}"
        )
        if info is not None:
            registry.register(token, info)
        for cls in loaded:  # what Reflex's Redis state manager stores once a state was touched
            raw.set(f"{token}_{cls.get_full_name()}", b"x", ex=60)
        return token

    yield SimpleNamespace(app=app, tm=tm, registry=registry, session=session, tokens=tokens, raw=raw)
    raw.delete(*[f"{registry.prefix}{t}" for t in tokens.values()] or ["none"])
    raw.close()
    registry.close()


def test_plan_picks_owned_entitled_sessions_and_only_their_loaded_listeners(world):
    s = world.session
    seller = s("seller", SessionInfo(1, SELLER, ("owner",)))
    seller_on_catalog = s("seller2", SessionInfo(2, SELLER, ("sales",)), loaded=(NotificationState, CatalogState))
    buyer = s("buyer", SessionInfo(3, BUYER, ("buyer",)))
    s("other", SessionInfo(4, OTHER, ("owner",)), loaded=(NotificationState, CatalogState))
    s("elsewhere", SessionInfo(5, SELLER, ("owner",)), owned=False)  # another worker's socket
    s("unregistered", None)
    s("no-bell", SessionInfo(6, SELLER, ("viewer",)), loaded=())  # never loaded a listener state
    visitor = s("visitor", None, loaded=(CatalogState,))  # open on the catalog, not (yet) registered
    hub = PushHub(world.app, bus=InProcessBus(), registry=world.registry)
    owned = hub.owned_tokens()
    assert world.tokens["elsewhere"] not in owned and len(owned) == 7

    order = DomainEvent("order.submitted", (BUYER, SELLER), {"order_number": "RU-1", "seller_entity_id": SELLER})
    assert hub.plan(order, owned) == {
        seller: [NotificationState],
        seller_on_catalog: [NotificationState],
        buyer: [NotificationState],
    }
    # public stock news: every session that shows the catalog, whoever it belongs to
    stock = DomainEvent("inventory.changed", (SELLER,), {"product_ids": [7], "public": True})
    assert hub.plan(stock, owned) == {
        seller_on_catalog: [CatalogState],
        world.tokens["other"]: [CatalogState],
        visitor: [CatalogState],
    }
    # one user's own event
    read = DomainEvent("notification.read", (SELLER,), {}, user_ids=(2,))
    assert hub.plan(read, owned) == {seller_on_catalog: [NotificationState]}
    # a kind no listener wants costs nothing
    assert hub.plan(DomainEvent("audit.something", (SELLER,), {}), owned) == {}


def test_a_stock_change_skips_catalog_tabs_known_to_show_other_products(world):
    """What each tab's catalog shows is recorded in this process (show_interest): a stock change
    costs the tabs showing that product, and tabs with no record here are called as before; a tab
    that arrives from another process or closes is forgotten."""
    s = world.session
    showing, elsewhere, unknown = (
        s(name, SessionInfo(i, BUYER, ("buyer",)), loaded=(CatalogState,))
        for i, name in enumerate(("showing-7", "showing-8-9", "no-record"), start=10)
    )
    show_interest(CatalogState, showing, [7, 12])
    show_interest(CatalogState, elsewhere, [8, 9])
    hub = PushHub(world.app, bus=InProcessBus(), registry=world.registry)
    owned = hub.owned_tokens()

    stock = DomainEvent("inventory.changed", (SELLER,), {"product_ids": [7], "public": True})
    assert hub.plan(stock, owned) == {showing: [CatalogState], unknown: [CatalogState]}
    show_interest(CatalogState, elsewhere, [7])  # that tab moved to a page showing 7
    assert set(hub.plan(stock, owned)) == {showing, elsewhere, unknown}
    forget_interests([showing, elsewhere])
    show_interest(CatalogState, unknown, [99])
    assert set(hub.plan(stock, owned)) == {showing, elsewhere}
    no_list = DomainEvent("inventory.changed", (SELLER,), {"public": True})  # says nothing of products
    assert set(hub.plan(no_list, owned)) == {showing, elsewhere, unknown}
    forget_interests([unknown])


class RecordingHub(PushHub):
    """The real scheduling (locks, slots, timeout) around a push that records instead of touching
    Reflex state; `slow` sessions hang like a browser whose state stays locked."""

    def __init__(self, *a, slow=(), **kw):
        super().__init__(*a, **kw)
        self.slow, self.got, self.events = set(slow), [], []

    async def _push(self, token, event, classes):
        if token in self.slow:
            await asyncio.sleep(60)
        if event.payload.get("delay"):
            await asyncio.sleep(event.payload["delay"])
        self.got.append((token, event.payload.get("n"), time.monotonic()))
        self.events.append(event)


def test_a_slow_session_delays_nobody_else_and_times_out(world, monkeypatch):
    monkeypatch.setattr(hub_module, "DELIVERY_TIMEOUT_SECONDS", 0.5)
    tokens = [world.session(f"s{i}", SessionInfo(i, SELLER, ("owner",))) for i in range(30)]
    hub = RecordingHub(world.app, bus=InProcessBus(), registry=world.registry, slow={tokens[0]})

    async def run():
        start = time.monotonic()
        ev = DomainEvent("order.submitted", (SELLER,), {"n": 1})
        assert await hub.dispatch(ev) == 30
        await asyncio.sleep(0.2)
        fast_done = [t for t, _n, at in hub.got if at - start < 0.2]
        await asyncio.gather(*list(hub._tasks), return_exceptions=True)
        return fast_done

    fast_done = asyncio.run(run())
    assert sorted(fast_done) == sorted(tokens[1:])
    assert hub.failed == 1 and hub.delivered == 29
    assert hub._locks == {} and hub._waiting == {}  # nothing kept for finished sessions


def test_events_reach_one_session_in_bus_order(world):
    token = world.session("one", SessionInfo(1, SELLER, ("owner",)))
    hub = RecordingHub(world.app, bus=InProcessBus(), registry=world.registry)

    async def run():
        for n, delay in ((1, 0.15), (2, 0), (3, 0.05), (4, 0)):
            await hub.dispatch(DomainEvent("order.status_changed", (SELLER,), {"n": n, "delay": delay}))
        await asyncio.gather(*list(hub._tasks))

    asyncio.run(run())
    assert [n for t, n, _ in hub.got if t == token] == [1, 2, 3, 4]


def test_a_coalescing_listener_gets_one_push_per_interval_with_the_events_merged(world, monkeypatch):
    monkeypatch.setitem(LIVE_COALESCE, CatalogState, 0.3)
    token = world.session("cat", SessionInfo(1, BUYER, ("buyer",)), loaded=(CatalogState,))
    hub = RecordingHub(world.app, bus=InProcessBus(), registry=world.registry)

    def stock(n: int, *ids: int) -> DomainEvent:
        available = {str(i): str(100 - n) for i in ids}
        return DomainEvent(
            "inventory.changed", (SELLER,), {"n": n, "product_ids": list(ids), "available": available, "public": True}
        )

    async def run():
        for n, ids in ((1, (7,)), (2, (8,)), (3, (9, 8)), (4, (8,))):
            await hub.dispatch(stock(n, *ids))
        await asyncio.sleep(0.1)
        assert [n for _t, n, _at in hub.got] == [1]  # the others wait for the interval
        await asyncio.sleep(0.35)
        await asyncio.gather(*list(hub._tasks))
        await asyncio.sleep(0.35)  # the interval since the merged push is over: the next goes at once
        await hub.dispatch(stock(5, 7))
        await asyncio.gather(*list(hub._tasks))

    asyncio.run(run())
    assert [(t, n) for t, n, _at in hub.got] == [(token, 1), (token, 4), (token, 5)]
    first, merged, last = hub.got
    assert 0.25 <= merged[2] - first[2] < 0.6 and last[2] - merged[2] >= 0.3
    payload = hub.events[1].payload
    assert payload["product_ids"] == [8, 9] and payload["available"] == {"8": "96", "9": "97"}
    assert len({e.id for e in hub.events}) == 3 and hub._held == {}


def test_sessions_that_held_the_same_events_share_one_merge(world, monkeypatch):
    """A stock change reaches every catalog tab; tabs whose intervals run together hold the same
    events and get one merged event, built once (the same object), not one merge per tab."""
    monkeypatch.setitem(LIVE_COALESCE, CatalogState, 0.3)
    info = SessionInfo(1, BUYER, ("buyer",))
    tabs = [world.session(f"cat{i}", info, loaded=(CatalogState,)) for i in range(3)]
    hub = RecordingHub(world.app, bus=InProcessBus(), registry=world.registry)

    def stock(n: int, pid: int) -> DomainEvent:
        payload = {"n": n, "product_ids": [pid], "available": {str(pid): str(50 - n)}, "public": True}
        return DomainEvent("inventory.changed", (SELLER,), payload)

    async def run():
        for n, pid in ((1, 7), (2, 8), (3, 9)):
            await hub.dispatch(stock(n, pid))
        await asyncio.sleep(0.45)
        await asyncio.gather(*list(hub._tasks))

    asyncio.run(run())
    firsts = [e for e in hub.events if e.payload["n"] == 1]
    merged = [e for e in hub.events if e.payload["n"] == 3]
    assert len(firsts) == 3 and len(merged) == 3  # each tab: the first at once, then one for the other two
    assert {t for t, n, _ in hub.got if n == 3} == set(tabs)
    assert all(e is merged[0] for e in merged)  # one merge for the three tabs
    assert merged[0].payload["product_ids"] == [8, 9] and merged[0].payload["available"] == {"8": "48", "9": "47"}
    assert merged[0].id not in {e.id for e in firsts} and hub._held == {}


def test_bus_to_hub_runs_end_to_end_in_a_worker_loop(world):
    token = world.session("loop", SessionInfo(1, SELLER, ("owner",)))
    bus = InProcessBus()
    hub = RecordingHub(world.app, bus=bus, registry=world.registry)

    async def run():
        task = asyncio.create_task(hub.run())
        await asyncio.sleep(0.05)
        # published from another thread, as a service running in `asyncio.to_thread` does
        await asyncio.to_thread(bus.publish, DomainEvent("order.submitted", (SELLER,), {"n": 9}))
        for _ in range(100):
            if hub.got:
                break
            await asyncio.sleep(0.01)
        task.cancel()

    asyncio.run(run())
    assert [(t, n) for t, n, _ in hub.got] == [(token, 9)]


def test_sweep_keeps_live_sessions_registered_and_forgets_closed_ones(world):
    live = world.session("live", SessionInfo(1, SELLER, ("owner",)))
    closing = world.session("closing", SessionInfo(2, SELLER, ("owner",)))
    hub = PushHub(world.app, bus=InProcessBus(), registry=world.registry)
    world.raw.expire(world.registry.key(live), 5)

    asyncio.run(hub.sweep())
    assert world.raw.ttl(world.registry.key(live)) > SESSION_TTL_SECONDS - 5  # refreshed
    # the tab closes: Reflex drops the socket record; the next sweep forgets the session
    asyncio.run(world.tm.disconnect_token(closing, f"sid-{closing}"))
    asyncio.run(hub.sweep())
    assert set(world.registry.lookup([live, closing])) == {live}


def test_a_tab_closed_before_any_sweep_saw_it_is_forgotten(world):
    hub = PushHub(world.app, bus=InProcessBus(), registry=world.registry)
    asyncio.run(hub.sweep())
    registry_module.set_registry(world.registry)
    try:
        brief = world.session("brief", None)
        registry_module.remember_session(brief, None)  # the tab's bell registered it on this worker
    finally:
        registry_module.set_registry(None)
    asyncio.run(world.tm.disconnect_token(brief, f"sid-{brief}"))  # closed before the next sweep
    assert set(world.registry.lookup([brief])) == {brief}
    asyncio.run(hub.sweep())
    assert world.registry.lookup([brief]) == {}


def test_a_closed_session_whose_forget_failed_is_forgotten_next_sweep(world, monkeypatch):
    closing = world.session("closing", SessionInfo(2, SELLER, ("owner",)))
    hub = PushHub(world.app, bus=InProcessBus(), registry=world.registry)
    asyncio.run(hub.sweep())
    asyncio.run(world.tm.disconnect_token(closing, f"sid-{closing}"))
    real_forget = world.registry.forget

    def down(*tokens):
        raise redis.ConnectionError("Redis is restarting")

    monkeypatch.setattr(world.registry, "forget", down)
    with pytest.raises(redis.ConnectionError):
        asyncio.run(hub.sweep())
    monkeypatch.setattr(world.registry, "forget", real_forget)
    assert set(world.registry.lookup([closing])) == {closing}
    asyncio.run(hub.sweep())
    assert world.registry.lookup([closing]) == {}


def test_a_push_reaching_a_forgotten_session_does_not_register_it_again(world):
    # the bell's correction ("signed out since it registered") updates an entry, never creates one
    fixed = world.session("fixed", SessionInfo(1, SELLER, ("owner",)))
    closed = world.session("closed", None)
    registry_module.set_registry(world.registry)
    try:
        registry_module.correct_session(fixed, None)
        registry_module.correct_session(closed, None)
    finally:
        registry_module.set_registry(None)
    found = world.registry.lookup([fixed, closed])
    assert set(found) == {fixed} and found[fixed].user_id is None
    assert world.raw.ttl(world.registry.key(fixed)) > SESSION_TTL_SECONDS - 5

    memory = MemoryRegistry()
    memory.register("a", SessionInfo(1, SELLER))
    memory.update("a", SessionInfo(None, None))
    memory.update("b", SessionInfo(None, None))
    assert memory.lookup(["a", "b"]) == {"a": SessionInfo(None, None)}


def test_sessions_new_on_a_worker_are_resynced_once(world):
    hub = RecordingHub(world.app, bus=InProcessBus(), registry=world.registry)
    # a tab that registered before this worker started and reconnected to it: it may have missed pushes
    back = world.session("back", SessionInfo(1, SELLER, ("owner",), since=time.time() - 600))
    world.session("visitor", SessionInfo(None, None, since=time.time() - 600))  # nothing to reload
    world.session("fresh", SessionInfo(2, SELLER, ("owner",), since=time.time() + 1))  # just loaded its page

    async def run():
        await hub.sweep()  # first sweep after a (re)start: every socket is new here
        await asyncio.gather(*list(hub._tasks))
        await hub.sweep()  # still connected: nothing more
        await asyncio.gather(*list(hub._tasks))

    asyncio.run(run())
    assert [t for t, _n, _ in hub.got] == [back]
