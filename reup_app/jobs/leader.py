"""Leader election for `reup worker`: the elector loop takes or renews the lease and tells the
scheduler to run (leader) or pause (standby). Jobs ask `LeaderState.fence()` for the token their
writes must carry."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from reup_app.jobs.outbox_sender import Fence

log = logging.getLogger(__name__)


class NotLeader(RuntimeError):
    """This worker does not hold the lease right now."""


class LeaderState:
    """The lease as the jobs see it: the current token while leading."""

    def __init__(self, lease) -> None:
        self.lease = lease
        self._token: int | None = None
        self._lock = threading.Lock()

    @property
    def is_leader(self) -> bool:
        with self._lock:
            return self._token is not None

    def fence(self) -> Fence:
        with self._lock:
            if self._token is None:
                raise NotLeader("this worker is a standby")
            return Fence(self._token, self.lease.fence_name)

    def _set(self, token: int | None) -> None:
        with self._lock:
            self._token = token


def elect_forever(
    state: LeaderState,
    stop: threading.Event,
    *,
    on_elected: Callable[[int], None],
    on_lost: Callable[[], None],
    poll_seconds: float = 2.0,
) -> None:
    """Loop until `stop`: standbys try to take the lease every `poll_seconds`; the leader renews it
    every third of its TTL and steps down (pauses its jobs) the moment a renewal fails."""
    lease = state.lease
    renew_every = max(0.2, lease.ttl_ms / 3000)
    while not stop.is_set():
        try:
            if state.is_leader:
                if not lease.renew():
                    log.warning("worker: lost the %s lease; standing by", lease.name)
                    state._set(None)
                    on_lost()
                    continue
                stop.wait(renew_every)
            else:
                token = lease.try_acquire()
                if token:
                    log.info("worker: leader of %s with fencing token %d", lease.name, token)
                    state._set(token)
                    on_elected(token)
                    continue
                stop.wait(poll_seconds)
        except Exception:  # Redis down: step down and keep trying
            log.exception("worker: lease %s error", lease.name)
            if state.is_leader:
                state._set(None)
                on_lost()
            stop.wait(poll_seconds)
    if state.is_leader:
        state._set(None)
        on_lost()
        lease.release()
