"""The benchmarks' HTTP load generator, in a process of its own: gevent + geventhttpclient (the
client locust's FastHttpUser uses, C parser), so the load generator is not what gets measured.

An asyncio + httpx client in the benchmark's own process spent 4.4-5.0 ms of CPU per
`GET /api/v1/orders` (more than the API server's ~4 ms) at 79% of a core: it was the bottleneck,
and its latencies were mostly its own queueing.

    python -m bench.http_load < job.json     # prints one JSON object on stdout

The job (JSON on stdin): {"base": "http://127.0.0.1:port", "seconds": 10, "clients": [client, ...]}
with one entry per concurrent client, each on its own keep-alive connection:
    {"method": "GET", "path": "/api/v1/orders?limit=50", "headers": {...}, "expect_items": 50}
    {"method": "POST", "path": "/api/v1/orders", "headers": {...}, "body": {...}, "idempotent": true}
A GET must answer 200 (with `expect_items` entries in its `data` when given). A POST with
`idempotent` sends a fresh Idempotency-Key per request and, after 409 (still in progress) or 503
(busy), sends it again with the same key until it gets its 201, as a client should.

Output: {"samples_ms": [...], "done": n, "retries": n, "errors": [first few]}: one latency sample
per completed request (for a retried POST, from its first send to its 201).
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

import gevent  # noqa: E402
from geventhttpclient import HTTPClient  # noqa: E402

RETRY_STATUSES = {409, 503}


def _run_client(base: str, spec: dict, deadline: float, out: dict) -> None:
    parts = urlsplit(base)
    http = HTTPClient(
        parts.hostname or "127.0.0.1", parts.port, concurrency=1, connection_timeout=10, network_timeout=60
    )
    method, path = spec["method"].upper(), spec["path"]
    headers = dict(spec.get("headers") or {})
    body = json.dumps(spec["body"]).encode() if "body" in spec else None
    if body is not None:
        headers["Content-Type"] = "application/json"
    try:
        while time.perf_counter() < deadline:
            if spec.get("idempotent"):
                headers["Idempotency-Key"] = uuid.uuid4().hex
            t0 = time.perf_counter()
            while True:
                r = http.request(method, path, body=body, headers=headers)
                payload = r.read()
                if r.status_code in RETRY_STATUSES and spec.get("idempotent"):
                    out["retries"] += 1
                    gevent.sleep(0.01)
                    continue
                break
            took = (time.perf_counter() - t0) * 1000
            problem = _check(spec, r.status_code, payload)
            if problem:
                out["failed"] += 1
                if len(out["errors"]) < 5:
                    out["errors"].append(problem)
                continue
            out["samples_ms"].append(took)
            out["done"] += 1
    finally:
        http.close()


def _check(spec: dict, status: int, payload: bytes) -> str:
    """Why the response is not the one expected ("" when it is)."""
    want = 201 if spec["method"].upper() == "POST" else 200
    if status != want:
        return f"{spec['method']} {spec['path']}: {status} {payload[:200]!r}"
    expect = spec.get("expect_items")
    if expect is not None:
        n = len(json.loads(payload)["data"])
        if n != expect:
            return f"{spec['path']}: {n} items, expected {expect}"
    return ""


def main() -> None:
    job = json.load(sys.stdin)
    out: dict = {"samples_ms": [], "done": 0, "retries": 0, "failed": 0, "errors": []}
    deadline = time.perf_counter() + float(job["seconds"])
    gevent.joinall(
        [gevent.spawn(_run_client, job["base"], spec, deadline, out) for spec in job["clients"]], raise_error=True
    )
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
