"""The outbox handler that sends outgoing webhooks (`webhook.deliver`, written by
services/public_api/webhooks.publish_webhooks in the transaction of the change).

Each try: read what to send (a short unit of work), sign and POST it with no transaction open,
record the attempt (response code, time) in a second unit. A failure raises, so the outbox sender
retries it with `reup_app.backoff`; after 24 hours of failures the delivery is dead (raised as
`Rejected`, which the sender records as dead) and the endpoint is disabled with a notification.
A delivery may reach the receiver twice (e.g. the worker dies after the POST): receivers
deduplicate by the event `id` (also sent as `ReUp-Event-Id`).
"""

from __future__ import annotations

import json
from typing import Any

from reup_app.db import unit_of_work
from reup_app.integrations.errors import Rejected
from reup_app.integrations.webhook_signing import post_signed
from reup_app.jobs.outbox_sender import OutboxDelivery, outbox_handler
from reup_app.security.principal import system_principal
from reup_app.services.public_api import webhooks

PRINCIPAL = system_principal("webhooks")


class WebhookFailed(Exception):
    """The receiver did not answer 2xx (retried)."""


@outbox_handler(webhooks.OUTBOX_KIND)
def deliver_webhook(msg: OutboxDelivery) -> dict[str, Any] | None:
    delivery_id = int(msg.payload["delivery_id"])
    with unit_of_work(PRINCIPAL) as session:
        out = webhooks.outgoing(session, delivery_id)
    if out is None:
        return {"skipped": "endpoint disabled or removed"}
    event = json.loads(out.body)
    outcome = post_signed(out.url, out.secret, out.body, event["id"], event["type"])
    with unit_of_work(PRINCIPAL) as session:
        status = webhooks.record_attempt(
            session, delivery_id, status_code=outcome.status_code, duration_ms=outcome.duration_ms, error=outcome.error
        )
    if status == "succeeded":
        return {"status_code": outcome.status_code, "duration_ms": outcome.duration_ms}
    if status == "dead":
        raise Rejected(f"webhook delivery {delivery_id} failed for 24 hours: {outcome.error}")
    raise WebhookFailed(outcome.error or "receiver failed")
