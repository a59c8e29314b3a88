"""The Dutchie syncs of one store against the sandbox over a real socket, into MySQL: matching by
SKU, METRC label and brand + name (a manual mapping kept), products incremental with the overlap,
sales in daily windows, a key of another location refused, and the suggestion math on known data
with Add to cart."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import select, update
from sqlmodel import Session

from reup_app.models import CartItem, IntegrationConnection, PosDailySales, PosProduct
from reup_app.services.ordering import pos_reorder
from reup_app.services.pos import check, connections, matching, suggestions
from tests.dutchie_kit import make_store, sync_all
from tests.factories import make_brand, make_entity, make_license, make_lot, make_product
from tests.integration.orderkit import call


@pytest.fixture(autouse=True)
def _disable_connections_after(engine, dutchie_sandbox):
    """Other tests' sync passes walk every enabled connection: leave none of ours enabled."""
    yield
    with Session(engine) as s:
        s.execute(
            update(IntegrationConnection)
            .where(IntegrationConnection.base_url == dutchie_sandbox.base_url)
            .values(enabled=False)
        )
        s.commit()


def pos_rows(engine, license_id: int) -> dict[int, PosProduct]:
    with Session(engine) as s:
        rows = s.execute(select(PosProduct).where(PosProduct.license_id == license_id)).scalars().all()
        return {r.pos_product_id: r for r in rows}


def test_sync_matches_by_sku_label_and_brand_name_and_keeps_a_manual_mapping(session, engine, dutchie_sandbox):
    sb = dutchie_sandbox
    seller = make_entity(session, "wholesaler")
    seller_lic = make_license(session, seller)
    brand = make_brand(session, seller, name=f"Brand {uuid.uuid4().hex[:6]}")
    by_sku = make_product(session, seller, sku=f"T-{uuid.uuid4().hex[:10]}")
    by_label = make_product(session, seller)
    lot = make_lot(session, by_label, seller_lic)
    by_name = make_product(session, seller, brand, name=f"Gelato {uuid.uuid4().hex[:6]}")
    products = [
        {"productId": 1, "sku": by_sku.sku, "productName": "Whatever the store calls it"},
        {"productId": 2, "sku": "OWN-2", "productName": "Store name 2"},
        {"productId": 3, "sku": "OWN-3", "productName": by_name.name.upper(), "brandName": brand.name.lower()},
        {"productId": 4, "sku": "OWN-4", "productName": "House lighter"},
    ]
    stock = [{"product_id": 2, "quantity": 5, "label": lot.package_label}, {"product_id": 4, "quantity": 9}]
    store = make_store(session, sb, products=products, stock=stock)
    runs = sync_all(engine, store.connection)
    assert {k: r.status for k, r in runs.items()} == dict.fromkeys(runs, "succeeded"), [r.error for r in runs.values()]
    rows = pos_rows(engine, store.license.id)
    assert {pid: (r.match_rule, r.matched_product_id) for pid, r in rows.items()} == {
        1: ("sku", by_sku.id),
        2: ("label", by_label.id),
        3: ("brand_name", by_name.id),
        4: ("none", None),
    }
    assert rows[2].on_hand == 5 and rows[4].on_hand == 9 and rows[1].on_hand == 0
    # the mapping screen: the unmatched one, mapped by hand, survives the next sync
    [left] = call(engine, store.owner, matching.unmatched, store.license.id)
    assert left.name == "House lighter"
    assert [c.product_id for c in call(engine, store.owner, matching.candidates, store.license.id, by_sku.sku)] == [
        by_sku.id
    ]
    call(engine, store.owner, matching.map_product, store.license.id, left.id, by_sku.id)
    sync_all(engine, store.connection)
    assert pos_rows(engine, store.license.id)[4].match_rule == "manual"
    assert call(engine, store.owner, matching.unmatched, store.license.id) == []


def test_products_sync_incrementally_with_an_overlap(session, engine, dutchie_sandbox):
    sb = dutchie_sandbox
    products = [{"productId": i, "sku": f"S{i}", "productName": f"P{i}"} for i in range(1, 6)]
    store = make_store(session, sb, products=products)
    first = sync_all(engine, store.connection)["dutchie.products"]
    assert first.items_seen == 5
    sb.change_product(store.key, 3, productName="Renamed")
    second = sync_all(engine, store.connection)["dutchie.products"]
    # what changed, plus the newest of the first run (at the cursor, so inside the 60 s overlap)
    assert second.items_seen == 2
    assert pos_rows(engine, store.license.id)[3].name == "Renamed"


def test_sales_land_in_daily_windows_and_a_resync_replaces_the_day(session, engine, dutchie_sandbox):
    sb = dutchie_sandbox
    store = make_store(session, sb, products=[{"productId": 1, "sku": "A"}, {"productId": 2, "sku": "B"}])
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    d5, d2 = today - timedelta(days=5), today - timedelta(days=2)
    sb.sale(store.key, 1, 3, at=(d5 + timedelta(hours=20)).isoformat())
    sb.sale(store.key, 1, 1, at=(d5 + timedelta(hours=21)).isoformat())
    sb.sale(store.key, 2, 4, at=(d2 + timedelta(hours=1)).isoformat())
    runs = sync_all(engine, store.connection)
    assert runs["dutchie.sales"].status == "succeeded"
    with Session(engine) as s:
        got = {
            (r.pos_product_id, r.day): r.units
            for r in s.execute(select(PosDailySales).where(PosDailySales.license_id == store.license.id)).scalars()
        }
    assert got == {(1, d5.date()): D(4), (2, d2.date()): D(4)}
    calls = sb.calls()["by_path"]["GET /reporting/transactions"]
    assert calls >= 90  # the first sync walks 90 daily windows
    sb.sale(store.key, 2, 1, at=(today - timedelta(hours=20)).isoformat())  # yesterday
    sync_all(engine, store.connection)
    assert sb.calls()["by_path"]["GET /reporting/transactions"] - calls <= 3  # only from the cursor - 1 day


def test_a_key_for_another_location_is_refused(session, engine, dutchie_sandbox):
    sb = dutchie_sandbox
    other = make_store(session, sb, products=[{"productId": 1, "sku": "A"}], connect=False)
    store = make_store(session, sb, products=[{"productId": 9, "sku": "Z"}], connect=False)
    call(engine, store.owner, connections.connect_store, store.license.id, other.key)
    with Session(engine) as s:  # a platform admin would set the base URL; tests write it directly
        s.execute(
            update(IntegrationConnection)
            .where(IntegrationConnection.license_id == store.license.id)
            .values(base_url=sb.base_url)
        )
        s.commit()
        conn = s.execute(
            select(IntegrationConnection).where(IntegrationConnection.license_id == store.license.id)
        ).scalar_one()
    result = check.test_store(store.owner, store.license.id, engine=engine)
    assert result.ok is False and other.license.number in result.warning and result.location_name
    runs = sync_all(engine, conn)
    assert all(r.status == "failed" and "not " + store.license.number in r.error for r in runs.values())
    assert pos_rows(engine, store.license.id) == {}
    view = call(engine, store.owner, connections.store_view, store.license.id)
    assert view.status == "error" and view.license_warning


def test_suggestion_math_on_known_data_and_add_to_cart(session, engine, dutchie_sandbox):
    sb = dutchie_sandbox
    seller = make_entity(session, "wholesaler")
    seller_lic = make_license(session, seller)
    fast = make_product(session, seller, sku=f"F-{uuid.uuid4().hex[:8]}", unit_price=D("12.00"))
    slow = make_product(session, seller, sku=f"L-{uuid.uuid4().hex[:8]}")
    make_lot(session, fast, seller_lic, D("500"))
    make_lot(session, slow, seller_lic, D("500"))
    products = [{"productId": 1, "sku": fast.sku}, {"productId": 2, "sku": slow.sku}]
    store = make_store(
        session, sb, products=products, stock=[{"product_id": 1, "quantity": 6}, {"product_id": 2, "quantity": 100}]
    )
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    for age in range(1, 29):  # 2 a day for 28 days: velocity exactly 2.0 whatever the weights
        sb.sale(store.key, 1, 2, at=(today - timedelta(days=age)).isoformat())
    sb.sale(store.key, 2, 1, at=(today - timedelta(days=3)).isoformat())
    sync_all(engine, store.connection)
    result = call(engine, store.owner, suggestions.store_suggestions, store.license.id)
    [s] = result.items  # product 2: 100 on hand covers far more than lead + target
    assert s.product_id == fast.id and s.velocity == pytest.approx(2.0)
    assert s.days_of_cover == 3.0 and s.lead_days == suggestions.DEFAULT_LEAD_DAYS and s.target_days == 14
    assert s.quantity == D(2 * (3 + 14) - 6)  # 28
    assert "velocity 2.00/day" in s.math and "order 28" in s.math and s.offer_reason == "cheapest in stock"
    assert len(s.trend) == suggestions.TREND_WEEKS and s.trend[-1] == 14 and sum(s.trend) == 56
    # the retailer's target cover changes the math
    call(engine, store.owner, connections.update_settings, store.license.id, target_cover_days=7)
    [s7] = call(engine, store.owner, suggestions.store_suggestions, store.license.id).items
    assert s7.quantity == D(2 * (3 + 7) - 6)
    added = call(engine, store.owner, pos_reorder.add_suggestions_to_cart, store.license.id, None)
    assert added.added == 1 and added.skipped == []
    with Session(engine) as s_:
        cart = s_.execute(select(CartItem).where(CartItem.buyer_entity_id == store.entity_id)).scalars().all()
    assert [(c.product_id, c.quantity) for c in cart] == [(fast.id, D(14))]


def test_weighted_velocity_weights_recent_days_more():
    recent = suggestions.weighted_velocity({1: D(7)}, 28)
    old = suggestions.weighted_velocity({28: D(7)}, 28)
    assert recent > 5 * old
    assert suggestions.weighted_velocity({a: D(3) for a in range(1, 29)}, 28) == pytest.approx(3.0)
    assert suggestions.order_quantity(2.0, D(6), 3, 14, D(1), 12) == D(36)  # 28 rounded up to cases of 12
