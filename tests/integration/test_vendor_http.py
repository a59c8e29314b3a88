"""The shared vendor client layers over a real local HTTP server: retries, Retry-After, typed
errors with the vendor's message, credential redaction in logs, and the blocking rate limiter."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest
import redis

from reup_app.integrations.errors import (
    AmbiguousWrite,
    AuthFailed,
    NotFound,
    PermissionDenied,
    RateLimited,
    Rejected,
    Unavailable,
)
from reup_app.integrations.http.ratelimit import Limit, MemoryRateLimiter, RedisRateLimiter
from reup_app.integrations.http.requestor import Requestor
from reup_app.integrations.http.transport import RetryPolicy, Transport, TransportConfig, close_all_clients
from tests.vendor_server import Reply, VendorServer

VENDOR_KEY = "vendor-SECRET-abc123"
USER_KEY = "user-SECRET-xyz789"
FAST = RetryPolicy(attempts=4, base=0.01, cap=0.05)


def requestor(url: str, *, retry: RetryPolicy = FAST, timeout: float = 5.0, limiter=None) -> Requestor:
    transport = Transport(
        TransportConfig(f"test-{url}", url, timeout=timeout, retry=retry), secrets=(VENDOR_KEY, USER_KEY)
    )
    return Requestor(transport, limiter=limiter or MemoryRateLimiter(), auth=(VENDOR_KEY, USER_KEY))


@pytest.fixture(autouse=True)
def _close_clients():
    yield
    close_all_clients()


def flaky(failures: int, status: int = 503, headers: dict | None = None):
    count = {"n": 0}

    def handle(req):
        count["n"] += 1
        if count["n"] <= failures:
            return Reply(status, {"Message": "try later"}, headers or {})
        return Reply(200, {"ok": True, "n": count["n"]})

    return handle


def test_get_retries_5xx_then_succeeds():
    with VendorServer(flaky(2)) as server:
        assert requestor(server.url).request("GET", "/things") == {"ok": True, "n": 3}
        assert len(server.requests("GET")) == 3
        assert server.requests()[0].auth == (VENDOR_KEY, USER_KEY)


def test_get_gives_up_after_the_budget_as_unavailable():
    with VendorServer(flaky(99)) as server:
        with pytest.raises(Unavailable) as err:
            requestor(server.url).request("GET", "/things")
        assert err.value.status == 503 and len(server.requests()) == FAST.attempts


def test_post_5xx_is_ambiguous_and_not_retried():
    with VendorServer(flaky(1, 500)) as server:
        with pytest.raises(AmbiguousWrite):
            requestor(server.url).request("POST", "/things", json_body=[{"a": 1}])
        assert len(server.requests("POST")) == 1


def test_post_timeout_is_ambiguous_and_not_retried():
    with VendorServer(lambda req: Reply(200, {"Ids": [1]}, delay=1.0)) as server:
        with pytest.raises(AmbiguousWrite):
            requestor(server.url, timeout=0.3).request("POST", "/things", json_body=[{}])
        time.sleep(0.8)
        assert len(server.requests("POST")) == 1


def test_429_waits_for_retry_after_then_succeeds():
    with VendorServer(flaky(1, 429, {"Retry-After": "1"})) as server:
        started = time.monotonic()
        assert requestor(server.url).request("GET", "/things")["ok"] is True
        gap = server.requests()[1].at - server.requests()[0].at
        assert gap >= 0.95 and time.monotonic() - started >= 0.95


def test_429_with_a_long_retry_after_is_raised_typed():
    with VendorServer(flaky(9, 429, {"Retry-After": "600"})) as server:
        with pytest.raises(RateLimited) as err:
            requestor(server.url).request("POST", "/things", json_body=[{}])
        assert err.value.retry_after == 600 and len(server.requests()) == 1


def test_connection_refused_is_unavailable_after_retries():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(Unavailable) as err:
        requestor(f"http://127.0.0.1:{port}").request("POST", "/x", json_body=[{}])
    assert "cannot connect" in str(err.value) and not isinstance(err.value, AmbiguousWrite)


@pytest.mark.parametrize(
    ("status", "body", "exc", "message"),
    [
        (401, None, AuthFailed, ""),
        (403, {"Message": "No permission: Manage Transfers"}, PermissionDenied, "No permission: Manage Transfers"),
        (404, {"message": "Package not found"}, NotFound, "Package not found"),
        (400, [{"row": 0, "message": "Recipient license is invalid"}], Rejected, "Recipient license is invalid"),
        (413, {"Message": "Too many objects"}, Rejected, "Too many objects"),
    ],
)
def test_errors_map_to_typed_exceptions_with_the_vendor_message(status, body, exc, message):
    with VendorServer(lambda req: Reply(status, body)) as server:
        with pytest.raises(exc) as err:
            requestor(server.url).request("POST", "/things", json_body=[{}])
        assert err.value.status == status and (err.value.vendor_message or "").startswith(message)
        assert len(server.requests()) == 1  # not retried


def test_logs_never_contain_credentials(caplog):
    caplog.set_level(logging.DEBUG)
    with VendorServer(flaky(1)) as server:
        req = requestor(server.url)
        # a key that ends up in a URL (e.g. a vendor echoing it) is redacted as well
        req.request("GET", "/things", params={"licenseNumber": "LIC-1", "echo": USER_KEY})
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "LIC-1" in text and "/things" in text and "retry 1" in text
    assert VENDOR_KEY not in text and USER_KEY not in text and "***" in text


def test_memory_limiter_blocks_until_a_slot_frees():
    limiter = MemoryRateLimiter()
    limits = [Limit("t:a", 20)]
    started = time.monotonic()
    for _ in range(21):
        limiter.acquire(limits)
    assert 0.95 <= time.monotonic() - started < 1.6  # 21 calls at 20/s: the 21st starts after ~1 s


def test_redis_limiter_shares_one_budget_across_clients_and_keys(redis_url, unique):
    a = RedisRateLimiter(redis.Redis.from_url(redis_url), prefix=f"reup:test:{unique}:")
    b = RedisRateLimiter(redis.Redis.from_url(redis_url), prefix=f"reup:test:{unique}:")
    shared, other = Limit("vendor", 20), Limit("facility-x", 1000)
    times: list[float] = []
    lock = threading.Lock()

    def hammer(limiter):
        for _ in range(15):
            limiter.acquire([shared, other])
            with lock:
                times.append(time.monotonic())

    threads = [threading.Thread(target=hammer, args=(x,)) for x in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    times.sort()
    # slots are 1/20 s apart and each call starts within one interval after its slot (a later waker
    # takes a new slot), so any one second holds at most 20 + 2 starts
    assert max(sum(1 for u in times if t <= u < t + 1.0) for t in times) <= 20 + 2
    assert times[-1] - times[0] >= 29 / 20 - 0.1  # 30 calls at 20/s take ~1.45 s


def test_limit_rejects_nonsense():
    with pytest.raises(ValueError):
        Limit("x", 0)
