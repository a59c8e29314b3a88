"""Every HTTP request has an id (issue 16, item 5): answered as X-Request-ID, on every log line of
the request, and quoted as the error id of an unexpected failure, over a real socket."""

from __future__ import annotations

import io
import json
import logging

import httpx
import pytest

from reup_app.api.request_ids import request_ids
from reup_app.api.v1.app import build_public_api
from reup_app.logs import configure_logging
from tests.appserver import EmbeddedServer


@pytest.fixture
def server():
    api = build_public_api()

    @api.get("/api/_test/boom", include_in_schema=False)
    def boom() -> None:
        logging.getLogger("reup_app.test").info("about to fail")
        raise RuntimeError("a bug in a route")

    @api.get("/api/health", include_in_schema=False)
    def health() -> dict:
        return {"status": "ok"}

    srv = EmbeddedServer(request_ids(api))
    yield srv
    srv.stop()


def test_pages_get_an_id_too(server):
    page = httpx.get(server.base_url + "/docs-not-api")  # any path, an answer from the app or not
    assert len(page.headers["x-request-id"]) >= 8


def test_a_sane_caller_id_is_kept_and_anything_else_replaced(server):
    kept = httpx.get(server.base_url + "/api/health", headers={"X-Request-ID": "nginx-5f0c1a2b3c4d"})
    assert kept.headers["x-request-id"] == "nginx-5f0c1a2b3c4d"
    for bad in ("short", "has spaces in it!", "x" * 65, "<script>alert(1)</script>"):
        got = httpx.get(server.base_url + "/api/health", headers={"X-Request-ID": bad}).headers["x-request-id"]
        assert got != bad and len(got) == 16
    a = httpx.get(server.base_url + "/api/health").headers["x-request-id"]
    b = httpx.get(server.base_url + "/api/health").headers["x-request-id"]
    assert a != b


def test_an_unexpected_error_quotes_the_request_id_that_its_log_lines_carry(server):
    stream = io.StringIO()
    handler = configure_logging("json", stream=stream)
    try:
        r = httpx.get(server.base_url + "/api/_test/boom")
    finally:
        logging.getLogger().removeHandler(handler)
    assert r.status_code == 500
    body = r.json()
    rid = r.headers["x-request-id"]
    assert body["code"] == "internal" and body["error_id"] == rid and rid in body["detail"]
    assert "a bug in a route" not in r.text  # no internals in the answer
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    mine = [line for line in lines if line.get("request_id") == rid]
    assert any(line["message"] == "about to fail" for line in mine)
    failed = [line for line in mine if line["level"] == "ERROR" and "error_id=" + rid in line["message"]]
    assert failed and "RuntimeError: a bug in a route" in failed[0]["exc_info"]
