"""POST /api/webhooks/fleetbase: verify the signature (constant time), store the raw event once, answer
at once, and process it in the background (services/ordering/fleetbase_inbox.py): on this process's
one processing thread, which steps aside while webhooks are being answered, or by the worker's
`process_fleetbase_webhooks` sweep, whichever comes first (a receipt is claimed once). So a burst of
webhooks is answered at the speed of storing them, and applied as soon as the burst lets up.

Processing must never starve request handling in the same process: one thread, yielding while
webhooks are in flight, and at most `MAX_QUEUED` receipts wait for it; a receipt stored beyond that
is not queued but left to the sweep (it is already stored, and claims are atomic), so a burst costs
the endpoint only the INSERT.

Answers: 200 {"ok": true} stored (or {"duplicate": true}: an event id seen before, nothing stored);
401 unsigned or forged; 400 stale, not JSON or not a Fleetbase event; 503 not configured. A refused
event is logged with its reason and never stored.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reup_app.db import run_in_unit_of_work
from reup_app.services.logistics import fleetbase_events
from reup_app.services.ordering import fleetbase_inbox
from reup_app.settings import get_settings

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Fleetbase-Signature"
MAX_QUEUED = 32  # receipts waiting for the processing thread; more are left to the sweep job


class _Processor:
    """One thread applying stored receipts in arrival order, yielding to requests in flight for up
    to `max_defer` seconds per receipt (under a long burst the worker's sweep takes most of them;
    a receipt is claimed once, so whichever comes first applies it)."""

    def __init__(self, max_defer: float = 3.0) -> None:
        self.in_flight = 0
        self.max_defer = max_defer
        self._queue: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, receipt_id: int) -> bool:
        """Queue a stored receipt; False when the backlog is full (the sweep takes it within seconds)."""
        if self._queue.qsize() >= MAX_QUEUED:
            return False
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="fleetbase-webhooks", daemon=True)
                self._thread.start()
        self._queue.put(receipt_id)
        return True

    def _run(self) -> None:
        while True:
            receipt_id = self._queue.get()
            deadline = time.monotonic() + self.max_defer
            while self.in_flight and time.monotonic() < deadline:
                time.sleep(0.005)
            try:
                fleetbase_inbox.process_receipt(receipt_id)
            except Exception:  # process_receipt records its own failures; never let the thread die
                log.exception("fleetbase webhook receipt %s: processing thread error", receipt_id)


_processor = _Processor()


def _secrets() -> list[str]:
    configured = get_settings().fleetbase_webhook_secret or ""
    return [s.strip() for s in configured.split(",") if s.strip()]


async def fleetbase_webhook(request: Request) -> Response:
    _processor.in_flight += 1
    try:
        return await _answer(request)
    finally:
        _processor.in_flight -= 1


async def _answer(request: Request) -> Response:
    body = await request.body()
    try:
        event = fleetbase_events.verify_event(
            body,
            request.headers.get(SIGNATURE_HEADER),
            _secrets(),
            get_settings().fleetbase_webhook_max_age_seconds,
        )
    except fleetbase_events.WebhookRefused as refused:
        log.warning("fleetbase webhook refused (%s) from %s", refused, request.client.host if request.client else "?")
        return JSONResponse({"ok": False, "error": str(refused)}, status_code=refused.status)
    receipt_id = await run_in_unit_of_work(None, fleetbase_events.record_receipt, event, body)
    if receipt_id is None:
        return JSONResponse({"ok": True, "duplicate": True})
    _processor.submit(receipt_id)
    return JSONResponse({"ok": True})


FLEETBASE_WEBHOOK_ROUTES = [Route("/api/webhooks/fleetbase", fleetbase_webhook, methods=["POST"])]
