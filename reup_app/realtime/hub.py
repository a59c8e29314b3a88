"""The push hub: one per app worker (a Reflex lifespan task), from the event bus to browser sessions.

For every event on the bus, each worker looks only at the sockets IT owns (Reflex's token manager
records the owning worker of each socket), keeps those whose registered session is entitled to
the event, and for each calls `_on_domain_event` of the `@live_listener` states that session has
loaded, inside `app.modify_state`. A socket is owned by exactly one worker, so each open session
gets each event exactly once, however many workers or app processes share the Redis bus.

Each session is served by its own task with a timeout, at most MAX_CONCURRENT at a time per worker:
a slow or dead browser (or a session whose state is locked by a long handler) delays only itself.
Events for one session are applied in bus order.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import math
import time
from collections.abc import Callable
from typing import Any

from reflex.istate.manager.redis import StateManagerRedis
from reflex.istate.manager.token import BaseStateToken
from reflex.state import StateUpdate
from reflex_base.event import Event
from reflex_base.event.context import EventContext

from reup_app.events.bus import InProcessBus, get_bus
from reup_app.events.core import DomainEvent
from reup_app.events.kinds import SESSION_RESYNC
from reup_app.realtime.entitlement import is_entitled, is_public_to_all
from reup_app.realtime.listeners import (
    LIVE_COALESCE,
    LIVE_INTEREST,
    forget_interests,
    held_event,
    listeners_for,
    merge_events,
    wants,
)
from reup_app.realtime.registry import MemoryRegistry, RedisRegistry, SessionInfo, get_registry, take_registered_here
from reup_app.settings import get_settings

log = logging.getLogger(__name__)

DELIVERY_TIMEOUT_SECONDS = 10.0
MAX_CONCURRENT = 32
MERGED_KEPT = 256
# EXISTS of each key, in one command (a pipeline costs a command per key on the client side)
_EXISTS_EACH = "local out = {} for i, key in ipairs(KEYS) do out[i] = redis.call('EXISTS', key) end return out"


class PushHub:
    def __init__(
        self, app: Any, *, bus: InProcessBus | None = None, registry: MemoryRegistry | RedisRegistry | None = None
    ) -> None:
        self.app = app
        self.bus = bus or get_bus()
        self.registry = registry or get_registry()
        # REUP_RT_TRACE: every delivery is recorded in Redis (`<channel>:trace`) as "<event id> <kind>
        # <token>"; the multi-worker tests use it to prove each session got each event exactly once.
        settings = get_settings()
        self.trace_key = f"{settings.event_channel}:trace" if settings.rt_trace else None
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiting: dict[str, int] = {}
        self._slots = asyncio.Semaphore(MAX_CONCURRENT)
        self._tasks: set[asyncio.Task] = set()
        self._seen_owned: set[str] = set()
        self._known_loaded: set[tuple[str, type[Any]]] = set()  # (token, listener class) known to be loaded
        # coalescing listeners (LIVE_COALESCE): when each (token, class) was last pushed, and the
        # merged event waiting for its interval to end
        self._last_push: dict[tuple[str, type[Any]], float] = {}
        self._held: dict[tuple[str, type[Any]], list[DomainEvent]] = {}
        # the held events of a release, merged once for every session that held the same ones
        self._merged: dict[tuple[type[Any], tuple[str, ...]], DomainEvent] = {}
        self._exists_script: Any = None  # a redis Script, registered on first use
        self._last_sweep = time.time()  # tabs registered since then showed fresh data: no resync
        self._reflex_context: contextvars.Context | None = None
        self.delivered = 0
        self.failed = 0

    # ---------------------------------------------------------------------------------------
    # Which sessions
    # ---------------------------------------------------------------------------------------

    def _token_manager(self):
        namespace = self.app.event_namespace
        return namespace._token_manager if namespace is not None else None

    def owned_tokens(self) -> list[str]:
        """Client tokens whose socket is connected to this worker."""
        tm = self._token_manager()
        if tm is None:
            return []
        mine = tm.instance_id
        return [token for token, record in list(tm.token_to_socket.items()) if record.instance_id == mine]

    def plan(self, event: DomainEvent, owned: list[str]) -> dict[str, list[type[Any]]]:
        """token -> listener classes to call, for the owned sessions entitled to `event`.

        Blocking (Redis): run it in a thread.
        """
        return self._plan(event, owned)[0]

    def _plan(self, event: DomainEvent, owned: list[str]) -> tuple[dict[str, list[type[Any]]], dict[str, SessionInfo]]:
        """`plan`, and the registered session of each token in it."""
        classes = listeners_for(event.kind)
        if not classes or not owned:
            return {}, {}
        if is_public_to_all(event):  # every open tab may see it: no registry lookup per tab
            sessions: dict[str, SessionInfo] = {}
            entitled = list(owned)
        else:
            sessions = self.registry.lookup(owned)
            entitled = [t for t, info in sessions.items() if is_entitled(event, info)]
        if not entitled:
            return {}, {}
        wanted = {t: [c for c in classes if wants(c, t, event.payload)] for t in entitled}
        return self._loaded({t: cs for t, cs in wanted.items() if cs}), sessions

    def _loaded(self, wanted: dict[str, list[type[Any]]]) -> dict[str, list[type[Any]]]:
        """Only states the session has already loaded: Redis keeps a key per touched substate, and
        with opportunistic locking a state touched since the worker took the tab's lease is only in
        this worker's memory until the lease ends. Once loaded, a state stays loaded for as long as
        the session lives, so the answer is remembered (forgotten with the closed tab). The
        in-memory state manager holds every state of a session, so all count as loaded. `wanted`:
        token -> the listener classes the event is for in that session."""
        if not isinstance(self.app.state_manager, StateManagerRedis) or not isinstance(self.registry, RedisRegistry):
            return wanted
        out: dict[str, list[type[Any]]] = {}
        unknown: list[tuple[str, type[Any]]] = []
        for t, wanted_classes in wanted.items():
            for cls in wanted_classes:
                if (t, cls) in self._known_loaded or self._touched_in_memory(t, cls):
                    self._known_loaded.add((t, cls))
                    out.setdefault(t, []).append(cls)
                else:
                    unknown.append((t, cls))
        if unknown:
            if self._exists_script is None:
                self._exists_script = self.registry.redis.register_script(_EXISTS_EACH)
            found = self._exists_script(keys=[f"{t}_{cls.get_full_name()}" for t, cls in unknown])
            for (t, cls), exists in zip(unknown, found, strict=True):
                if exists:
                    self._known_loaded.add((t, cls))
                    out.setdefault(t, []).append(cls)
        return out

    def _touched_in_memory(self, token: str, cls: type[Any]) -> bool:
        """Whether the tab's state held under this worker's opportunistic lease has `cls` touched."""
        cached = getattr(self.app.state_manager, "_cached_states", None)
        root = cached.get(token) if isinstance(cached, dict) else None
        if root is None:
            return False
        try:
            state = root.get_substate(cls.get_full_name().split("."))
        except (ValueError, KeyError, AttributeError):
            return False
        return bool(getattr(state, "_was_touched", False))

    # ---------------------------------------------------------------------------------------
    # Delivery
    # ---------------------------------------------------------------------------------------

    async def dispatch(self, event: DomainEvent) -> int:
        """Schedule `event` for every entitled session this worker owns; returns how many."""
        owned = self.owned_tokens()
        if not owned:
            return 0
        targets, sessions = await asyncio.to_thread(self._plan, event, owned)
        self._prepare(event, targets, sessions)
        for token, classes in targets.items():
            self._schedule_or_hold(token, event, classes)
        return len(targets)

    def _schedule_or_hold(self, token: str, event: DomainEvent, classes: list[type[Any]]) -> None:
        """Schedule the push now, except for a coalescing listener pushed to this session less than
        its interval ago: that one waits, merged with whatever else arrives, until the interval ends."""
        now = time.monotonic()
        at_once = []
        for cls in classes:
            every = LIVE_COALESCE.get(cls)
            key = (token, cls)
            if every is None:
                at_once.append(cls)
            elif (held := self._held.get(key)) is not None:
                held.append(event)  # merged when released: once per distinct run of events, not per session
            elif (wait := self._last_push.get(key, -math.inf) + every - now) > 0:
                self._held[key] = [event]
                asyncio.get_running_loop().call_later(wait, self._release, key)
            else:
                self._last_push[key] = now
                at_once.append(cls)
        if at_once:
            self._schedule(token, event, at_once)

    def _release(self, key: tuple[str, type[Any]]) -> None:
        events = self._held.pop(key, None)
        if events:
            self._last_push[key] = time.monotonic()
            self._schedule(key[0], self._merge_held(key[1], events), [key[1]])

    def _merge_held(self, cls: type[Any], events: list[DomainEvent]) -> DomainEvent:
        """The one event standing for `events` (`held_event`, then `merge_events` in arrival order).
        A stock change reaches every catalog tab, and tabs whose intervals end close together held
        the same events: merged once for all of them (the last MERGED_KEPT merges are remembered)."""
        memo_key = (cls, tuple(e.id for e in events))
        merged = self._merged.get(memo_key)
        if merged is None:
            interest = LIVE_INTEREST.get(cls)
            merged = held_event(events[0])
            for later in events[1:]:
                merged = merge_events(merged, later, interest)
            self._merged[memo_key] = merged
            while len(self._merged) > MERGED_KEPT:
                del self._merged[next(iter(self._merged))]
        return merged

    def _prepare(
        self, event: DomainEvent, targets: dict[str, list[type[Any]]], sessions: dict[str, SessionInfo]
    ) -> None:
        """Once per event and listener class, as the pushes are scheduled: `_prepare_domain_event(event,
        sessions)` of the classes that have it (the bell promises every receiving user's notifications
        and loads them in one query instead of one per user); what it returns runs alongside the
        pushes. A failure only means the listeners load for themselves."""
        by_class: dict[type, list[SessionInfo]] = {}
        for token, classes in targets.items():
            for cls in classes:
                if hasattr(cls, "_prepare_domain_event") and token in sessions:
                    by_class.setdefault(cls, []).append(sessions[token])
        for cls, infos in by_class.items():
            try:
                work = cls._prepare_domain_event(event, infos)
            except Exception as err:
                log.warning("preparing %s for %s failed: %s", event.kind, cls.__name__, type(err).__name__)
                continue
            if work is not None:
                task = asyncio.create_task(self._run_prepared(event, cls, work), name=f"reup-prepare|{event.kind}")
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _run_prepared(event: DomainEvent, cls: type[Any], work) -> None:
        try:
            await asyncio.wait_for(work, DELIVERY_TIMEOUT_SECONDS)
        except Exception as err:
            log.warning("preparing %s for %s failed: %s", event.kind, cls.__name__, type(err).__name__)

    def _schedule(self, token: str, event: DomainEvent, classes: list[type[Any]]) -> None:
        self._waiting[token] = self._waiting.get(token, 0) + 1
        task = asyncio.create_task(
            self._deliver(token, event, classes), name=f"reup-push|{event.kind}", context=self._task_context()
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, token: str, event: DomainEvent, classes: list[type[Any]]) -> None:
        lock = self._locks.setdefault(token, asyncio.Lock())
        try:
            async with lock, self._slots:
                await asyncio.wait_for(self._push(token, event, classes), DELIVERY_TIMEOUT_SECONDS)
            self.delivered += 1
        except Exception as err:  # includes the timeout: this session misses it, nobody else waits
            self.failed += 1
            log.warning("push of %s to a session failed: %s", event.kind, type(err).__name__)
        finally:
            self._waiting[token] -= 1
            if not self._waiting[token]:
                del self._waiting[token]
                self._locks.pop(token, None)

    def _task_context(self) -> contextvars.Context | None:
        """A copy of the current context with Reflex's contexts set once (as `app.set_contexts()`
        would on every push), for the delivery tasks; None until the event processor runs."""
        if self._reflex_context is None and getattr(self.app, "_event_processor", None) is not None:
            ctx = contextvars.copy_context()
            ctx.run(self.app.set_contexts)  # never reset: the context belongs to the hub
            self._reflex_context = ctx
        return self._reflex_context.copy() if self._reflex_context is not None else None

    async def _push(self, token: str, event: DomainEvent, classes: list[type[Any]]) -> None:
        """What `app.modify_state` does, plus the listeners' events in the same update (one
        message per session instead of two when a listener returns a toast)."""
        app = self.app
        with app.set_contexts():  # a no-op when the task runs in `_task_context()`
            try:  # like app.modify_state: code running inside sees this session's token
                EventContext.set(EventContext.get().fork(token=token))
            except LookupError:
                pass
            async with app.state_manager.modify_state_with_links(BaseStateToken(ident=token, cls=classes[0])) as root:
                to_run: list[Any] = []
                for cls in classes:
                    state = await root.get_state(cls)
                    result = await state._on_domain_event(event)
                    if result is not None:
                        to_run.extend(result if isinstance(result, (list, tuple)) else [result])
                delta = await root._get_resolved_delta()
                root._clean()
                if delta or to_run:
                    # still holding the session's lock, as Reflex does, so updates keep their order
                    await app.event_namespace.emit_update(
                        StateUpdate(delta=delta, events=Event.from_event_type(to_run)), token
                    )
        if self.trace_key and isinstance(self.registry, RedisRegistry):
            await asyncio.to_thread(self.registry.redis.rpush, self.trace_key, f"{event.id} {event.kind} {token}")

    # ---------------------------------------------------------------------------------------
    # Housekeeping: keep live sessions registered, forget closed ones
    # ---------------------------------------------------------------------------------------

    async def sweep(self) -> None:
        """Refresh the registry entries of this worker's sockets, forget the sessions whose socket
        closed (also those registered here that closed before a sweep saw them), and resync the
        ones new here. A closed session stays on the list until it has been forgotten: a failed
        Redis call retries it next sweep rather than leaving it registered until the TTL."""
        tm = self._token_manager()
        if tm is None:  # the socket server is not up yet: no session is known here
            return
        owned = set(self.owned_tokens())
        gone = (self._seen_owned | take_registered_here()) - owned
        arrived = owned - self._seen_owned
        self._seen_owned = owned | gone
        previous, self._last_sweep = self._last_sweep, time.time()
        if owned:
            await asyncio.to_thread(self.registry.touch, sorted(owned))
        if gone:
            closed = [t for t in gone if not await tm.is_token_connected(t)]
            if closed:  # the others are connected to another worker, whose hub keeps them
                ended = set(closed)
                self._known_loaded = {pair for pair in self._known_loaded if pair[0] not in ended}
                for pair in [p for p in self._last_push if p[0] in ended]:
                    self._last_push.pop(pair, None)
                    self._held.pop(pair, None)
                forget_interests(ended)
                await asyncio.to_thread(self.registry.forget, *closed)
            self._seen_owned -= gone
        if arrived:
            forget_interests(arrived)  # what they show was recorded elsewhere, if anywhere
            await self.resync(sorted(arrived), registered_before=previous)

    async def resync(self, tokens: list[str], registered_before: float) -> int:
        """Sessions new on this worker that registered before `registered_before` (a reconnect after a
        worker restart or a network drop may have missed pushes; a freshly loaded page has not):
        their listeners reload, through a SESSION_RESYNC event addressed to each alone."""
        classes = listeners_for(SESSION_RESYNC)
        sessions = await asyncio.to_thread(self.registry.lookup, tokens) if classes else {}
        count = 0
        for token, info in sessions.items():
            if info.user_id is None or info.entity_id is None or info.since >= registered_before:
                continue
            event = DomainEvent(SESSION_RESYNC, (info.entity_id,), {}, user_ids=(info.user_id,))
            loaded = await asyncio.to_thread(self._loaded, {token: list(classes)})
            for tok, cls_list in loaded.items():
                self._schedule_or_hold(tok, event, cls_list)
                count += 1
        return count

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(get_settings().rt_sweep_seconds)
            try:
                await self.sweep()
            except Exception:
                log.exception("session registry sweep failed")

    async def run(self) -> None:
        """Subscribe to the bus and deliver until cancelled (the worker shuts down)."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[DomainEvent] = asyncio.Queue()

        def on_event(ev: DomainEvent) -> None:  # called on the bus's thread
            loop.call_soon_threadsafe(queue.put_nowait, ev)

        unsubscribe: Callable[[], None] = self.bus.subscribe(on_event)
        sweeper = asyncio.create_task(self._sweep_forever(), name="reup-session-sweep")
        try:
            while True:
                ev = await queue.get()
                try:
                    await self.dispatch(ev)
                except Exception:
                    log.exception("dispatching %s failed", ev.kind)
        finally:
            unsubscribe()
            sweeper.cancel()
            for task in list(self._tasks):
                task.cancel()


async def push_hub_task(app: Any) -> None:
    """The Reflex lifespan task (runs in every worker): `app.register_lifespan_task(push_hub_task)`."""
    await PushHub(app).run()
