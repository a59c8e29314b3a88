"""POST /api/webhooks/fleetbase: verify the signature (constant time), store the raw event once, answer
at once, and process it on a worker thread (services/logistics/fleetbase_inbox.py; the
`process_fleetbase_webhooks` job sweeps anything a lost kick left behind).

Answers: 200 {"ok": true} stored (or {"duplicate": true}: an event id seen before, nothing stored);
401 unsigned or forged; 400 stale, not JSON or not a Fleetbase event; 503 not configured. A refused
event is logged with its reason and never stored.
"""

from __future__ import annotations

import asyncio
import logging
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
_processors = ThreadPoolExecutor(max_workers=4, thread_name_prefix="fleetbase-webhooks")


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
    asyncio.get_running_loop().run_in_executor(_processors, fleetbase_inbox.process_receipt, receipt_id)
    return JSONResponse({"ok": True})


FLEETBASE_WEBHOOK_ROUTES = [Route("/api/webhooks/fleetbase", fleetbase_webhook, methods=["POST"])]
