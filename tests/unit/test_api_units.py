"""Small pieces of the public API without servers: problem+json mapping, cursors, webhook
signatures and URL rules."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from datetime import UTC, datetime
from decimal import Decimal

import pymysql
import pytest
from sqlalchemy.exc import OperationalError
from starlette.requests import Request

from reup_app.api.v1.problems import on_service_error, on_unexpected
from reup_app.errors import Conflict, NotFound, RateLimited, ValidationError
from reup_app.integrations.webhook_signing import signature_header
from reup_app.services.common import parse_money, parse_quantity
from reup_app.services.public_api import feeds, idempotency, webhooks


def _request(path: str = "/api/v1/orders") -> Request:
    return Request({"type": "http", "method": "GET", "path": path, "headers": [], "query_string": b""})


@pytest.mark.parametrize(
    ("err", "status", "code"),
    [
        (NotFound("gone"), 404, "not_found"),
        (Conflict("state"), 409, "conflict"),
        (ValidationError("bad", "qty"), 422, "invalid"),
        (idempotency.IdempotencyMismatch("reused"), 422, "idempotency_key_reused"),
        (RateLimited("slow", retry_after=2.2), 429, "rate_limited"),
    ],
)
def test_service_errors_become_problem_json_with_stable_codes(err, status, code):
    response = asyncio.run(on_service_error(_request(), err))
    body = json.loads(response.body)
    assert response.status_code == status and response.media_type == "application/problem+json"
    assert body["code"] == code and body["status"] == status and body["detail"] == str(err)
    assert body["type"] == f"urn:reup:problem:{code}" and body["instance"] == "/api/v1/orders"
    if status == 429:
        assert response.headers["retry-after"] == "3"


def test_a_deadlock_is_a_retryable_503_and_anything_else_a_500():
    deadlock = OperationalError("UPDATE", {}, pymysql.err.OperationalError(1213, "Deadlock found"))
    response = asyncio.run(on_unexpected(_request(), deadlock))
    assert response.status_code == 503 and json.loads(response.body)["code"] == "busy"
    assert response.headers["retry-after"] == "1"
    other = asyncio.run(on_unexpected(_request(), RuntimeError("boom")))
    assert other.status_code == 500 and json.loads(other.body)["code"] == "internal"
    assert "boom" not in other.body.decode()


def test_cursor_round_trip_and_garbage_refused():
    moment = datetime(2026, 11, 28, 6, 0, 1, 123456, tzinfo=UTC)
    assert feeds.decode_cursor(feeds.encode_cursor(moment, 42)) == (moment, 42)
    for bad in ("garbage", "e30", feeds.encode_cursor(moment, 1)[:-3] + "!!!"):
        with pytest.raises(ValidationError):
            feeds.decode_cursor(bad)


def test_signature_header_is_hmac_of_timestamp_and_body():
    header = signature_header("whsec_x", '{"a":1}', timestamp=1700000000)
    t, v1 = (part.split("=", 1)[1] for part in header.split(","))
    assert t == "1700000000"
    assert v1 == hmac.new(b"whsec_x", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()


def test_request_hash_ignores_key_order_but_not_values():
    a = idempotency.request_hash("POST", "/api/v1/orders", b'{"a": 1, "b": 2}')
    assert a == idempotency.request_hash("POST", "/api/v1/orders", b'{"b":2,"a":1}')
    assert a != idempotency.request_hash("POST", "/api/v1/orders", b'{"a": 1, "b": 3}')
    assert a != idempotency.request_hash("POST", "/api/v1/products", b'{"a": 1, "b": 2}')


@pytest.mark.parametrize("url", ["http://example.com/h", "ftp://example.com", "https://", "", "x" * 600])
def test_webhook_urls_must_be_https(url):
    with pytest.raises(ValidationError):
        webhooks.validate_url(url)


def test_webhook_https_and_dev_loopback_accepted():
    assert webhooks.validate_url(" https://erp.example/hook ") == "https://erp.example/hook"
    assert webhooks.validate_url("http://127.0.0.1:9000/hook") == "http://127.0.0.1:9000/hook"


@pytest.mark.parametrize("text", ["66506110095608010312298009490", "1" * 40 + ".5", "9" * 29])
def test_amounts_and_quantities_past_28_digits_are_refused_not_crashed(text):
    """A 29-digit price from an API body once raised decimal.InvalidOperation (a 500) in quantize."""
    with pytest.raises(ValidationError, match="too large"):
        parse_money(text, "unit_price")
    with pytest.raises(ValidationError, match="exceed"):
        parse_quantity(text)
    assert parse_money("12.5") == Decimal("12.50") and parse_quantity("2") == Decimal("2.000")
