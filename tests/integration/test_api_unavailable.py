"""While Redis (or MySQL) cannot be reached, the API answers 503 `unavailable` with Retry-After, not a
500: a client retries, and a POST retried with its Idempotency-Key is never applied twice. Real server
(granian) whose Redis URL points at a port where nothing listens."""

from __future__ import annotations

import socket

from tests.integration.apikit import ApiServer, declared_schema, new_key, schema_errors
from tests.integration.orderkit import make_seller


def _dead_redis_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    return f"redis://127.0.0.1:{port}/0"


def test_redis_down_answers_503_unavailable_with_retry_after(mysql_url, engine, session):
    _key_id, secret = new_key(engine, make_seller(session).owner)
    server = ApiServer(mysql_url, _dead_redis_url())
    try:
        with server.client(secret) as client:
            r = client.get("/api/v1/orders")
        assert r.status_code == 503, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.headers["retry-after"] == "2"
        body = r.json()
        assert body["code"] == "unavailable" and body["status"] == 503
        assert body["error_id"] in body["detail"] and "Retry shortly" in body["detail"]
        spec = server.client().get("/api/v1/openapi.json").json()  # the answer is the one documented
        declared = spec["paths"]["/api/v1/orders"]["get"]["responses"]["503"]
        assert schema_errors(declared_schema(spec, "/api/v1/orders", "get", 503, r.headers["content-type"]), body) == []
        assert declared["headers"]["Retry-After"]["required"] is True
    finally:
        server.stop()
