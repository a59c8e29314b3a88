"""Processing stored Fleetbase webhooks, outside any request: the API route kicks `process_receipt`
on a worker thread right after answering, and the `process_fleetbase_webhooks` job sweeps receipts
whose kick was lost (process restart) or whose processing failed.

Three short steps, never a vendor call inside a transaction: claim the receipt; read what the event
needs from Fleetbase (the tracker for a driver point, the proofs for a completed order); apply it in
one transaction (`fleetbase_events.apply_event`), where a completed delivery also moves the order to
delivered through `orders.transition` (so every listener of "delivered" runs). A failure puts the
receipt back to "received" with the error and a backoff (`fleetbase_events.fail_receipt`), so the
sweep tries again later; past the budget it is "dead" and an admin retries it from /admin/jobs.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from reup_app.db import unit_of_work
from reup_app.integrations.errors import IntegrationError
from reup_app.models import Order, WebhookReceipt
from reup_app.models.enums import Provider
from reup_app.security.principal import system_principal
from reup_app.services.integrations.vendor_access import connection_for_license, fleetbase_client
from reup_app.services.logistics import fleetbase_events as ev
from reup_app.services.ordering import orders

log = logging.getLogger(__name__)
PRINCIPAL = system_principal("fleetbase.webhooks")
DELIVERED_NOTE = "Delivered: Fleetbase reported the delivery completed with proof of delivery."


def _claim(receipt_id: int) -> tuple[str, dict, Any] | None:
    """Claim the receipt; its event kind, data and the connection to read extras with (if any)."""
    with unit_of_work(PRINCIPAL) as session:
        if not ev.claim_receipt(session, receipt_id):
            return None
        receipt = session.get(WebhookReceipt, receipt_id)
        assert receipt is not None
        raw = json.loads(receipt.payload)
        kind, data = str(raw.get("event")), raw.get("data") or {}
        delivery = ev.find_delivery(session, *ev.event_order_ref(kind, data))
        connection = None
        if delivery is not None:
            order = session.get(Order, delivery.order_id)
            if order is not None:
                connection = connection_for_license(session, order.seller_license_id, str(Provider.FLEETBASE))
        return kind, data, (connection, delivery.external_id if delivery else None)


def _extras(kind: str, data: dict, connection, external_id: str | None) -> dict[str, Any]:
    """What the event itself does not carry: the tracker (driver point, progress, ETA) or the proofs."""
    order_id = external_id or ev.event_order_ref(kind, data)[0]
    if connection is None or not order_id:
        return {}
    client = fleetbase_client(connection)
    try:
        if kind in ("driver.location_changed", "vehicle.location_changed"):
            return {"tracker": client.tracker(order_id)}
        if kind == "order.completed":
            proofs = client.proofs(order_id)
            if proofs:
                p = proofs[-1]
                at = p.created_at.isoformat() if p.created_at else None
                return {"proof": {"type": p.type, "data_url": p.raw_data, "remarks": p.remarks, "at": at}}
    except IntegrationError as err:  # the status still applies; the extra comes with a later event
        log.warning("fleetbase: could not read %s for %s: %s", kind, order_id, err)
    return {}


def process_receipt(receipt_id: int) -> str:
    """Claim, read extras, apply; the outcome (processed / ignored / unmatched / taken / error)."""
    claimed = _claim(receipt_id)
    if claimed is None:
        return "taken"
    kind, data, (connection, external_id) = claimed
    try:
        extras = _extras(kind, data, connection, external_id)
        with unit_of_work(PRINCIPAL) as session:
            applied = ev.apply_event(session, receipt_id, extras)
            if applied.deliver and applied.order_number:
                orders.transition(session, PRINCIPAL, applied.order_number, "deliver", note=DELIVERED_NOTE)
            return applied.outcome
    except Exception as err:
        log.exception("fleetbase webhook receipt %s failed", receipt_id)
        with unit_of_work(PRINCIPAL) as session:
            status = ev.fail_receipt(session, receipt_id, f"{type(err).__name__}: {err}")
        return "dead" if status == "dead" else "error"


def sweep(older_than_seconds: float = 3.0, limit: int = 200) -> dict[str, int]:
    """Process every receipt still waiting longer than `older_than_seconds` (the job)."""
    with unit_of_work(PRINCIPAL) as session:
        ids = ev.stale_receipts(session, older_than=timedelta(seconds=older_than_seconds), limit=limit)
    outcomes: dict[str, int] = {}
    for receipt_id in ids:
        outcome = process_receipt(receipt_id)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes
