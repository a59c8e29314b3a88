"""GET /api/v1/pos/stores/{id}/suggestions over real HTTP: a store synced from the Dutchie sandbox gets
the same suggestions as /pos (the known math: 2 a day, 6 on hand, 3 + 14 days), as Decimal strings;
roles without the cart, other businesses and wholesalers are refused."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from sqlmodel import Session

from reup_app.models import Entity
from reup_app.services.pos import suggestions
from tests.dutchie_kit import disable_sandbox_connections, make_store, sync_all
from tests.factories import make_entity, make_license, make_lot, make_member, make_product
from tests.integration.apikit import new_key
from tests.integration.orderkit import call

pytestmark = [pytest.mark.mysql, pytest.mark.redis]


@pytest.fixture(autouse=True)
def _disable_connections_after(engine, dutchie_sandbox):
    yield
    disable_sandbox_connections(engine, dutchie_sandbox.base_url)


def test_store_suggestions_match_the_pos_page_and_are_only_the_stores(session, engine, dutchie_sandbox, api):
    sb = dutchie_sandbox
    seller = make_entity(session, "wholesaler")
    seller_lic = make_license(session, seller)
    fast = make_product(session, seller, sku=f"F-{uuid.uuid4().hex[:8]}", unit_price=D("12.00"))
    slow = make_product(session, seller, sku=f"L-{uuid.uuid4().hex[:8]}")
    make_lot(session, fast, seller_lic, D("500"))
    make_lot(session, slow, seller_lic, D("500"))
    products = [{"productId": 1, "sku": fast.sku}, {"productId": 2, "sku": slow.sku}, {"productId": 3, "sku": "OWN"}]
    stock = [{"product_id": 1, "quantity": 6}, {"product_id": 2, "quantity": 100}]
    store = make_store(session, sb, products=products, stock=stock)
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    for age in range(1, 29):  # 2 a day for 28 days: velocity exactly 2.0
        sb.sale(store.key, 1, 2, at=(today - timedelta(days=age)).isoformat())
    sb.sale(store.key, 2, 1, at=(today - timedelta(days=3)).isoformat())
    runs = sync_all(engine, store.connection)
    assert all(r.status == "succeeded" for r in runs.values()), [r.error for r in runs.values()]

    _, secret = new_key(engine, store.owner, role="owner")
    r = api.client(secret).get(f"/api/v1/pos/stores/{store.license.id}/suggestions")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["store_id"] == store.license.id and body["license_number"] == store.license.number
    assert (body["target_cover_days"], body["matched_products"], body["unmatched_products"]) == (14, 2, 1)
    [s] = body["data"]  # product 2: 100 on hand covers far more than lead + target
    assert s["product_id"] == fast.id and s["pos_sku"] == fast.sku and s["seller_name"] == seller.name
    assert D(s["on_hand"]) == 6 and s["velocity_per_day"] == "2.000" and s["days_of_cover"] == "3.0"
    assert (s["lead_days"], s["target_days"]) == (suggestions.DEFAULT_LEAD_DAYS, 14)
    assert s["quantity"] == "28" and s["unit_price"] == "12.00" and s["in_stock"] is True
    assert s["offer_reason"] == "cheapest in stock" and "order 28" in s["math"]
    assert len(s["weekly_units"]) == suggestions.TREND_WEEKS and sum(s["weekly_units"]) == 56
    # exactly what the page's service computes for the owner
    [page] = call(engine, store.owner, suggestions.store_suggestions, store.license.id).items
    assert (page.product_id, page.quantity, page.math) == (s["product_id"], D(s["quantity"]), s["math"])

    # refused: a key whose role has no cart, another retailer, a wholesaler, a licence that is not a store
    _, viewer = new_key(engine, store.owner, role="viewer")
    other_retailer = make_entity(session, "retailer")
    _u, other_owner = make_member(session, other_retailer, "owner")
    _, intruder = new_key(engine, other_owner)
    _u, seller_owner = make_member(session, seller, "owner")
    _, wholesaler = new_key(engine, seller_owner)
    url = f"/api/v1/pos/stores/{store.license.id}/suggestions"
    for key, status in ((viewer, 403), (intruder, 403), (wholesaler, 403)):
        refused = api.client(key).get(url)
        assert refused.status_code == status and refused.json()["code"] == "forbidden", refused.text
        assert "velocity" not in refused.text
    assert api.client(secret).get("/api/v1/pos/stores/999999999/suggestions").json()["code"] == "not_found"
    assert api.client(secret).get(f"/api/v1/pos/stores/{seller_lic.id}/suggestions").status_code in (403, 404)
    with Session(engine, expire_on_commit=False) as s:
        own = s.get(Entity, store.entity_id)
        lab = make_license(s, own, license_type="testing_laboratory")
    not_a_store = api.client(secret).get(f"/api/v1/pos/stores/{lab.id}/suggestions")
    assert not_a_store.status_code == 409 and not_a_store.json()["code"] == "conflict"
    assert api.client(secret).get("/api/v1/pos/stores/0/suggestions").json()["code"] == "validation_error"
    assert api.client().get(url).status_code == 401
