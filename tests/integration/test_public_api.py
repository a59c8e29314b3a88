"""The public REST API v1 over real HTTP (granian serving the FastAPI app): API keys, orders and
products through the services, cursor pagination, Idempotency-Key (incl. a race), problem+json,
rate limits and tenant isolation on every endpoint."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from reup_app.db import unit_of_work
from reup_app.models import ApiKey, AuditLog, Invoice, Order, OrderMessage, Payment
from reup_app.models.types import utcnow
from reup_app.services.catalog import price_tiers
from reup_app.services.identity import principal_cache
from reup_app.services.public_api import keys
from tests.integration.apikit import ApiServer, new_key
from tests.integration.orderkit import (
    advance,
    assert_stock_consistent,
    db_state,
    events_of,
    make_buyer,
    make_seller,
    order_row,
    place_one,
    product_row,
    stock,
)

pytestmark = [pytest.mark.mysql, pytest.mark.redis]
# a 1x1 PNG
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000b49444154789c6360000200000500017a5eab3f0000000049454e44ae426082"
)


@pytest.fixture(scope="module")
def api(mysql_url, redis_url):
    server = ApiServer(mysql_url, redis_url)
    yield server
    server.stop()


@pytest.fixture
def world(engine, session, api):
    seller, buyer, other = make_seller(session), make_buyer(session), make_seller(session)
    product, lots = stock(session, seller, qty="50", price="12.50")
    keys_ = {
        "seller": new_key(engine, seller.owner)[1],
        "buyer": new_key(engine, buyer.owner)[1],
        "other": new_key(engine, other.owner)[1],
    }
    return {"seller": seller, "buyer": buyer, "other": other, "product": product, "lot": lots[0], "keys": keys_}


def _order_body(world, qty="2"):
    return {
        "buyer_license_id": world["buyer"].license.id,
        "lines": [{"product_id": world["product"].id, "quantity": qty}],
    }


def _orders_of(engine, buyer_id: int) -> int:
    with unit_of_work(None, engine=engine) as s:
        return s.execute(select(func.count()).select_from(Order).where(Order.buyer_entity_id == buyer_id)).scalar_one()


def test_no_bad_and_revoked_keys_get_401_problem_json(engine, api, world):
    for headers in ({}, {"Authorization": "Bearer rk_nope"}, {"Authorization": "Basic x"}):
        r = api.client().get("/api/v1/orders", headers=headers)
        assert r.status_code == 401
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "unauthenticated" and r.json()["status"] == 401
    key_id, secret = new_key(engine, world["seller"].owner, role="viewer")
    assert api.client(secret).get("/api/v1/orders").status_code == 200
    with unit_of_work(world["seller"].owner, engine=engine) as s:
        keys.revoke_key(s, world["seller"].owner, key_id)
    assert api.client(secret).get("/api/v1/orders").json()["code"] == "unauthenticated"


def test_a_key_cached_by_the_server_is_refused_on_its_next_request_after_revocation(engine, api, world):
    """The server (another process) holds the key after one request; revoking it here (sharing
    Redis, as the app does) refuses it on the very next request, not after the cache's TTL."""
    key_id, secret = new_key(engine, world["seller"].owner, role="viewer")
    client = api.client(secret)
    assert client.get("/api/v1/orders").status_code == 200
    entry = principal_cache.api_key_entry(keys.hash_secret(secret))
    assert api.backend is not None and api.backend.get(entry) is not None  # resolved once, shared
    assert [client.get("/api/v1/orders").status_code for _ in range(3)] == [200, 200, 200]
    with unit_of_work(world["seller"].owner, engine=engine) as s:
        keys.revoke_key(s, world["seller"].owner, key_id)
    r = client.get("/api/v1/orders")
    assert r.status_code == 401 and r.json()["code"] == "unauthenticated"


def test_key_roles_follow_member_permissions(engine, api, world):
    _, viewer = new_key(engine, world["buyer"].owner, role="viewer")
    r = api.client(viewer).post("/api/v1/orders", json=_order_body(world))
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert _orders_of(engine, world["buyer"].id) == 0


def test_order_lifecycle_and_audit_as_the_key(engine, api, world):
    buyer, seller = api.client(world["keys"]["buyer"]), api.client(world["keys"]["seller"])
    r = buyer.post("/api/v1/orders", json=_order_body(world), headers={"Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code == 201, r.text
    order = r.json()["data"][0]
    assert order["total"] == "25.00" and order["status"] == "submitted" and order["created_at"].endswith("Z")
    listed = seller.get("/api/v1/orders", params={"status": "submitted", "side": "seller"}).json()["data"]
    assert [o["number"] for o in listed] == [order["number"]]
    assert seller.get("/api/v1/orders", params={"side": "buyer"}).json()["data"] == []
    detail = seller.get(f"/api/v1/orders/{order['number']}").json()
    assert detail["lines"][0]["quantity"] == "2.000" or Decimal(detail["lines"][0]["quantity"]) == 2
    assert "accept" in detail["available_actions"]
    r = seller.post(f"/api/v1/orders/{order['number']}/accept", json={"note": "ok"})
    assert r.status_code == 200 and r.json() == {
        "number": order["number"],
        "status": "accepted",
        "previous_status": "submitted",
        "applied": True,
    }
    assert order_row(engine, order["number"]).status == "accepted"
    r = buyer.post(f"/api/v1/orders/{order['number']}/accept")
    assert r.status_code in (403, 409) and r.headers["content-type"].startswith("application/problem+json")
    msg = buyer.post(f"/api/v1/orders/{order['number']}/messages", json={"body": "When will it ship?"})
    assert msg.status_code == 201
    assert [m["body"] for m in seller.get(f"/api/v1/orders/{order['number']}/messages").json()["data"]] == [
        "When will it ship?"
    ]
    # audited as the key's own service-account user
    with unit_of_work(None, engine=engine) as s:
        key_user = s.execute(
            select(ApiKey.user_id).where(ApiKey.key_hash == keys.hash_secret(world["keys"]["seller"]))
        ).scalar_one()
        audited = s.execute(
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.actor_user_id == key_user, AuditLog.table_name == "orders")
        ).scalar_one()
        last_used = s.execute(select(ApiKey.last_used_at).where(ApiKey.user_id == key_user)).scalar_one()
    assert audited >= 1 and last_used is not None


def test_idempotent_replay_and_mismatch(engine, api, world):
    buyer = api.client(world["keys"]["buyer"])
    key = uuid.uuid4().hex
    first = buyer.post("/api/v1/orders", json=_order_body(world), headers={"Idempotency-Key": key})
    again = buyer.post("/api/v1/orders", json=_order_body(world), headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers.get("idempotent-replayed") == "true"
    other = buyer.post("/api/v1/orders", json=_order_body(world, qty="3"), headers={"Idempotency-Key": key})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert _orders_of(engine, world["buyer"].id) == 1
    # a refusal is the answer too: replayed, not re-run
    bad_key = uuid.uuid4().hex
    body = {
        "buyer_license_id": world["buyer"].license.id,
        "lines": [{"product_id": world["product"].id, "quantity": "9999"}],
    }
    r1 = buyer.post("/api/v1/orders", json=body, headers={"Idempotency-Key": bad_key})
    r2 = buyer.post("/api/v1/orders", json=body, headers={"Idempotency-Key": bad_key})
    assert r1.status_code == r2.status_code and r1.status_code >= 400 and r1.json() == r2.json()


def test_concurrent_requests_with_one_key_make_one_order(engine, api, world):
    key, body = uuid.uuid4().hex, _order_body(world)
    results: list = []
    barrier = threading.Barrier(4)

    def go():
        client = api.client(world["keys"]["buyer"])
        barrier.wait()
        results.append(client.post("/api/v1/orders", json=body, headers={"Idempotency-Key": key}))

    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in results] == [201] * 4
    assert len({r.json()["data"][0]["number"] for r in results}) == 1
    assert _orders_of(engine, world["buyer"].id) == 1


def test_cursor_pagination_is_stable_and_complete(engine, session, api, world):
    seller = world["seller"]
    made = [world["product"].id] + [stock(session, seller)[0].id for _ in range(6)]
    client = api.client(world["keys"]["seller"])
    seen, cursor = [], None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/products", params=params).json()
        seen += [p["id"] for p in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(made) and len(seen) == len(set(seen))
    last = client.get(f"/api/v1/products/{made[-1]}").json()
    newer = client.get("/api/v1/products", params={"updated_since": last["updated_at"]}).json()["data"]
    assert made[-1] in [p["id"] for p in newer] and len(newer) < len(made)
    assert client.get("/api/v1/products", params={"cursor": "garbage"}).json()["code"] == "invalid"
    market = api.client(world["keys"]["buyer"]).get("/api/v1/products", params={"scope": "marketplace", "limit": 200})
    assert market.status_code == 200


def test_adjust_stock_and_lot_list(engine, api, world):
    client = api.client(world["keys"]["seller"])
    lot = world["lot"]
    r = client.post(f"/api/v1/inventory-lots/{lot.id}/adjust", json={"delta": "-5", "reason": "damaged"})
    assert r.status_code == 200, r.text
    assert Decimal(r.json()["quantity_on_hand"]) == Decimal("45")
    ids = [x["id"] for x in client.get("/api/v1/inventory-lots").json()["data"]]
    assert lot.id in ids


def test_problem_json_for_unknown_route_and_bad_input(api, world):
    client = api.client(world["keys"]["seller"])
    r = client.get("/api/v1/no-such-thing")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = client.post("/api/v1/orders", json={"lines": "x"})
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
    assert r.headers["content-type"].startswith("application/problem+json")


def test_rate_limit_per_key(engine, api, world):
    _, secret = new_key(engine, world["seller"].owner, rate_limit_per_minute=3)
    client = api.client(secret)
    codes = [client.get("/api/v1/orders").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = client.get("/api/v1/orders")
    assert r.json()["code"] == "rate_limited" and int(r.headers["retry-after"]) >= 1


def test_docs_and_openapi_are_served_locally(api):
    spec = api.client().get("/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    page = api.client().get("/api/docs")
    assert page.status_code == 200 and "/api/v1/orders" in page.text
    assert "http://" not in page.text.replace("http://127.0.0.1", "") and "https://" not in page.text


def test_another_business_key_gets_404_or_403_on_every_endpoint(engine, session, api, world):
    """Every operation in the OpenAPI document, called with a key of another business on this
    business's order, product and lot: 404 or 403 (or an empty list), and nothing changes."""
    number = place_one(engine, world["buyer"], world["product"], "1")
    hidden, _ = stock(session, world["seller"], listing_state="internal")  # public listings are readable by all
    shipped = place_one(engine, world["buyer"], world["product"], "1")
    advance(engine, world["seller"], shipped, "accept", "fulfill", "ship")
    with unit_of_work(world["seller"].owner, engine=engine) as s:
        tier = price_tiers.create_tier(s, world["seller"].owner, "Gold")
    ids = {
        "number": number,
        "product_id": hidden.id,
        "lot_id": world["lot"].id,
        "tier_id": tier.id,
        "store_id": world["buyer"].license.id,  # the buyer's store: its POS suggestions
    }
    spec = api.client().get("/api/v1/openapi.json").json()
    intruder = api.client(world["keys"]["other"])
    before = db_state(engine, entity_ids=[world["seller"].id, world["buyer"].id])
    checked = 0
    for path, item in spec["paths"].items():
        if "{" not in path:
            continue
        url = path.format(**ids)
        if path.startswith("/api/v1/invoices/"):
            url = path.format(number="INV-" + shipped.split("-", 1)[-1])
        for method in item:
            body = {"body": "hi"} if path.endswith("/messages") else {"reason": "x"} if method == "post" else None
            if method == "put":
                body = {"sku": "X1", "name": "Hijack", "category": "flower", "unit_price": "1.00"}
            if path.endswith("/ship"):
                body = {"note": "x"}
            if path.endswith("/adjust"):
                body = {"delta": "-1", "reason": "x"}
            if path.endswith("/payments") and method == "post":
                body = {"amount": "1.00", "method": "cash"}
            if path.endswith("/prices") and method == "post":
                body = {"product_id": world["product"].id, "unit_price": "1.00"}
            if path.endswith("/images") and method == "post":
                r = intruder.post(url, content=PNG, headers={"Content-Type": "application/octet-stream"})
            else:
                r = intruder.request(method.upper(), url, json=body)
            assert r.status_code in (403, 404), (method, url, r.status_code, r.text)
            checked += 1
    assert checked >= 10
    listed = intruder.get("/api/v1/orders").json()["data"]
    assert number not in [o["number"] for o in listed]
    assert db_state(engine, entity_ids=[world["seller"].id, world["buyer"].id]) == before


def test_fulfil_ship_invoice_payment_and_trade_lists(engine, session, api, world):
    seller, buyer = api.client(world["keys"]["seller"]), api.client(world["keys"]["buyer"])
    number = place_one(engine, world["buyer"], world["product"], "4")
    for action in ("accept", "fulfill", "ship"):
        r = seller.post(f"/api/v1/orders/{number}/{action}", headers={"Idempotency-Key": uuid.uuid4().hex})
        assert r.status_code == 200 and r.json()["applied"], r.text
    invoices = seller.get("/api/v1/invoices", params={"side": "seller"}).json()["data"]
    [inv] = [i for i in invoices if i["order_number"] == number]
    assert inv["total"] == "50.00" and inv["balance"] == "50.00"
    key = uuid.uuid4().hex
    paid = seller.post(
        f"/api/v1/invoices/{inv['number']}/payments",
        json={"amount": "20.00", "method": "ach"},
        headers={"Idempotency-Key": key},
    )
    again = seller.post(
        f"/api/v1/invoices/{inv['number']}/payments",
        json={"amount": "20.00", "method": "ach"},
        headers={"Idempotency-Key": key},
    )
    assert paid.status_code == 201 and again.json() == paid.json()
    assert buyer.get(f"/api/v1/invoices/{inv['number']}").json()["balance"] == "30.00"
    assert len(buyer.get(f"/api/v1/invoices/{inv['number']}/payments").json()["data"]) == 1
    assert world["buyer"].id in [c["id"] for c in seller.get("/api/v1/customers").json()["data"]]
    assert world["seller"].id in [c["id"] for c in buyer.get("/api/v1/vendors").json()["data"]]
    assert [lic["number"] for lic in buyer.get("/api/v1/licenses").json()["data"]] == [world["buyer"].license.number]
    manifests = seller.get("/api/v1/manifests").json()["data"]
    assert number in [m["order_number"] for m in manifests]
    assert seller.get("/api/v1/deliveries").status_code == 200
    with unit_of_work(world["seller"].owner, engine=engine) as s:
        tier = price_tiers.create_tier(s, world["seller"].owner, "Silver")
    r = seller.post(
        f"/api/v1/price-tiers/{tier.id}/prices", json={"product_id": world["product"].id, "unit_price": "11.00"}
    )
    assert r.json() == {"product_id": world["product"].id, "tier_price": "11.00"}
    prices = seller.get(f"/api/v1/price-tiers/{tier.id}/prices").json()["data"]
    assert [p["tier_price"] for p in prices if p["product_id"] == world["product"].id] == ["11.00"]
    refused = buyer.get("/api/v1/price-tiers")  # a retailer has no price tiers (business-kind check)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"


def test_product_create_update_and_images(engine, api, world):
    seller = api.client(world["keys"]["seller"])
    body = {"sku": "API-" + uuid.uuid4().hex[:6], "name": "API Kush 3.5g", "category": "flower", "unit_price": "21.00"}
    r = seller.post("/api/v1/products", json=body)
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    r = seller.put(f"/api/v1/products/{pid}", json=body | {"unit_price": "22.50"})
    assert r.json()["unit_price"] == "22.50"
    up = seller.post(
        f"/api/v1/products/{pid}/images", content=PNG, headers={"Content-Type": "application/octet-stream"}
    )
    assert up.status_code == 201, up.text
    assert [i["id"] for i in seller.get(f"/api/v1/products/{pid}/images").json()["data"]] == [up.json()["id"]]
    _, viewer = new_key(engine, world["seller"].owner, role="viewer")
    r = api.client(viewer).post("/api/v1/products", json=body | {"sku": "V-" + uuid.uuid4().hex[:6]})
    assert r.status_code == 403 and r.json()["code"] == "forbidden"


# --------------------------------------------------------------------------------------------
# Idempotency-Key on effects that are not idempotent by themselves (a message, a payment):
# without the key, the same POST twice makes two rows; with it, one, however the requests race.
# --------------------------------------------------------------------------------------------


def _race(clients: list, send) -> list:
    """`send(client)` from one thread per client, all released at once by a barrier."""
    barrier, results, errors = threading.Barrier(len(clients)), [None] * len(clients), []

    def go(i: int) -> None:
        try:
            barrier.wait()
            results[i] = send(clients[i])
        except Exception as err:  # reported below, not swallowed
            errors.append(err)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


def _one_answer(results: list, status: int) -> None:
    """Every response the same (status and body); all but the one that ran marked as replays."""
    assert [r.status_code for r in results] == [status] * len(results), [r.text for r in results]
    assert all(r.json() == results[0].json() for r in results)
    flags = sorted(str(r.headers.get("idempotent-replayed")) for r in results)
    assert flags == ["None"] + ["true"] * (len(results) - 1), flags


def _messages_on(engine, number: str) -> list[tuple[int, str]]:
    with unit_of_work(None, engine=engine) as s:
        rows = s.execute(
            select(OrderMessage.id, OrderMessage.body)
            .join(Order, Order.id == OrderMessage.order_id)
            .where(Order.number == number)
            .order_by(OrderMessage.id)
        ).all()
    return [tuple(r) for r in rows]


def _invoice_of(engine, number: str) -> str:
    with unit_of_work(None, engine=engine) as s:
        return s.execute(
            select(Invoice.number).join(Order, Order.id == Invoice.order_id).where(Order.number == number)
        ).scalar_one()


def _payments_on(engine, invoice_number: str) -> list[tuple[int, Decimal]]:
    with unit_of_work(None, engine=engine) as s:
        rows = s.execute(
            select(Payment.id, Payment.amount)
            .join(Invoice, Invoice.id == Payment.invoice_id)
            .where(Invoice.number == invoice_number)
            .order_by(Payment.id)
        ).all()
    return [tuple(r) for r in rows]


def test_concurrent_messages_with_one_key_post_one_message(engine, api, world):
    number = place_one(engine, world["buyer"], world["product"], "1")
    url, body = f"/api/v1/orders/{number}/messages", {"body": "Race " + uuid.uuid4().hex}
    key = uuid.uuid4().hex
    clients = [api.client(world["keys"]["buyer"]) for _ in range(5)]
    results = _race(clients, lambda c: c.post(url, json=body, headers={"Idempotency-Key": key}))
    _one_answer(results, 201)
    rows = _messages_on(engine, number)
    assert [b for _, b in rows] == [body["body"]] and results[0].json()["id"] == rows[0][0]


def test_concurrent_payments_with_one_key_record_one_payment(engine, api, world):
    number = place_one(engine, world["buyer"], world["product"], "2")
    advance(engine, world["seller"], number, "accept", "fulfill", "ship")
    invoice = _invoice_of(engine, number)
    url, body, key = f"/api/v1/invoices/{invoice}/payments", {"amount": "5.00", "method": "cash"}, uuid.uuid4().hex
    clients = [api.client(world["keys"]["seller"]) for _ in range(5)]
    results = _race(clients, lambda c: c.post(url, json=body, headers={"Idempotency-Key": key}))
    _one_answer(results, 201)
    assert _payments_on(engine, invoice) == [(results[0].json()["payments"][0]["id"], Decimal("5.00"))]
    assert results[0].json()["balance"] == "20.00"
    with unit_of_work(None, engine=engine) as s:
        paid = s.execute(select(Invoice.amount_paid).where(Invoice.number == invoice)).scalar_one()
    assert paid == Decimal("5.00")


def test_message_replay_mismatch_and_no_key(engine, api, world):
    number = place_one(engine, world["buyer"], world["product"], "1")
    buyer, url = api.client(world["keys"]["buyer"]), f"/api/v1/orders/{number}/messages"
    # without a key the effect is not idempotent by itself: two posts, two messages
    plain = [buyer.post(url, json={"body": "twice"}) for _ in range(2)]
    assert [r.status_code for r in plain] == [201, 201] and plain[0].json()["id"] != plain[1].json()["id"]
    assert [b for _, b in _messages_on(engine, number)] == ["twice", "twice"]
    key = uuid.uuid4().hex
    first = buyer.post(url, json={"body": "once"}, headers={"Idempotency-Key": key})
    again = buyer.post(url, json={"body": "once"}, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201 and again.json() == first.json()
    assert "idempotent-replayed" not in first.headers and again.headers["idempotent-replayed"] == "true"
    other = buyer.post(url, json={"body": "different"}, headers={"Idempotency-Key": key})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert other.headers["content-type"].startswith("application/problem+json")
    assert [b for _, b in _messages_on(engine, number)] == ["twice", "twice", "once"]
    # the key belongs to its API key: another key of the same business with it is a new request
    _, second_key = new_key(engine, world["buyer"].owner)
    fresh_key = api.client(second_key).post(url, json={"body": "once"}, headers={"Idempotency-Key": key})
    assert fresh_key.status_code == 201 and "idempotent-replayed" not in fresh_key.headers
    assert fresh_key.json()["id"] != first.json()["id"]
    assert [b for _, b in _messages_on(engine, number)] == ["twice", "twice", "once", "once"]


def test_payment_replay_and_mismatch(engine, api, world):
    number = place_one(engine, world["buyer"], world["product"], "4")
    advance(engine, world["seller"], number, "accept", "fulfill", "ship")
    invoice = _invoice_of(engine, number)
    seller, url = api.client(world["keys"]["seller"]), f"/api/v1/invoices/{invoice}/payments"
    plain = [seller.post(url, json={"amount": "1.00", "method": "cash"}) for _ in range(2)]
    assert [r.status_code for r in plain] == [201, 201] and len(_payments_on(engine, invoice)) == 2  # no dedup
    key, body = uuid.uuid4().hex, {"amount": "3.00", "method": "check"}
    first = seller.post(url, json=body, headers={"Idempotency-Key": key})
    again = seller.post(url, json=body, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true" and first.json()["balance"] == "45.00"
    other = seller.post(url, json=body | {"amount": "4.00"}, headers={"Idempotency-Key": key})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert [a for _, a in _payments_on(engine, invoice)] == [Decimal("1.00"), Decimal("1.00"), Decimal("3.00")]
    assert seller.get(f"/api/v1/invoices/{invoice}").json()["balance"] == "45.00"


# --------------------------------------------------------------------------------------------
# Reject, cancel, archive; the orders list's filters; the marketplace's content
# --------------------------------------------------------------------------------------------


def _available(engine, product_id: int) -> Decimal:
    return product_row(engine, product_id).available_qty


def test_reject_and_cancel_where_the_state_machine_allows_and_409_where_it_does_not(engine, api, world):
    buyer, seller = api.client(world["keys"]["buyer"]), api.client(world["keys"]["seller"])
    pid = world["product"].id
    to_cancel = place_one(engine, world["buyer"], world["product"], "3")
    to_reject = place_one(engine, world["buyer"], world["product"], "4")
    accepted = place_one(engine, world["buyer"], world["product"], "5")
    advance(engine, world["seller"], accepted, "accept")
    assert _available(engine, pid) == Decimal("38")
    # the wrong party: refused, nothing moves
    r = seller.post(f"/api/v1/orders/{to_cancel}/cancel", json={"reason": "x"})
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    r = buyer.post(f"/api/v1/orders/{to_reject}/reject", json={"reason": "x"})
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert order_row(engine, to_cancel).status == order_row(engine, to_reject).status == "submitted"
    # the buyer cancels a submitted order; the seller rejects one: stock released
    r = buyer.post(f"/api/v1/orders/{to_cancel}/cancel", json={"reason": "Ordered twice"})
    assert r.status_code == 200 and r.json() == {
        "number": to_cancel,
        "status": "cancelled",
        "previous_status": "submitted",
        "applied": True,
    }
    row = order_row(engine, to_cancel)
    assert row.status == "cancelled" and row.cancelled_at is not None
    assert _available(engine, pid) == Decimal("41")
    r = seller.post(f"/api/v1/orders/{to_reject}/reject", json={"reason": "Out of season"})
    assert r.status_code == 200 and (r.json()["status"], r.json()["previous_status"]) == ("rejected", "submitted")
    assert order_row(engine, to_reject).status == "rejected" and _available(engine, pid) == Decimal("45")
    assert [e.kind for e in events_of(engine, to_reject)][-1] == "rejected"
    assert_stock_consistent(engine, pid)
    # an accepted order can be neither cancelled nor rejected: 409 conflict, nothing changes
    before = db_state(engine, entity_ids=[world["seller"].id, world["buyer"].id])
    for client, action in ((buyer, "cancel"), (seller, "reject")):
        r = client.post(f"/api/v1/orders/{accepted}/{action}", json={"reason": "late"})
        assert r.status_code == 409 and r.json()["code"] == "conflict", r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    r = seller.post(f"/api/v1/orders/{to_cancel}/accept")  # a cancelled order can't be accepted
    assert r.status_code == 409 and r.json()["code"] == "conflict"
    assert db_state(engine, entity_ids=[world["seller"].id, world["buyer"].id]) == before
    assert order_row(engine, accepted).status == "accepted"


def test_archive_takes_a_product_off_the_marketplace(engine, session, api, world):
    seller, buyer = api.client(world["keys"]["seller"]), api.client(world["keys"]["buyer"])
    product, _ = stock(session, world["seller"], qty="10", price="7.25")
    assert buyer.get(f"/api/v1/products/{product.id}").status_code == 200
    _, viewer = new_key(engine, world["seller"].owner, role="viewer")
    r = api.client(viewer).post(f"/api/v1/products/{product.id}/archive")
    assert r.status_code == 403 and product_row(engine, product.id).listing_state == "available"
    r = seller.post(f"/api/v1/products/{product.id}/archive")
    assert r.status_code == 200, r.text
    assert (r.json()["id"], r.json()["listing_state"]) == (product.id, "archived")
    assert product_row(engine, product.id).listing_state == "archived"
    assert seller.post(f"/api/v1/products/{product.id}/archive").json()["listing_state"] == "archived"
    # the seller still has it; buyers no longer see or order it
    assert seller.get(f"/api/v1/products/{product.id}").json()["listing_state"] == "archived"
    r = buyer.get(f"/api/v1/products/{product.id}")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    since = {"scope": "marketplace", "updated_since": world["product"].created_at.isoformat(), "limit": 200}
    assert product.id not in [p["id"] for p in _all_pages(buyer, "/api/v1/products", since)]
    body = {"buyer_license_id": world["buyer"].license.id, "lines": [{"product_id": product.id, "quantity": "1"}]}
    r = buyer.post("/api/v1/orders", json=body)
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert _orders_of(engine, world["buyer"].id) == 0


def _all_pages(client, path: str, params: dict, max_pages: int = 50) -> list[dict]:
    rows, cursor = [], None
    for _ in range(max_pages):
        r = client.get(path, params=params | ({"cursor": cursor} if cursor else {}))
        assert r.status_code == 200, r.text
        rows += r.json()["data"]
        cursor = r.json()["next_cursor"]
        if not cursor:
            return rows
    raise AssertionError(f"{path}: more than {max_pages} pages")


def test_marketplace_read_shows_listed_products_with_their_price_and_hides_the_others(engine, session, api, world):
    buyer = api.client(world["keys"]["buyer"])
    listed = world["product"]
    internal, _ = stock(session, world["seller"], listing_state="internal")
    archived, _ = stock(session, world["seller"], listing_state="archived")
    params = {"scope": "marketplace", "updated_since": listed.created_at.isoformat(), "limit": 200}
    rows = {p["id"]: p for p in _all_pages(buyer, "/api/v1/products", params)}
    mine = rows[listed.id]
    assert (mine["seller_id"], mine["sku"], mine["name"]) == (world["seller"].id, listed.sku, listed.name)
    assert isinstance(mine["unit_price"], str) and mine["unit_price"] == "12.50"
    assert Decimal(mine["unit_price"]) == Decimal("12.50") and Decimal(mine["available_qty"]) == Decimal("50")
    assert mine["listing_state"] == "available"
    assert internal.id not in rows and archived.id not in rows
    assert all(p["listing_state"] in ("available", "backorder", "sample") for p in rows.values())
    detail = buyer.get(f"/api/v1/products/{listed.id}").json()
    assert detail["unit_price"] == "12.50" and detail["id"] == listed.id
    for hidden in (internal, archived):
        assert buyer.get(f"/api/v1/products/{hidden.id}").status_code == 404
    # the buyer's own catalog (scope=own) has none of the seller's products
    own = buyer.get("/api/v1/products").json()["data"]
    assert {listed.id, internal.id, archived.id}.isdisjoint(p["id"] for p in own)


def _set_times(engine, number: str, days_ago: int) -> None:
    """Date an order's creation and last change `days_ago` days back (test data for the filters)."""
    when = utcnow() - timedelta(days=days_ago)
    with unit_of_work(None, engine=engine) as s:
        s.execute(update(Order).where(Order.number == number).values(created_at=when, updated_at=when))


def test_order_list_filters_include_and_exclude_the_right_orders(engine, session, api, world):
    second_buyer = make_buyer(session)
    old = place_one(engine, world["buyer"], world["product"], "1")  # submitted, 10 days ago
    mid = place_one(engine, second_buyer, world["product"], "1")  # submitted, other buyer, 5 days ago
    new = place_one(engine, world["buyer"], world["product"], "1")  # accepted, now
    _set_times(engine, old, 10)
    _set_times(engine, mid, 5)
    advance(engine, world["seller"], new, "accept")
    seller = api.client(world["keys"]["seller"])
    now = utcnow()

    def listed(**params) -> set[str]:
        return {o["number"] for o in _all_pages(seller, "/api/v1/orders", {"limit": 200} | params)}

    def ago(days: float) -> str:
        return (now - timedelta(days=days)).isoformat()

    assert listed() == {old, mid, new}
    assert listed(status="submitted") == {old, mid}
    assert listed(status="accepted") == {new}
    assert listed(status=["accepted", "submitted"]) == {old, mid, new}
    assert listed(status="cancelled") == set()
    assert seller.get("/api/v1/orders", params={"status": "nope"}).json()["code"] == "invalid"
    assert listed(counterparty_id=second_buyer.id) == {mid}
    assert listed(counterparty_id=world["buyer"].id) == {old, new}
    assert listed(counterparty_id=world["buyer"].id, status="submitted") == {old}
    assert listed(created_from=ago(7), created_to=ago(1)) == {mid}
    assert listed(created_to=ago(7)) == {old}
    assert listed(created_from=ago(1)) == {new}
    assert listed(created_from=ago(11)) == {old, mid, new}
    assert listed(updated_since=ago(7)) == {mid, new}
    assert listed(updated_since=ago(1)) == {new}
    assert listed(updated_since=(now + timedelta(minutes=5)).isoformat()) == set()
    # the buyer's view: counterparty = the seller; side=seller has none of them
    buyer = api.client(world["keys"]["buyer"])
    as_buyer = {
        o["number"] for o in buyer.get("/api/v1/orders", params={"counterparty_id": world["seller"].id}).json()["data"]
    }
    assert as_buyer == {old, new}
    assert buyer.get("/api/v1/orders", params={"side": "seller"}).json()["data"] == []
    assert buyer.get("/api/v1/orders", params={"counterparty_id": world["other"].id}).json()["data"] == []
