"""The sandbox's webhook sender: each event is JSON `{"id", "api_version", "event", "created_at", "data"}`
POSTed to every registered endpoint with `X-Fleetbase-Signature: hex(HMAC-SHA256(secret, body))`
(spatie webhook-server, as Fleetbase core-api uses it). A non-2xx answer or a network error is
retried after each of `retry_delays` (Fleetbase waits 5 m, 30 m, 2 h, 8 h; the sandbox's delays are
seconds so tests can watch), then the attempt is marked failed.

Switchable faults (`POST /_sandbox/fleetbase/webhooks/faults`):
  {"duplicate_next": n}       the next n deliveries are each sent twice (same id and body)
  {"duplicate_rate": 0.1}     a share of deliveries is sent twice
  {"out_of_order": true}      hold events back; turning it off (or `release`) sends them newest first
  {"bad_signature_next": n}   the next n deliveries are signed with a wrong secret
  {"down": true}              the sender stops (events queue up) until turned off again
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

SIGNATURE_HEADER = "X-Fleetbase-Signature"
DEFAULT_RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0)


def _order_id(event: str, data: dict[str, Any]) -> str | None:
    if event.startswith("order."):
        return data.get("id")
    job = data.get("current_job")
    return job.get("id") if isinstance(job, dict) else None


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Job:
    event_id: str
    event: str
    body: bytes
    url: str
    secret: str
    attempt: int = 0


@dataclass
class WebhookFaults:
    duplicate_next: int = 0
    duplicate_rate: float = 0.0
    out_of_order: bool = False
    bad_signature_next: int = 0
    down: bool = False


@dataclass
class WebhookSender:
    endpoints: list[tuple[str, str]] = field(default_factory=list)  # (url, secret)
    retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS
    faults: WebhookFaults = field(default_factory=WebhookFaults)
    log: list[dict] = field(default_factory=list)  # one row per HTTP attempt
    held: list[Job] = field(default_factory=list)
    bodies: dict[str, bytes] = field(default_factory=dict)
    emitted: list[dict] = field(default_factory=list)  # every event raised, endpoints or not (what Fleetbase did)
    _queue: asyncio.Queue | None = None
    _worker: asyncio.Task | None = None
    _client: httpx.AsyncClient | None = None
    _in_flight: int = 0
    _retrying: int = 0  # retries scheduled (call_later) and not yet queued
    _generation: int = 0  # bumped by reset(): retries scheduled before it are dropped
    _rng: random.Random = field(default_factory=lambda: random.Random(11))

    def reset(self) -> None:
        self.endpoints, self.retry_delays = [], DEFAULT_RETRY_DELAYS
        self.faults, self.log, self.held, self.bodies, self.emitted = WebhookFaults(), [], [], {}, []
        self._generation, self._retrying = self._generation + 1, 0
        if self._queue is not None:
            while not self._queue.empty():
                self._queue.get_nowait()

    def configure_faults(self, body: dict) -> dict:
        known = set(WebhookFaults.__dataclass_fields__)
        unknown = sorted(set(body) - known)
        if unknown:
            raise ValueError(f"unknown webhook fault(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        for key, value in body.items():
            setattr(self.faults, key, type(getattr(self.faults, key))(value))
        if not self.faults.out_of_order:
            self.release()
        return self.describe()

    def describe(self) -> dict:
        f = self.faults
        return {
            "endpoints": [url for url, _ in self.endpoints],
            "retry_delays": list(self.retry_delays),
            "faults": {k: getattr(f, k) for k in WebhookFaults.__dataclass_fields__},
            "held": len(self.held),
            "pending": self.pending(),
        }

    def pending(self) -> int:
        """Events queued, in flight, or waiting for a scheduled retry."""
        return (self._queue.qsize() if self._queue else 0) + self._in_flight + self._retrying

    def emit(self, event: str, data: dict[str, Any], created_at: str) -> str:
        """Queue one event for every endpoint; returns its id."""
        event_id = f"event_{uuid.uuid4().hex[:16]}"
        body = json.dumps(
            {"id": event_id, "api_version": "v1", "event": event, "created_at": created_at, "data": data},
            separators=(",", ":"),
        ).encode()
        self.bodies[event_id] = body
        self.emitted.append(
            {"event_id": event_id, "event": event, "order_id": _order_id(event, data), "at": created_at}
        )
        for url, secret in self.endpoints:
            job = Job(event_id, event, body, url, secret)
            if self.faults.out_of_order:
                self.held.append(job)
            else:
                self._put(job)
        return event_id

    def release(self) -> int:
        """Send the held-back events, newest first (the out-of-order fault)."""
        held, self.held = self.held, []
        for job in reversed(held):
            self._put(job)
        return len(held)

    def _put(self, job: Job) -> None:
        if self._queue is None:
            self._queue = asyncio.Queue()
        self._queue.put_nowait(job)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        assert self._queue is not None
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=10.0)
        while True:
            job = await self._queue.get()
            self._in_flight += 1
            try:
                while self.faults.down:
                    await asyncio.sleep(0.05)
                await self._deliver(job)
                if self.faults.duplicate_next > 0 or self._rng.random() < self.faults.duplicate_rate:
                    self.faults.duplicate_next = max(0, self.faults.duplicate_next - 1)
                    await self._deliver(job, duplicate=True)
            finally:
                self._in_flight -= 1

    async def _deliver(self, job: Job, duplicate: bool = False) -> None:
        job.attempt += 1
        secret = job.secret
        if self.faults.bad_signature_next > 0:
            self.faults.bad_signature_next -= 1
            secret = "not-the-" + secret
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, job.body)}
        row = {"event_id": job.event_id, "event": job.event, "url": job.url, "attempt": job.attempt}
        row.update(duplicate=duplicate, forged=secret != job.secret)
        try:
            assert self._client is not None
            response = await self._client.post(job.url, content=job.body, headers=headers)
            row["status"], ok = response.status_code, 200 <= response.status_code < 300
        except httpx.HTTPError as err:
            row["status"], row["error"], ok = None, type(err).__name__, False
        self.log.append(row)
        if ok or duplicate:
            return
        if job.attempt <= len(self.retry_delays):
            delay = self.retry_delays[job.attempt - 1]
            self._retrying += 1
            asyncio.get_running_loop().call_later(delay, self._retry, job, self._generation)
        else:
            row["failed"] = True

    def _retry(self, job: Job, generation: int) -> None:
        if generation != self._generation:
            return  # scheduled before a reset
        self._retrying -= 1
        self._put(job)

    async def flush(self, timeout: float) -> dict:
        """Wait until nothing is queued, in flight or waiting for a retry (at most `timeout` seconds)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.pending() and loop.time() < deadline:
            await asyncio.sleep(0.02)
        return {"pending": self.pending(), "held": len(self.held), "sent": len(self.log)}

    def signed_event(self, event_id: str) -> dict | None:
        """A sent event's exact body and its correct signature for the first endpoint (tests replay it)."""
        body = self.bodies.get(event_id)
        if body is None or not self.endpoints:
            return None
        return {"body": body.decode(), "signature": sign(self.endpoints[0][1], body)}
