"""Outgoing webhooks: a business subscribes HTTPS URLs to event kinds; domain events become signed
deliveries sent by the worker through the outbox.

    service emits a domain event (in its unit of work)
      -> before commit (`publish_webhooks`, registered with events.core.register_precommit): one
         `webhook_deliveries` row per subscribed, enabled endpoint of the event's audience, and one
         outbox row `webhook.deliver` for it -- in the same transaction, so a delivery exists iff
         the change committed, and a process dying after the commit loses nothing
      -> the worker's outbox sender runs `jobs/webhook_sender.py` (signs, POSTs, records the attempt
         here); retried with `reup_app.backoff` until it succeeds or 24 hours have passed; then the
         delivery is dead and the endpoint disabled, with a notification to the owners and admins.

The request that caused the event never waits for a receiver.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlmodel import Session, col, select

from reup_app.errors import NotFound, ValidationError
from reup_app.events.core import DomainEvent, register_precommit
from reup_app.events.kinds import emit_sync_result
from reup_app.models import WebhookDelivery, WebhookEndpoint
from reup_app.models.types import utcnow
from reup_app.security import crypto
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services.common import parse_int, require_member
from reup_app.services.integrations.outbox import enqueue
from reup_app.settings import get_settings

MANAGE = "integration.manage"
OUTBOX_KIND = "webhook.deliver"
RETRY_WINDOW = timedelta(hours=24)
OUTBOX_ATTEMPTS = 100_000  # the 24-hour window, not a count, ends the retries (see jobs/webhook_sender.py)
MAX_ENDPOINTS = 20

# domain event kind -> webhook event kind
EVENT_KINDS: dict[str, str] = {
    "order.submitted": "order.submitted",
    "order.status_changed": "order.status_changed",
    "order.message": "order.message",
    "inventory.changed": "inventory.changed",
    "invoice.created": "invoice.issued",
    "invoice.payment_recorded": "invoice.payment_recorded",
    "manifest.status_changed": "manifest.updated",
    "delivery.updated": "delivery.updated",  # Fleetbase delivery moved (services/logistics/fleetbase_events.py)
}
PAID_KIND = "invoice.paid"  # a payment that brought the invoice's balance to zero (see webhook_kinds)
WEBHOOK_KINDS = tuple(dict.fromkeys([*EVENT_KINDS.values(), PAID_KIND]))


def webhook_kinds(ev: DomainEvent) -> list[str]:
    """The webhook kinds one domain event is delivered as: its mapped kind, and `invoice.paid` as
    well for the payment that settled the invoice (a partial payment is only `payment_recorded`)."""
    kind = EVENT_KINDS.get(ev.kind)
    if kind is None:
        return []
    if ev.kind == "invoice.payment_recorded" and ev.payload.get("status") == "paid":
        return [kind, PAID_KIND]
    return [kind]


@dataclass(frozen=True)
class EndpointView:
    id: int
    url: str
    event_kinds: list[str]
    enabled: bool
    disabled_reason: str | None
    created_at: datetime


@dataclass(frozen=True)
class DeliveryView:
    id: int
    endpoint_id: int
    event_id: str
    kind: str
    status: str
    attempts: int
    last_status_code: int | None
    last_duration_ms: int | None
    last_error: str | None
    last_attempt_at: datetime | None
    created_at: datetime


def secret_aad(endpoint_id: int) -> str:
    return f"webhook-secret:{int(endpoint_id)}"


def _view(row: WebhookEndpoint) -> EndpointView:
    kinds = [k for k in row.event_kinds.split(",") if k]
    return EndpointView(row.id, row.url, kinds, row.enabled, row.disabled_reason, row.created_at)


def _delivery_view(d: WebhookDelivery) -> DeliveryView:
    return DeliveryView(
        d.id,
        d.endpoint_id,
        d.event_id,
        d.kind,
        d.status,
        d.attempts,
        d.last_status_code,
        d.last_duration_ms,
        d.last_error,
        d.last_attempt_at,
        d.created_at,
    )


def validate_url(url: object) -> str:
    """HTTPS only; plain http is accepted for a loopback receiver outside production (tests, demos)."""
    if not isinstance(url, str) or not url.strip() or len(url.strip()) > 500:
        raise ValidationError("Enter the receiver's URL (up to 500 characters).", "url")
    url = url.strip()
    parts = urlsplit(url)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and loopback and not get_settings().is_production:
        return url
    raise ValidationError("Webhook URLs must use https://.", "url")


def _kinds(kinds: object) -> list[str]:
    if isinstance(kinds, str):
        kinds = [k.strip() for k in kinds.split(",")]
    if not isinstance(kinds, list | tuple) or not kinds:
        raise ValidationError("Choose at least one event kind.", "event_kinds")
    chosen = [str(k) for k in kinds if str(k)]
    bad = [k for k in chosen if k not in WEBHOOK_KINDS]
    if bad or not chosen:
        raise ValidationError(f"Unknown event kind {bad[0] if bad else ''!r}.", "event_kinds")
    return sorted(set(chosen))


def create_endpoint(
    session: Session, principal: Principal, *, url: object, event_kinds: object
) -> tuple[EndpointView, str]:
    """Subscribe a URL; returns the signing secret, shown once (stored sealed, never in plain text)."""
    entity_id = require_member(principal)
    authorize(principal, MANAGE, entity_id)
    clean_url, kinds = validate_url(url), _kinds(event_kinds)
    count = len(session.exec(select(WebhookEndpoint.id).where(WebhookEndpoint.entity_id == entity_id)).all())
    if count >= MAX_ENDPOINTS:
        raise ValidationError(f"A business may have at most {MAX_ENDPOINTS} webhook endpoints.")
    secret = "whsec_" + secrets.token_urlsafe(32)
    row = WebhookEndpoint(entity_id=entity_id, url=clean_url, event_kinds=",".join(kinds), secret_sealed="-")
    session.add(row)
    session.flush()
    row.secret_sealed = crypto.encrypt(secret, secret_aad(row.id))
    session.add(row)
    session.flush()
    return _view(row), secret


def _own_endpoint(session: Session, principal: Principal, endpoint_id: object) -> WebhookEndpoint:
    entity_id = require_member(principal)
    row = session.get(WebhookEndpoint, parse_int(endpoint_id, "endpoint_id"))
    if row is None or row.entity_id != entity_id:
        raise NotFound("That webhook endpoint was not found.")
    authorize(principal, MANAGE, row.entity_id)
    return row


def list_endpoints(session: Session, principal: Principal) -> list[EndpointView]:
    entity_id = require_member(principal)
    authorize(principal, MANAGE, entity_id)
    rows = session.exec(
        select(WebhookEndpoint).where(WebhookEndpoint.entity_id == entity_id).order_by(col(WebhookEndpoint.id))
    )
    return [_view(r) for r in rows]


def set_enabled(session: Session, principal: Principal, endpoint_id: object, enabled: bool) -> EndpointView:
    row = _own_endpoint(session, principal, endpoint_id)
    row.enabled, row.disabled_reason, row.updated_at = (
        bool(enabled),
        None if enabled else "Disabled by a member.",
        utcnow(),
    )
    session.add(row)
    session.flush()
    return _view(row)


def delete_endpoint(session: Session, principal: Principal, endpoint_id: object) -> None:
    row = _own_endpoint(session, principal, endpoint_id)
    for d in session.exec(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == row.id)):
        session.delete(d)
    session.flush()
    session.delete(row)
    session.flush()


def list_deliveries(session: Session, principal: Principal, endpoint_id: object, limit: int = 50) -> list[DeliveryView]:
    row = _own_endpoint(session, principal, endpoint_id)
    rows = session.exec(
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == row.id)
        .order_by(col(WebhookDelivery.id).desc())
        .limit(max(1, min(200, limit)))
    )
    return [_delivery_view(d) for d in rows]


def resend(session: Session, principal: Principal, delivery_id: object) -> DeliveryView:
    """Send a delivery again (same event id and body, a fresh 24-hour retry window)."""
    entity_id = require_member(principal)
    d = session.get(WebhookDelivery, parse_int(delivery_id, "delivery_id"))
    endpoint = session.get(WebhookEndpoint, d.endpoint_id) if d else None
    if d is None or endpoint is None or endpoint.entity_id != entity_id:
        raise NotFound("That webhook delivery was not found.")
    authorize(principal, MANAGE, endpoint.entity_id)
    d.status, d.created_at = "pending", utcnow()
    session.add(d)
    _enqueue(session, d, f"webhook:{d.id}:resend:{uuid.uuid4().hex[:12]}")
    return _delivery_view(d)


TEST_KIND = "ping"


def send_test_event(session: Session, principal: Principal, endpoint_id: object) -> DeliveryView:
    """Queue a `ping` event to one endpoint (whatever its kinds), signed and logged like any delivery."""
    ep = _own_endpoint(session, principal, endpoint_id)
    if not ep.enabled:
        raise ValidationError("Enable the endpoint before sending it a test event.")
    now, event_id = utcnow(), "evt_" + uuid.uuid4().hex
    body = event_body(event_id, TEST_KIND, ep.entity_id, {"message": "Test event from ReUp."}, now)
    d = WebhookDelivery(endpoint_id=ep.id, event_id=event_id, kind=TEST_KIND, payload=body, created_at=now)
    session.add(d)
    session.flush()
    _enqueue(session, d, f"webhook:{d.id}")
    return _delivery_view(d)


def _enqueue(session: Session, d: WebhookDelivery, reference: str) -> None:
    enqueue(
        session,
        OUTBOX_KIND,
        target_table="webhook_deliveries",
        target_id=d.id,
        payload={"delivery_id": d.id},
        reference=reference,
        max_attempts=OUTBOX_ATTEMPTS,
    )


def event_body(event_id: str, kind: str, entity_id: int, data: dict, created: datetime) -> str:
    body = {
        "id": event_id,
        "type": kind,
        "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "business_id": entity_id,
        "data": data,
    }
    return json.dumps(body, default=str, separators=(",", ":"), sort_keys=True)


def publish_webhooks(session: Session, events: list[DomainEvent]) -> None:
    """Pre-commit: the deliveries (and their outbox rows) of this transaction's events."""
    wanted = [(kind, ev) for ev in events for kind in webhook_kinds(ev)]
    if not wanted:
        return
    audience = sorted({e for _, ev in wanted for e in ev.entity_ids})
    endpoints = session.exec(
        select(WebhookEndpoint).where(col(WebhookEndpoint.entity_id).in_(audience), col(WebhookEndpoint.enabled))
    ).all()
    if not endpoints:
        return
    now = utcnow()
    for kind, ev in wanted:
        for ep in endpoints:
            if ep.entity_id not in ev.entity_ids or kind not in ep.event_kinds.split(","):
                continue
            event_id = "evt_" + uuid.uuid4().hex
            body = event_body(event_id, kind, ep.entity_id, dict(ev.payload), now)
            d = WebhookDelivery(endpoint_id=ep.id, event_id=event_id, kind=kind, payload=body, created_at=now)
            session.add(d)
            session.flush()
            _enqueue(session, d, f"webhook:{d.id}")


register_precommit(publish_webhooks)


# --------------------------------------------------------------------------------------------
# The sender's side (jobs/webhook_sender.py): what to send, and the outcome of each attempt
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    delivery_id: int
    url: str
    secret: str
    body: str
    created_at: datetime


def outgoing(session: Session, delivery_id: int) -> Outgoing | None:
    """What to send for a delivery; None when its endpoint is gone or disabled (nothing to send)."""
    d = session.get(WebhookDelivery, delivery_id)
    ep = session.get(WebhookEndpoint, d.endpoint_id) if d else None
    if d is None or ep is None or not ep.enabled:
        return None
    return Outgoing(d.id, ep.url, crypto.decrypt(ep.secret_sealed, secret_aad(ep.id)), d.payload, d.created_at)


def record_attempt(
    session: Session, delivery_id: int, *, status_code: int | None, duration_ms: int, error: str | None
) -> str:
    """Log one attempt; returns the delivery's new status ('succeeded', 'failing' or 'dead'). A delivery
    failing for longer than the retry window is dead and disables its endpoint, with a notification."""
    d = session.get(WebhookDelivery, delivery_id)
    if d is None:
        return "dead"
    now = utcnow()
    d.attempts += 1
    d.last_status_code, d.last_duration_ms, d.last_attempt_at = status_code, duration_ms, now
    d.last_error = (error or None) and error[:500]
    ok = error is None and status_code is not None and 200 <= status_code < 300
    if ok:
        d.status, d.delivered_at = "succeeded", now
    elif now - d.created_at >= RETRY_WINDOW:
        d.status = "dead"
        _disable_failing(session, d.endpoint_id)
    else:
        d.status = "failing"
    session.add(d)
    return d.status


def _disable_failing(session: Session, endpoint_id: int) -> None:
    ep = session.get(WebhookEndpoint, endpoint_id)
    if ep is None or not ep.enabled:
        return
    ep.enabled, ep.updated_at = False, utcnow()
    ep.disabled_reason = "Disabled after failing for 24 hours."
    session.add(ep)
    emit_sync_result(
        session,
        entity_id=ep.entity_id,
        integration="webhooks",
        ok=False,
        summary=f"Webhook endpoint {ep.url} was disabled after failing for 24 hours. Fix it and enable it again.",
    )
