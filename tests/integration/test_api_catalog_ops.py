"""Public API operations added after the audit (products and images, inventory lots, price tiers,
order lines and messages) over real HTTP: each works for its owner, is refused (404/403) for
another business's key without changing anything, POSTs honour Idempotency-Key, and lists page
with the same opaque cursor as GET /api/v1/orders. `world` (and PNG) come from test_public_api.py;
`api` here is its server, started with a media directory of its own so stored files can be checked."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from reup_app.db import unit_of_work
from reup_app.models import PriceTier, ProductImage
from reup_app.services.catalog import images
from tests.integration import test_public_api as public_api
from tests.integration.apikit import ApiServer, new_key
from tests.integration.orderkit import call, db_state, place_one, stock

pytestmark = [pytest.mark.mysql, pytest.mark.redis]
PNG = public_api.PNG
world = public_api.world  # the fixture: the seller, buyer and another seller with their keys


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("api-media")


@pytest.fixture(scope="module")
def api(mysql_url, redis_url, media_dir):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REUP_MEDIA_DIR", str(media_dir))  # the server process's media root
        server = ApiServer(mysql_url, redis_url)
    yield server
    server.stop()


def _idem() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def _image_keys(engine, product_id: int) -> dict[int, str]:
    with unit_of_work(None, engine=engine) as s:
        rows = s.execute(
            select(ProductImage.id, ProductImage.storage_key).where(ProductImage.product_id == product_id)
        ).all()
    return {i: k for i, k in rows}


def test_images_page_and_delete_removes_row_file_and_page_image(engine, session, api, world, media_dir):
    seller, buyer = api.client(world["keys"]["seller"]), api.client(world["keys"]["buyer"])
    intruder = api.client(world["keys"]["other"])
    pid = world["product"].id  # publicly listed: the buyer sees its images on the marketplace
    octet = {"Content-Type": "application/octet-stream"}
    uploaded = []
    for _ in range(3):
        r = seller.post(f"/api/v1/products/{pid}/images", content=PNG, headers=octet | _idem())
        assert r.status_code == 201, r.text
        uploaded.append(r.json()["id"])

    first = seller.get(f"/api/v1/products/{pid}/images", params={"limit": 2}).json()
    assert [i["id"] for i in first["data"]] == uploaded[:2] and first["next_cursor"]
    rest = seller.get(f"/api/v1/products/{pid}/images", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [i["id"] for i in rest["data"]] == uploaded[2:] and rest["next_cursor"] is None
    assert [i["id"] for i in buyer.get(f"/api/v1/products/{pid}/images").json()["data"]] == uploaded
    bad = seller.get(f"/api/v1/products/{pid}/images", params={"cursor": "garbage"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid"

    victim = uploaded[1]
    stored = _image_keys(engine, pid)
    assert (media_dir / stored[victim]).is_file()
    # another business, the buyer, a viewer key of the seller, the seller through another of its
    # products: refused, and nothing is removed
    _, viewer = new_key(engine, world["seller"].owner, role="viewer")
    other_own, _ = stock(session, world["seller"])
    refusals = [
        intruder.delete(f"/api/v1/products/{pid}/images/{victim}"),
        buyer.delete(f"/api/v1/products/{pid}/images/{victim}"),
        api.client(viewer).delete(f"/api/v1/products/{pid}/images/{victim}"),
        seller.delete(f"/api/v1/products/{other_own.id}/images/{victim}"),
    ]
    assert [r.status_code for r in refusals] == [404, 404, 403, 404], [r.text for r in refusals]
    assert _image_keys(engine, pid) == stored and (media_dir / stored[victim]).is_file()

    r = seller.delete(f"/api/v1/products/{pid}/images/{victim}")
    assert r.status_code == 204 and r.content == b""
    assert seller.delete(f"/api/v1/products/{pid}/images/{victim}").status_code == 404
    left = [uploaded[0], uploaded[2]]
    assert [i["id"] for i in seller.get(f"/api/v1/products/{pid}/images").json()["data"]] == left
    assert [i["id"] for i in buyer.get(f"/api/v1/products/{pid}/images").json()["data"]] == left
    assert sorted(_image_keys(engine, pid)) == left
    assert not (media_dir / stored[victim]).exists()  # the stored file went with the row
    assert (media_dir / stored[uploaded[0]]).is_file()
    # what the pages show: the seller's product editor and the marketplace's product images
    assert [i.id for i in call(engine, world["seller"].owner, images.list_images, pid)] == left
    public = call(engine, world["buyer"].owner, images.public_image_urls, [pid])[pid]
    assert public == [images.image_url(pid, i) for i in left]


def test_read_one_inventory_lot(engine, api, world):
    lot = world["lot"]
    r = api.client(world["keys"]["seller"]).get(f"/api/v1/inventory-lots/{lot.id}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["id"], body["product_id"], body["package_label"]) == (lot.id, lot.product_id, lot.package_label)
    listed = api.client(world["keys"]["seller"]).get("/api/v1/inventory-lots").json()["data"]
    assert [x for x in listed if x["id"] == lot.id] == [body]
    for who in ("other", "buyer"):
        r = api.client(world["keys"][who]).get(f"/api/v1/inventory-lots/{lot.id}")
        assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert api.client(world["keys"]["seller"]).get("/api/v1/inventory-lots/999999999").status_code == 404


def _tiers(engine, entity_id: int) -> list[str]:
    with unit_of_work(None, engine=engine) as s:
        return list(
            s.execute(select(PriceTier.name).where(PriceTier.seller_entity_id == entity_id).order_by(PriceTier.id))
            .scalars()
            .all()
        )


def test_create_price_tier_is_idempotent_and_per_business(engine, api, world):
    seller, other = api.client(world["keys"]["seller"]), api.client(world["keys"]["other"])
    headers = _idem()
    first = seller.post("/api/v1/price-tiers", json={"name": "Wholesale A"}, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json() | {"id": 0} == {"id": 0, "name": "Wholesale A", "product_count": 0, "customer_count": 0}
    again = seller.post("/api/v1/price-tiers", json={"name": "Wholesale A"}, headers=headers)
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    assert _tiers(engine, world["seller"].id) == ["Wholesale A"]
    listed = seller.get("/api/v1/price-tiers").json()["data"]
    assert [t["id"] for t in listed] == [first.json()["id"]]
    dup = seller.post("/api/v1/price-tiers", json={"name": "Wholesale A"}, headers=_idem())
    assert dup.status_code == 409 and dup.json()["code"] == "conflict"

    # another seller's tier of the same name is its own; it never shows up for this seller
    mine = other.post("/api/v1/price-tiers", json={"name": "Wholesale A"}, headers=_idem())
    assert mine.status_code == 201 and mine.json()["id"] != first.json()["id"]
    assert [t["id"] for t in seller.get("/api/v1/price-tiers").json()["data"]] == [first.json()["id"]]
    # a retailer has no price tiers; a viewer key may not manage pricing: nothing is created
    _, viewer = new_key(engine, world["seller"].owner, role="viewer")
    refused = [
        api.client(world["keys"]["buyer"]).post("/api/v1/price-tiers", json={"name": "B"}, headers=_idem()),
        api.client(viewer).post("/api/v1/price-tiers", json={"name": "V"}, headers=_idem()),
    ]
    assert [r.status_code for r in refused] == [403, 403]
    assert _tiers(engine, world["seller"].id) == ["Wholesale A"] and _tiers(engine, world["buyer"].id) == []
    bad = seller.post("/api/v1/price-tiers", json={"name": ""}, headers=_idem())
    assert bad.status_code == 422


def test_order_lines_and_paged_messages(engine, api, world):
    seller, buyer = api.client(world["keys"]["seller"]), api.client(world["keys"]["buyer"])
    intruder = api.client(world["keys"]["other"])
    number = place_one(engine, world["buyer"], world["product"], "3")
    detail = seller.get(f"/api/v1/orders/{number}").json()
    for client in (seller, buyer):
        r = client.get(f"/api/v1/orders/{number}/lines")
        assert r.status_code == 200, r.text
        assert r.json() == {"data": detail["lines"], "next_cursor": None}
    assert detail["lines"][0]["product_id"] == world["product"].id

    sent = []
    for i, client in enumerate((buyer, seller, buyer)):
        r = client.post(f"/api/v1/orders/{number}/messages", json={"body": f"m{i}"}, headers=_idem())
        assert r.status_code == 201, r.text
        sent.append(r.json())
    first = seller.get(f"/api/v1/orders/{number}/messages", params={"limit": 2}).json()
    assert first["data"] == sent[:2] and first["next_cursor"]
    rest = buyer.get(f"/api/v1/orders/{number}/messages", params={"limit": 2, "cursor": first["next_cursor"]})
    assert rest.json() == {"data": sent[2:], "next_cursor": None}
    assert seller.get(f"/api/v1/orders/{number}/messages").json() == {"data": sent, "next_cursor": None}
    bad = seller.get(f"/api/v1/orders/{number}/messages", params={"cursor": "garbage"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid"

    before = db_state(engine, entity_ids=[world["seller"].id, world["buyer"].id])
    for path in ("lines", "messages"):
        r = intruder.get(f"/api/v1/orders/{number}/{path}")
        assert r.status_code == 404 and r.json()["code"] == "not_found", r.text
    assert db_state(engine, entity_ids=[world["seller"].id, world["buyer"].id]) == before


def test_archive_is_the_documented_delete_and_new_operations_are_listed(api):
    spec = api.client().get("/api/v1/openapi.json").json()
    paths = spec["paths"]
    archive = paths["/api/v1/products/{product_id}/archive"]["post"]
    assert "delete" in archive["summary"].lower() and "never hard-deleted" in archive["description"]
    assert "delete" not in paths["/api/v1/products/{product_id}"]  # no hard delete, as in the pages
    assert "delete" in paths["/api/v1/products/{product_id}/images/{image_id}"]
    assert "get" in paths["/api/v1/inventory-lots/{lot_id}"]
    assert {"get", "post"} <= set(paths["/api/v1/price-tiers"])
    assert "get" in paths["/api/v1/orders/{number}/lines"]
    for path in ("/api/v1/products/{product_id}/images", "/api/v1/orders/{number}/messages"):
        assert {"cursor", "limit"} <= {p["name"] for p in paths[path]["get"]["parameters"]}
