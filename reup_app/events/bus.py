"""The event bus: in-process by default; Redis pub/sub when REUP_REDIS_URL is set.

Publishing never blocks on subscribers: callbacks run on the caller's thread for the in-process
bus (they must be quick and must not raise), and on a listener thread for Redis.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from reup_app.events.event import DomainEvent
from reup_app.settings import get_settings

log = logging.getLogger(__name__)

Subscriber = Callable[[DomainEvent], None]


class InProcessBus:
    def __init__(self) -> None:
        self._subs: list[Subscriber] = []
        self._lock = threading.Lock()

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        with self._lock:
            self._subs.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subs:
                    self._subs.remove(callback)

        return unsubscribe

    def publish(self, ev: DomainEvent) -> None:
        self._deliver(ev)

    def _deliver(self, ev: DomainEvent) -> None:
        with self._lock:
            subs = list(self._subs)
        for cb in subs:
            try:
                cb(ev)
            except Exception:  # one bad subscriber must not stop the others
                log.exception("event subscriber failed for %s", ev.kind)

    def close(self) -> None:
        pass


class RedisBus(InProcessBus):
    """Publishes to a Redis channel; a daemon thread delivers every message to local subscribers."""

    def __init__(self, url: str, channel: str = "reup:events") -> None:
        super().__init__()
        import redis

        self._redis = redis.Redis.from_url(url)
        self._channel = channel
        self._thread: threading.Thread | None = None
        self._pubsub: Any = None  # a redis PubSub once listening
        self._stop = threading.Event()

    def publish(self, ev: DomainEvent) -> None:
        self._redis.publish(self._channel, ev.to_json())

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        unsub = super().subscribe(callback)
        self._ensure_listener()
        return unsub

    def _ensure_listener(self) -> None:
        if self._thread and self._thread.is_alive():
            return
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        self._pubsub.subscribe(self._channel)
        self._thread = threading.Thread(target=self._listen, name="reup-event-bus", daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        assert self._pubsub is not None
        while not self._stop.is_set():
            try:
                msg = self._pubsub.get_message(timeout=1.0)
            except Exception:
                log.exception("event bus connection lost; retrying")
                self._stop.wait(1.0)
                continue
            if msg and msg.get("type") == "message":
                try:
                    self._deliver(DomainEvent.from_json(msg["data"]))
                except Exception:
                    log.exception("bad event on bus")

    def close(self) -> None:
        self._stop.set()
        if self._pubsub is not None:
            self._pubsub.close()
        self._redis.close()


_bus: InProcessBus | None = None
_bus_lock = threading.Lock()


def get_bus() -> InProcessBus:
    global _bus
    with _bus_lock:
        if _bus is None:
            settings = get_settings()
            _bus = RedisBus(settings.redis_url, settings.event_channel) if settings.redis_url else InProcessBus()
        return _bus


def set_bus(bus: InProcessBus | None) -> None:
    """Replace the process bus (tests, or the app at start-up)."""
    global _bus
    with _bus_lock:
        if _bus is not None and bus is not _bus:
            _bus.close()
        _bus = bus
