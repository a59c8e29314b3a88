"""The Dutchie client against the Dutchie sandbox over a real socket: Basic auth with the location
key and an empty password, /whoami in PascalCase and the rest in camelCase, Skip/Take paging under
page faults, mutually exclusive transaction filters, per-endpoint pacing, 429s honoured, typed errors."""

from __future__ import annotations

import base64
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from reup_app.integrations.dutchie.client import DutchieClient, DutchieLimits
from reup_app.integrations.errors import AuthFailed, Rejected
from reup_app.integrations.http.ratelimit import MemoryRateLimiter
from reup_app.integrations.http.transport import RetryPolicy

GREENLEAF = "C10-0000712-LIC"


def client(sb, key: str, **kw) -> DutchieClient:
    kw.setdefault("limiter", MemoryRateLimiter())
    return DutchieClient(sb.base_url, key, **kw)


def fresh_location(sb, n_products: int = 0) -> str:
    key = f"t-{uuid.uuid4().hex}"
    products = [{"productId": 100 + i, "sku": f"S-{i}", "productName": f"P {i}"} for i in range(n_products)]
    stock = [{"product_id": 100 + i, "quantity": i + 1} for i in range(n_products)]
    sb.new_location(key, "Fresh", f"C10-{uuid.uuid4().hex[:6]}", products, stock)
    return key


def test_whoami_is_pascal_case_and_the_rest_camel_case(dutchie_sandbox):
    sb, key = dutchie_sandbox, dutchie_sandbox.demo_key(GREENLEAF)
    raw = httpx.get(sb.base_url + "/whoami", auth=(key, ""))
    assert raw.status_code == 200 and raw.json()["LicenseNumber"] == GREENLEAF and "licenseNumber" not in raw.json()
    products = httpx.get(sb.base_url + "/products", auth=(key, "")).json()
    assert products and "productId" in products[0] and "ProductId" not in products[0]
    who = client(sb, key).whoami()
    assert who.license_number == GREENLEAF and who.location_name == "Greenleaf Dispensary - Mission"


def test_auth_is_the_location_key_with_an_empty_password(dutchie_sandbox):
    sb, key = dutchie_sandbox, dutchie_sandbox.demo_key(GREENLEAF)
    assert httpx.get(sb.base_url + "/whoami", auth=(key, "not-empty")).status_code == 401
    assert httpx.get(sb.base_url + "/whoami").status_code == 401
    with pytest.raises(AuthFailed):
        client(sb, "no-such-location-key").whoami()
    header = "Basic " + base64.b64encode(f"{key}:".encode()).decode()  # the spec's header: key, empty password
    assert httpx.get(sb.base_url + "/whoami", headers={"Authorization": header}).status_code == 200


def test_a_key_reaches_only_its_own_location(dutchie_sandbox):
    sb = dutchie_sandbox
    a, b = fresh_location(sb, 3), fresh_location(sb, 5)
    assert {p.sku for p in client(sb, a).products(None)} == {"S-0", "S-1", "S-2"}
    assert len(client(sb, b).products(None)) == 5


@pytest.mark.parametrize("fault", [None, "duplicate", "shift"])
def test_inventory_pages_with_skip_take_and_survives_page_faults(dutchie_sandbox, fault):
    sb = dutchie_sandbox
    key = fresh_location(sb, 25)
    if fault:
        sb.fault(page_fault=fault, page_fault_next=1, shift=-1)
    pages = []
    items = list(client(sb, key).inventory(take=10, on_page=lambda done, total: pages.append(done)))
    ids = [i.inventory_id for i in items]
    assert len(ids) == len(set(ids)) == 25  # every row once
    assert sum(i.quantity_available for i in items) == sum(range(1, 26))
    assert pages[-1] >= 3


def test_transaction_filters_are_mutually_exclusive(dutchie_sandbox):
    sb, key = dutchie_sandbox, dutchie_sandbox.demo_key(GREENLEAF)
    r = httpx.get(
        sb.base_url + "/reporting/transactions",
        params={"FromDateUTC": "2026-11-01T00:00:00Z", "ToDateUTC": "2026-11-02T00:00:00Z", "TransactionId": 5},
        auth=(key, ""),
    )
    assert r.status_code == 400 and r.json()["isValid"] is False and r.json()["errors"][0]["errorMessage"]


def test_daily_window_returns_that_days_sales_with_detail(dutchie_sandbox):
    sb = dutchie_sandbox
    key = fresh_location(sb, 2)
    day = (datetime.now(UTC) - timedelta(days=3)).replace(hour=0, minute=0, second=0, microsecond=0)
    sb.sale(key, 100, 2, at=(day + timedelta(hours=18)).isoformat())
    sb.sale(key, 101, 1, at=(day + timedelta(hours=23, minutes=59)).isoformat())
    sb.sale(key, 101, 5, at=(day + timedelta(days=1, minutes=1)).isoformat())  # the next day
    txs = client(sb, key).transactions(day, day + timedelta(days=1))
    assert sorted((t.items[0].product_id, t.items[0].quantity) for t in txs) == [(100, 2), (101, 1)]


def test_a_429_storm_is_honoured_with_retry_after(dutchie_sandbox):
    sb = dutchie_sandbox
    key = fresh_location(sb, 1)
    sb.fault(storm_next=2, retry_after=1)
    started = time.monotonic()
    assert len(client(sb, key).products(None)) == 1
    assert time.monotonic() - started >= 1.8  # two Retry-After: 1 waits
    statuses = sb.calls()["by_status"]
    assert statuses.get("429") == 2 and statuses.get("200") == 1


def test_each_endpoint_is_paced_within_its_budget(dutchie_sandbox):
    """Sandbox and client both at 60/min on /products: 10 calls in a row get no 429, and the client
    spreads them (burst of 6, then one per 1.1 s) instead of firing all at once."""
    sb = dutchie_sandbox
    key = fresh_location(sb, 1)
    sb.settings(rate_limits={"/products": 60})
    c = client(sb, key, limits=DutchieLimits(per_minute={"/products": 60}), retry=RetryPolicy(attempts=1))
    started = time.monotonic()
    for _ in range(10):
        c.products(None)
    elapsed = time.monotonic() - started
    assert elapsed >= 3.5, elapsed
    assert sb.calls()["by_status"] == {"200": 10}
    # another endpoint has its own budget: /whoami is not slowed by the /products pacing
    started = time.monotonic()
    c.whoami()
    assert time.monotonic() - started < 1.0


def test_sandbox_refuses_over_its_limit_with_429(dutchie_sandbox):
    sb = dutchie_sandbox
    key = fresh_location(sb, 1)
    sb.settings(rate_limits={"/products": 3})
    codes = [httpx.get(sb.base_url + "/products", auth=(key, "")).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = httpx.get(sb.base_url + "/products", auth=(key, ""))
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1 and "Rate limit" in r.json()["message"]


def test_receive_refuses_a_duplicate_external_id(dutchie_sandbox):
    sb = dutchie_sandbox
    key = fresh_location(sb, 1)
    vendor = {"vendorId": 7, "vendorName": "W", "licenseNumber": "C11-W-LIC"}
    sb.new_location(key + "v", "Fresh", "C10-V", [], [], [vendor])
    c = client(sb, key + "v")
    body = {"vendorId": 7, "externalId": "reup-X", "receiveIntoInventory": False, "items": [{"quantity": 1}]}
    assert c.receive_inventory(body) > 0
    with pytest.raises(Rejected, match="ExternalId"):
        c.receive_inventory(body)
    assert [r["status"] for r in sb.receives(key + "v")] == ["Draft"]
