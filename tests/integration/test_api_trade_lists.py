"""The trade lists of the public API over real HTTP: cursor paging (every row once, stable order),
`updated_since` (a row changed later comes back), and another business seeing none of it."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from reup_app.db import unit_of_work
from reup_app.models import Invoice, TradeRelationship
from reup_app.security.principal import system_principal
from reup_app.services.billing import payments
from reup_app.services.catalog import price_tiers
from reup_app.services.compliance import licenses
from tests.factories import make_license
from tests.integration.apikit import new_key
from tests.integration.orderkit import advance, call, make_buyer, make_seller, place_one, stock

pytestmark = [pytest.mark.mysql, pytest.mark.redis]


@pytest.fixture
def world(engine, session, api):
    seller, buyer, other = make_seller(session), make_buyer(session), make_seller(session)
    product, _ = stock(session, seller, qty="50", price="10.00")
    return {
        "seller": seller,
        "buyer": buyer,
        "other": other,
        "product": product,
        "seller_api": api.client(new_key(engine, seller.owner)[1]),
        "buyer_api": api.client(new_key(engine, buyer.owner)[1]),
        "other_api": api.client(new_key(engine, other.owner)[1]),
    }


def walk(client, path: str, limit: int, **params) -> list[dict]:
    """Every row of a list, page by page; asserts the pages are full until the last."""
    rows, cursor = [], None
    while True:
        r = client.get(path, params={**params, "limit": limit, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        body = r.json()
        rows += body["data"]
        cursor = body["next_cursor"]
        if cursor is None:
            return rows
        assert len(body["data"]) == limit


def stamp() -> str:
    """An `updated_since` strictly after everything written so far (rows carry microseconds)."""
    time.sleep(0.01)
    moment = datetime.now(UTC)
    time.sleep(0.01)
    return moment.isoformat()


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def by_update(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: (when(r["updated_at"]), r.get("id", 0)))


def shipped_invoices(engine, world, n: int) -> list[str]:
    numbers = []
    for _ in range(n):
        order = place_one(engine, world["buyer"], world["product"], "1")
        advance(engine, world["seller"], order, "accept", "fulfill", "ship")
        numbers.append("INV-" + order.split("-", 1)[-1])
    return numbers


def test_invoices_page_by_update_and_a_void_or_payment_comes_back(engine, world):
    seller, buyer = world["seller_api"], world["buyer_api"]
    numbers = shipped_invoices(engine, world, 3)
    rows = walk(seller, "/api/v1/invoices", 1)
    assert sorted(r["number"] for r in rows) == sorted(numbers)  # each once
    assert rows == by_update(rows) and all(r["updated_at"].endswith("Z") for r in rows)
    assert [r["number"] for r in walk(buyer, "/api/v1/invoices", 2, side="buyer")] == [r["number"] for r in rows]
    since = stamp()
    assert walk(seller, "/api/v1/invoices", 1, updated_since=since) == []
    with unit_of_work(None, engine=engine) as s:  # nothing in ReUp voids yet: as an admin fix would
        s.execute(select(Invoice).where(Invoice.number == numbers[2])).scalar_one().status = "void"
    due = next(r["balance"] for r in rows if r["number"] == numbers[0])
    paid = seller.post(f"/api/v1/invoices/{numbers[0]}/payments", json={"amount": due, "method": "cash"})
    assert paid.status_code == 201 and paid.json()["status"] == "paid"
    changed = walk(seller, "/api/v1/invoices", 1, updated_since=since)
    assert [(r["number"], r["status"]) for r in changed] == [(numbers[2], "void"), (numbers[0], "paid")]
    assert all(when(r["updated_at"]) > datetime.fromisoformat(since) for r in changed)
    assert buyer.get(f"/api/v1/invoices/{numbers[0]}").json()["updated_at"] == changed[1]["updated_at"]
    full = walk(seller, "/api/v1/invoices", 2)  # a change moves the invoice to the end, never twice
    assert [r["number"] for r in full] == [numbers[1], numbers[2], numbers[0]]
    assert walk(world["other_api"], "/api/v1/invoices", 50) == []


def test_payments_page_and_updated_since(engine, world):
    seller = world["seller_api"]
    [number] = shipped_invoices(engine, world, 1)
    for ref in ("a", "b"):
        r = seller.post(
            f"/api/v1/invoices/{number}/payments", json={"amount": "1.00", "method": "check", "reference": ref}
        )
        assert r.status_code == 201, r.text
    since = stamp()
    seller.post(f"/api/v1/invoices/{number}/payments", json={"amount": "1.00", "method": "check", "reference": "c"})
    rows = walk(world["buyer_api"], f"/api/v1/invoices/{number}/payments", 1)
    assert [r["reference"] for r in rows] == ["a", "b", "c"] and len({r["id"] for r in rows}) == 3
    later = walk(seller, f"/api/v1/invoices/{number}/payments", 1, updated_since=since)
    assert [r["reference"] for r in later] == ["c"]
    r = world["other_api"].get(f"/api/v1/invoices/{number}/payments")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")


def test_customers_and_vendors_page_read_and_updated_since(engine, session, world):
    seller, seller_api = world["seller"], world["seller_api"]
    place_one(engine, world["buyer"], world["product"], "1")
    accounts = [make_buyer(session), make_buyer(session)]
    for acct in accounts:  # customers by account only (no order yet)
        session.add(TradeRelationship(seller_entity_id=seller.id, buyer_entity_id=acct.id))
    session.commit()
    customers = walk(seller_api, "/api/v1/customers", 1)
    assert sorted(c["id"] for c in customers) == sorted([world["buyer"].id, *(a.id for a in accounts)])
    assert customers == by_update(customers)
    one = seller_api.get(f"/api/v1/customers/{world['buyer'].id}").json()
    assert one == next(c for c in customers if c["id"] == world["buyer"].id) and one["order_count"] == 1
    since = stamp()
    assert walk(seller_api, "/api/v1/customers", 1, updated_since=since) == []
    call(engine, seller.owner, payments.set_buyer_hold, accounts[0].id, True, "Overdue")
    changed = walk(seller_api, "/api/v1/customers", 1, updated_since=since)
    assert [(c["id"], c["on_hold"]) for c in changed] == [(accounts[0].id, True)]
    vendors = walk(world["buyer_api"], "/api/v1/vendors", 1)
    assert [v["id"] for v in vendors] == [seller.id]
    assert world["buyer_api"].get(f"/api/v1/vendors/{seller.id}").json()["order_count"] == 1
    # not counterparties: the other business, oneself, and the wrong side of a trade
    for client, path in (
        (seller_api, f"/api/v1/customers/{world['other'].id}"),
        (seller_api, f"/api/v1/customers/{seller.id}"),
        (seller_api, f"/api/v1/vendors/{world['buyer'].id}"),
        (world["other_api"], f"/api/v1/customers/{world['buyer'].id}"),
        (world["other_api"], f"/api/v1/vendors/{seller.id}"),
    ):
        r = client.get(path)
        assert r.status_code == 404 and r.json()["code"] == "not_found", (path, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    assert walk(world["other_api"], "/api/v1/customers", 50) == []
    assert walk(world["other_api"], "/api/v1/vendors", 50) == []


def test_licenses_page_and_an_expiry_comes_back(engine, session, world):
    buyer = world["buyer"]
    extra = [
        make_license(session, buyer.entity),
        make_license(session, buyer.entity, expires_on=date.today() - timedelta(days=3)),
    ]
    rows = walk(world["buyer_api"], "/api/v1/licenses", 1)
    assert sorted(r["id"] for r in rows) == sorted([buyer.license.id, *(lic.id for lic in extra)])
    assert rows == by_update(rows)
    since = stamp()
    assert walk(world["buyer_api"], "/api/v1/licenses", 1, updated_since=since) == []
    system = system_principal("test")
    with unit_of_work(system, engine=engine) as s:
        licenses.expire_past_due_licenses(s, system, datetime.now(UTC))
    later = walk(world["buyer_api"], "/api/v1/licenses", 1, updated_since=since)
    assert [(r["id"], r["status"]) for r in later] == [(extra[1].id, "expired")]
    assert buyer.license.id not in [r["id"] for r in walk(world["other_api"], "/api/v1/licenses", 50)]


def test_price_tiers_and_tier_prices_page(engine, session, world):
    seller, seller_api = world["seller"], world["seller_api"]
    tiers = [call(engine, seller.owner, price_tiers.create_tier, name) for name in ("Gold", "Bronze", "Silver")]
    rows = walk(seller_api, "/api/v1/price-tiers", 1)
    assert [r["id"] for r in rows] == [t.id for t in tiers]  # created order, not by name
    products = [world["product"], *(stock(session, seller)[0] for _ in range(2))]
    call(engine, seller.owner, price_tiers.set_tier_price, tiers[0].id, products[1].id, "8.00")
    prices = walk(seller_api, f"/api/v1/price-tiers/{tiers[0].id}/prices", 2)
    assert [p["product_id"] for p in prices] == [p.id for p in products]
    assert [p["tier_price"] for p in prices] == [None, "8.00", None]
    assert walk(seller_api, "/api/v1/price-tiers", 1)[0]["product_count"] == 1
    assert walk(world["other_api"], "/api/v1/price-tiers", 50) == []
    r = world["other_api"].get(f"/api/v1/price-tiers/{tiers[0].id}/prices")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")


def test_bad_cursor_and_limit_are_422(world):
    for params in ({"cursor": "nope"}, {"limit": 0}, {"limit": 201}, {"updated_since": "2026-01-01T00:00:00"}):
        r = world["seller_api"].get("/api/v1/customers", params=params)
        assert r.status_code == 422, (params, r.text)
