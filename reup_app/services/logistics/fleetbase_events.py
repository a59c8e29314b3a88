"""Fleetbase webhooks: verify, store raw, then apply to the delivery in the background.

- `verify_event(body, signature, secrets, max_age)`: `X-Fleetbase-Signature` must equal
  hex(HMAC-SHA256(secret, raw body)) for one of the configured secrets, compared in constant time;
  the event's own signed `created_at` must be within `max_age` of now (a replay of an old capture is
  stale). Raises `WebhookRefused(status, reason)`.
- `record_receipt(session, event, raw)`: one `webhook_receipts` row per event id (INSERT IGNORE):
  a duplicate delivery stores nothing and is answered 200 all the same.
- `apply_event(session, receipt_id, extras)`: in one transaction, with the order then the delivery
  locked (the order state machine's lock order): the delivery moves only forward (rank of the vendor
  status), timeline entries are merged whatever order they arrive in, a driver point older than the
  one held is ignored; a completed delivery moves the order to delivered through
  `orders.transition` (so every listener of "delivered" runs). An event for an order ReUp does not
  know is marked `unmatched` (listed for admins on /admin/jobs), never raised.
- A driver (re)assignment (`order.driver_assigned`, or any snapshot naming another driver) after the
  delivery was dispatched and before it ended is recorded and flagged, never silently overwritten:
  `driver_update` is the rule; a "driver_changed" entry joins the delivery's timeline ("Driver changed
  to X at HH:MM UTC" on the delivery panel and the seller's board), and "delivery.driver_changed"
  goes to the seller (a notification: the METRC manifest names the driver given at ship). A
  snapshot older than the last change held does not move the driver back. (delivery_timeline.py)
- Retry budget: each claim counts an attempt; a failed one goes back to "received" with
  `next_attempt_at` from `reup_app.backoff` (the outbox's policy), and after `RECEIPT_MAX_ATTEMPTS`
  it is "dead": skipped by the sweep, listed on /admin/jobs with Retry (`error_queue.retry_webhook`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlmodel import Session, col

from reup_app.backoff import next_attempt_at
from reup_app.events import emit
from reup_app.integrations.fleetbase import records as fb
from reup_app.models import Delivery, Order, WebhookReceipt
from reup_app.models.enums import DeliveryStatus, OrderStatus, Provider
from reup_app.models.types import utcnow
from reup_app.services.logistics.delivery_timeline import RANK, apply_driver, merge_timeline
from reup_app.services.logistics.fleetbase_plan import route_json

log = logging.getLogger(__name__)
PROVIDER = str(Provider.FLEETBASE)
DELIVERY_UPDATED = "delivery.updated"
MAX_BODY = 256 * 1024
RECEIPT_MAX_ATTEMPTS = 8  # processing tries before a receipt is "dead" (about 8 minutes of backoff)
TO_DELIVERY = {
    "created": DeliveryStatus.SCHEDULED,
    "dispatched": DeliveryStatus.DISPATCHED,
    "started": DeliveryStatus.IN_TRANSIT,
    "enroute": DeliveryStatus.IN_TRANSIT,
    "completed": DeliveryStatus.DELIVERED,
    "canceled": DeliveryStatus.CANCELLED,
    "failed": DeliveryStatus.FAILED,
}


class WebhookRefused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class VerifiedEvent:
    id: str
    event: str
    created_at: datetime
    data: dict[str, Any]


def signature_for(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_event(
    body: bytes, signature: str | None, secrets: list[str], max_age: float, now: datetime | None = None
) -> VerifiedEvent:
    if not secrets:
        raise WebhookRefused(503, "Fleetbase webhooks are not configured")
    if len(body) > MAX_BODY:
        raise WebhookRefused(413, "body too large")
    if not signature:
        raise WebhookRefused(401, "unsigned")
    given = signature.strip().lower().encode()
    ok = False
    for secret in secrets:  # every secret is compared, so timing does not tell which one matched
        ok |= hmac.compare_digest(signature_for(secret, body).encode(), given)
    if not ok:
        raise WebhookRefused(401, "bad signature")
    try:
        raw = json.loads(body)
    except ValueError:
        raise WebhookRefused(400, "not JSON") from None
    if not isinstance(raw, dict) or not raw.get("id") or not raw.get("event") or not isinstance(raw.get("data"), dict):
        raise WebhookRefused(400, "not a Fleetbase event")
    created = fb.parse_time(raw.get("created_at"))
    now = now or utcnow()
    if created is None or abs((now - created).total_seconds()) > max_age:
        raise WebhookRefused(400, "stale event")
    return VerifiedEvent(str(raw["id"])[:128], str(raw["event"])[:64], created, raw["data"])


def record_receipt(session: Session, event: VerifiedEvent, raw: bytes) -> int | None:
    """Store the raw event once; its receipt id, or None when this event id was stored before."""
    stmt = insert(WebhookReceipt).values(
        provider=PROVIDER,
        external_event_id=event.id,
        event_type=event.event,
        payload=raw.decode("utf-8", "replace"),
        status="received",
        received_at=utcnow(),
    )
    dialect = session.get_bind().dialect.name
    stmt = stmt.prefix_with("IGNORE" if dialect == "mysql" else "OR IGNORE")
    result = session.execute(stmt)
    return int(result.lastrowid) if result.rowcount else None  # type: ignore[attr-defined]  # CursorResult


def claim_receipt(session: Session, receipt_id: int) -> bool:
    """Take a received event for processing (only one processor wins it); counts one attempt."""
    result = session.execute(
        update(WebhookReceipt)
        .where(col(WebhookReceipt.id) == receipt_id, col(WebhookReceipt.status) == "received")
        .values(status="processing", processed_at=utcnow(), attempts=col(WebhookReceipt.attempts) + 1)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]  # CursorResult


def fail_receipt(session: Session, receipt_id: int, error: str) -> str:
    """A claimed receipt whose processing raised: back to "received" after a backoff, or "dead" when
    its budget is spent. Returns the new status."""
    attempts = session.execute(
        select(col(WebhookReceipt.attempts)).where(col(WebhookReceipt.id) == receipt_id)
    ).scalar()
    tries = max(1, int(attempts or 0))
    status = "dead" if tries >= RECEIPT_MAX_ATTEMPTS else "received"
    session.execute(
        update(WebhookReceipt)
        .where(col(WebhookReceipt.id) == receipt_id, col(WebhookReceipt.status) == "processing")
        .values(status=status, error=error[:2000], next_attempt_at=None if status == "dead" else next_attempt_at(tries))
    )
    return status


def event_order_ref(event_type: str, data: dict[str, Any]) -> tuple[str | None, str | None]:
    """(Fleetbase order id, our internal id) an event is about."""
    if event_type.startswith("order."):
        return (str(data.get("id")) if data.get("id") else None), data.get("internal_id")
    job = data.get("current_job")
    if isinstance(job, dict):
        return (str(job.get("id")) if job.get("id") else None), job.get("internal_id")
    return (str(job) if job else None), None


def find_delivery(session: Session, external_id: str | None, internal: str | None, *, lock: bool = False):
    """The delivery a Fleetbase order is for: by its id, or (before the create's answer was recorded) by
    the internal id we gave it (`fleetbase:<order number>`)."""
    q = select(Delivery).where(col(Delivery.provider) == PROVIDER)
    if external_id:
        found = session.execute(q.where(col(Delivery.external_id) == external_id)).scalars().first()
        if found is not None:
            return found
    if internal and internal.startswith("fleetbase:"):
        number = internal.split(":", 1)[1]
        order_id = session.execute(select(col(Order.id)).where(col(Order.number) == number)).scalar()
        if order_id is not None:
            return session.execute(q.where(col(Delivery.order_id) == order_id)).scalars().first()
    return None


def apply_snapshot(session: Session, delivery: Delivery, order: fb.Order, at: datetime) -> bool:
    """An order resource (from an event or an API answer) onto the delivery; True if it moved forward."""
    if not delivery.external_id:
        delivery.external_id = order.id
    delivery.tracking_number = order.tracking_number or delivery.tracking_number
    delivery.route = route_json(order, delivery.route)
    if order.status in RANK:
        merge_timeline(delivery, order.status, at)
    current = RANK.get(delivery.vendor_status or "", 0)
    new = RANK.get(order.status, 0)
    apply_driver(session, delivery, order, at)  # a driver (re)assigned at any step before the end
    if new <= current:
        return False
    delivery.vendor_status = order.status
    if delivery.status != DeliveryStatus.DELIVERED:  # the seller may have marked it delivered already
        delivery.status = str(TO_DELIVERY[order.status])
    if order.status == "completed":
        delivery.delivered_at = delivery.delivered_at or at
    if delivery.last_error and order.status != "failed":
        delivery.last_error = None
    return True


def _apply_location(delivery: Delivery, data: dict[str, Any], tracker: fb.Tracker | None, at: datetime) -> bool:
    if RANK.get(delivery.vendor_status or "", 0) >= 9 or (delivery.location_at and at <= delivery.location_at):
        return False  # finished, or an older point than the one we hold
    route = json.loads(delivery.route) if delivery.route else {}
    where = (tracker.driver_location if tracker else None) or fb.point(data.get("location"))
    if where:
        route["driver"] = list(where)
    if tracker and tracker.progress_percentage is not None:
        route["progress"] = tracker.progress_percentage
    if tracker and tracker.estimated_completion_time:
        delivery.eta = tracker.estimated_completion_time
    delivery.route, delivery.location_at = json.dumps(route), at
    return True


def _lock_delivery(session: Session, external_id: str | None, internal: str | None) -> tuple[Order, Delivery] | None:
    found = find_delivery(session, external_id, internal)
    if found is None:
        return None
    fresh = {"populate_existing": True}  # the unlocked read above must not stand in for the locked one
    order = session.execute(
        select(Order).where(col(Order.id) == found.order_id).with_for_update().execution_options(**fresh)
    ).scalar_one()
    delivery = session.execute(
        select(Delivery).where(col(Delivery.id) == found.id).with_for_update().execution_options(**fresh)
    ).scalar_one()
    return order, delivery


def _finish(session: Session, receipt_id: int, status: str, error: str | None = None) -> None:
    session.execute(
        update(WebhookReceipt)
        .where(col(WebhookReceipt.id) == receipt_id)
        .values(status=status, error=error, processed_at=utcnow())
    )


WATCHED = ("status", "vendor_status", "route", "timeline", "proof", "driver_name", "driver_phone", "vehicle")


def shown(delivery: Delivery) -> tuple:
    """What the delivery panel shows of a delivery: compare before and after applying something."""
    return tuple(getattr(delivery, k) for k in WATCHED)


@dataclass(frozen=True)
class Applied:
    outcome: str  # processed / ignored / unmatched / missing
    order_number: str | None = None
    deliver: bool = False  # the delivery completed and the order is still shipped


def apply_event(session: Session, receipt_id: int, extras: dict[str, Any]) -> Applied:
    """Apply a claimed receipt; its final status, and whether the order should become delivered."""
    receipt = session.get(WebhookReceipt, receipt_id)
    if receipt is None:
        return Applied("missing")
    raw = json.loads(receipt.payload)
    kind, data = str(raw.get("event")), raw.get("data") or {}
    at = fb.parse_time(raw.get("created_at")) or receipt.received_at
    external_id, internal = event_order_ref(kind, data)
    locked = _lock_delivery(session, external_id, internal)
    if locked is None:
        message = f"No ReUp delivery for Fleetbase order {external_id or internal or '?'} ({kind})."
        log.warning("fleetbase webhook %s: %s", receipt.external_event_id, message)
        _finish(session, receipt_id, "unmatched", message)
        return Applied("unmatched")
    order, delivery = locked
    before = shown(delivery)
    if kind.startswith("order."):
        apply_snapshot(session, delivery, fb.Order.parse(data), at)
    elif kind in ("driver.location_changed", "vehicle.location_changed"):
        _apply_location(delivery, data, extras.get("tracker"), at)
    proof = extras.get("proof")
    if proof is not None and not delivery.proof:
        delivery.proof = json.dumps(proof)
    changed = before != shown(delivery)
    if changed:
        delivery.updated_at = utcnow()
        session.add(delivery)
        session.flush()
        emit_delivery_updated(session, delivery, order)
    outcome = "processed" if changed else "ignored"
    _finish(session, receipt_id, outcome)
    deliver = delivery.vendor_status == "completed" and order.status == OrderStatus.SHIPPED
    return Applied(outcome, order.number, deliver)


def emit_delivery_updated(session: Session, delivery: Delivery, order: Order | None = None) -> None:
    """Tell both parties' open pages (order page, deliveries board) that the delivery changed."""
    order = order or session.get(Order, delivery.order_id)
    if order is None:
        return
    emit(
        session,
        DELIVERY_UPDATED,
        entity_ids=[order.buyer_entity_id, order.seller_entity_id],
        payload={
            "order_number": order.number,
            "buyer_entity_id": order.buyer_entity_id,
            "seller_entity_id": order.seller_entity_id,
            "delivery_status": delivery.status,
        },
    )


def stale_receipts(session: Session, *, older_than: timedelta, limit: int = 200) -> list[int]:
    """Receipts still waiting (their in-process kick was lost) or stuck processing; the sweep retakes them."""
    now = utcnow()
    # Read the stuck ids first (no locks), then release each by its key: a range UPDATE over the
    # status index would take gap locks and deadlock with the claims running beside it.
    stuck = session.execute(
        select(col(WebhookReceipt.id), col(WebhookReceipt.attempts)).where(
            col(WebhookReceipt.provider) == PROVIDER,
            col(WebhookReceipt.status) == "processing",
            col(WebhookReceipt.processed_at) < now - timedelta(minutes=2),
        )
    ).all()
    for stuck_id, attempts in stuck:  # a processor that died mid-way spent an attempt too
        spent = int(attempts or 0) >= RECEIPT_MAX_ATTEMPTS
        session.execute(
            update(WebhookReceipt)
            .where(col(WebhookReceipt.id) == stuck_id, col(WebhookReceipt.status) == "processing")
            .values(
                status="dead" if spent else "received",
                error=col(WebhookReceipt.error) if not spent else "Processing stopped midway too many times.",
            )
        )
    rows = session.execute(
        select(col(WebhookReceipt.id))
        .where(
            col(WebhookReceipt.provider) == PROVIDER,
            col(WebhookReceipt.status) == "received",
            col(WebhookReceipt.received_at) < now - older_than,
            or_(col(WebhookReceipt.next_attempt_at).is_(None), col(WebhookReceipt.next_attempt_at) <= now),
        )
        .order_by(col(WebhookReceipt.id))
        .limit(limit)
    ).all()
    return [int(r[0]) for r in rows]
