"""Stripe-style signatures of outgoing webhooks, and the one HTTP call that delivers them.

Header `ReUp-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`. A receiver
recomputes the HMAC over the timestamp and the exact raw body with its endpoint's secret, compares
in constant time and refuses timestamps older than its tolerance (5 minutes suggested) against replay.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

import httpx

SIGNATURE_HEADER = "ReUp-Signature"
TIMEOUT_SECONDS = 10.0
USER_AGENT = "ReUp-Webhooks/1"


def signature(secret: str, timestamp: int, body: str) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()


def signature_header(secret: str, body: str, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={t},v1={signature(secret, t, body)}"


@dataclass(frozen=True)
class PostOutcome:
    status_code: int | None
    duration_ms: int
    error: str | None


def post_signed(url: str, secret: str, body: str, event_id: str, kind: str) -> PostOutcome:
    """POST the body once (no retries here: the outbox retries); never raises for HTTP failures."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: signature_header(secret, body),
        "ReUp-Event-Id": event_id,
        "ReUp-Event-Type": kind,
    }
    started = time.monotonic()
    try:
        with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client:
            response = client.post(url, content=body.encode(), headers=headers)
    except httpx.HTTPError as exc:
        return PostOutcome(None, int((time.monotonic() - started) * 1000), f"{type(exc).__name__}: {exc}"[:500])
    elapsed = int((time.monotonic() - started) * 1000)
    if 200 <= response.status_code < 300:
        return PostOutcome(response.status_code, elapsed, None)
    return PostOutcome(response.status_code, elapsed, f"HTTP {response.status_code}")
