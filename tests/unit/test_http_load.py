"""bench/http_load.py, the benchmarks' load generator, against a small HTTP server on a real socket:
it counts only the answers it was told to expect, and re-sends a POST with the same
Idempotency-Key after 409/503 until the 201."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the API server
    sends: Counter[str] = Counter()  # Idempotency-Key -> POSTs seen

    def _answer(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._answer(200, {"data": [1, 2, 3]})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        key = self.headers.get("Idempotency-Key", "")
        self.sends[key] += 1
        # the first send of every key is "still in progress", the second "busy", the third placed
        self._answer({1: 409, 2: 503}.get(self.sends[key], 201), {"key": key})

    def log_message(self, *_args) -> None:
        pass


@pytest.fixture
def server():
    _Handler.sends = Counter()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _run(job: dict) -> dict:
    run = subprocess.run(
        [sys.executable, "-m", "bench.http_load"],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    return json.loads(run.stdout)


def test_gets_are_counted_only_when_they_hold_the_expected_items(server):
    good = {"method": "GET", "path": "/orders", "expect_items": 3}
    out = _run({"base": server, "seconds": 0.5, "clients": [good, good]})
    assert out["done"] > 0 and out["failed"] == 0
    assert len(out["samples_ms"]) == out["done"]

    wrong = _run({"base": server, "seconds": 0.3, "clients": [{**good, "expect_items": 50}]})
    assert wrong["done"] == 0 and wrong["failed"] > 0
    assert "3 items, expected 50" in wrong["errors"][0]


def test_an_idempotent_post_is_resent_with_its_key_until_it_is_placed(server):
    post = {"method": "POST", "path": "/orders", "body": {"lines": []}, "idempotent": True}
    out = _run({"base": server, "seconds": 0.5, "clients": [post]})
    assert out["done"] > 0 and out["failed"] == 0
    placed = [k for k, n in _Handler.sends.items() if n == 3]
    assert len(placed) == out["done"]  # each placed order: one key, sent three times
    assert all(n <= 3 for n in _Handler.sends.values())
    assert out["retries"] >= 2 * out["done"]
