"""POST /api/webhooks/fleetbase: verify the signature (constant time), store the raw event once, answer
at once, and process it on a worker thread (services/logistics/fleetbase_inbox.py; the
`process_fleetbase_webhooks` job sweeps anything a lost kick left behind).

Processing must never starve request handling in the same process: the pool has 2 threads (their
work is mostly waiting on Fleetbase and the database), and at most `MAX_QUEUED` kicks wait for them;
a receipt stored beyond that is not kicked but left to the sweep (it is already stored, and claims
are atomic), so a burst costs the endpoint only the INSERT.

Answers: 200 {"ok": true} stored (or {"duplicate": true}: an event id seen before, nothing stored);
401 unsigned or forged; 400 stale, not JSON or not a Fleetbase event; 503 not configured. A refused
event is logged with its reason and never stored.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reup_app.db import run_in_unit_of_work
from reup_app.services.logistics import fleetbase_events
from reup_app.services.ordering import fleetbase_inbox
from reup_app.settings import get_settings

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Fleetbase-Signature"
_processors = ThreadPoolExecutor(max_workers=2, thread_name_prefix="fleetbase-webhooks")
MAX_QUEUED = 32  # kicks waiting for or running on the pool; more are left to the sweep job
_queued = threading.BoundedSemaphore(MAX_QUEUED)


def _process(receipt_id: int) -> None:
    try:
        fleetbase_inbox.process_receipt(receipt_id)
    finally:
        _queued.release()


def _kick(receipt_id: int) -> bool:
    """Process on the pool unless the backlog is full (then the sweep takes it within seconds)."""
    if not _queued.acquire(blocking=False):
        return False
    try:
        _processors.submit(_process, receipt_id)
    except RuntimeError:  # the pool is shutting down
        _queued.release()
        return False
    return True


def _secrets() -> list[str]:
    configured = get_settings().fleetbase_webhook_secret or ""
    return [s.strip() for s in configured.split(",") if s.strip()]


async def fleetbase_webhook(request: Request) -> Response:
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
    _kick(receipt_id)
    return JSONResponse({"ok": True})


FLEETBASE_WEBHOOK_ROUTES = [Route("/api/webhooks/fleetbase", fleetbase_webhook, methods=["POST"])]
