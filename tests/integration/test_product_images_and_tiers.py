"""Product images (real type by magic bytes, size limit, private storage, the authorized route) and
price tiers configured by the seller and used by the buyer's cart and checkout."""

from __future__ import annotations

import io
import struct
import time
import zlib
from decimal import Decimal

import pytest
from PIL import Image
from sqlalchemy import select
from starlette.testclient import TestClient

from reup_app.api.routes import build_api
from reup_app.errors import Conflict, NotFound, PermissionDenied, ValidationError
from reup_app.models import ProductImage, TradeRelationship
from reup_app.services.catalog import images as product_images
from reup_app.services.catalog import price_tiers, products
from reup_app.services.ordering import cart, cart_view, checkout_flow, order_views
from reup_app.settings import reset_settings_cache
from tests.integration.orderkit import call, fresh, key, make_buyer, make_seller, stock

pytestmark = pytest.mark.mysql

D = Decimal


def png(width: int = 3, height: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def encoded(fmt: str, width: int, height: int, noise: bool = False) -> bytes:
    """A real image made with Pillow (noise: photo-like, so it does not compress to nothing)."""
    image = (
        Image.effect_noise((width, height), 60).convert("RGB") if noise else Image.new("RGB", (width, height), "red")
    )
    out = io.BytesIO()
    image.save(out, fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return out.getvalue()


JPEG = encoded("JPEG", 64, 32)
WEBP = encoded("WEBP", 40, 30)
# right first bytes, but no picture inside: the magic-byte check passes, decoding does not
FAKE_JPEG = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    b"\xff\xc0\x00\x11\x08\x00\x20\x00\x40\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01\xff\xd9"
)


@pytest.fixture
def media(tmp_path, monkeypatch):
    monkeypatch.setenv("REUP_MEDIA_DIR", str(tmp_path / "media"))
    reset_settings_cache()
    yield tmp_path / "media"
    monkeypatch.delenv("REUP_MEDIA_DIR")
    reset_settings_cache()


@pytest.fixture
def client(engine):
    return TestClient(build_api())


def test_upload_checks_real_type_and_size_and_stores_privately(engine, session, media):
    seller = make_seller(session)
    product, _ = stock(session, seller)
    image = call(engine, seller.p["sales"], product_images.add_image, product.id, "bud.png", png(3, 2))
    assert (image.content_type, image.width, image.height) == ("image/png", 3, 2)
    with fresh(engine) as s:
        row = s.get(ProductImage, image.id)
    assert row.storage_key.startswith(f"{seller.id}/") and (media / row.storage_key).read_bytes() == png(3, 2)
    jpeg = call(engine, seller.owner, product_images.add_image, product.id, "b.jpg", JPEG)
    assert (jpeg.content_type, jpeg.width, jpeg.height) == ("image/jpeg", 64, 32)
    webp = call(engine, seller.owner, product_images.add_image, product.id, "c.webp", WEBP)
    assert (webp.content_type, webp.width, webp.height) == ("image/webp", 40, 30)
    # the extension is not trusted: an HTML page named .png is refused, so is an oversized image
    for name, data, message in (
        ("evil.png", b"<html><script>alert(1)</script></html>", "not a PNG, JPEG or WebP"),
        ("big.png", png() + b"\x00" * product_images.MAX_IMAGE_BYTES, "at most 5 MB"),
        ("empty.png", b"", "empty"),
        ("broken.jpg", FAKE_JPEG, "broken.jpg could not be read as an image"),
    ):
        with pytest.raises(ValidationError, match=message):
            call(engine, seller.owner, product_images.add_image, product.id, name, data)
    assert len(call(engine, seller.p["viewer"], product_images.list_images, product.id)) == 3
    # another seller can neither add nor delete, nor list
    other = make_seller(session)
    with pytest.raises(NotFound):
        call(engine, other.owner, product_images.add_image, product.id, "x.png", png())
    with pytest.raises(NotFound):
        call(engine, other.owner, product_images.delete_image, image.id)
    with pytest.raises(PermissionDenied):
        call(engine, seller.p["viewer"], product_images.add_image, product.id, "x.png", png())
    call(engine, seller.owner, product_images.delete_image, image.id)
    assert not (media / row.storage_key).exists()
    assert [i.id for i in call(engine, seller.owner, product_images.list_images, product.id)] == [jpeg.id, jpeg.id + 1]


def _files(media) -> set[str]:
    return {str(p.relative_to(media)) for p in media.rglob("*") if p.is_file()} if media.exists() else set()


class _Abort(Exception):
    pass


def test_image_files_follow_their_rows_transaction(engine, session, media):
    """An upload whose transaction rolls back (deadlock retry, lost idempotency race, a later error)
    leaves no files; a deletion that rolls back keeps them; a committed deletion removes them."""
    from reup_app.db import unit_of_work

    seller = make_seller(session)
    product, _ = stock(session, seller)
    big = encoded("JPEG", 1200, 900, noise=True)  # big enough for sized variants
    with pytest.raises(_Abort), unit_of_work(seller.owner, engine=engine) as s:
        product_images.add_image(s, seller.owner, product.id, "lost.jpg", big)
        assert _files(media)  # written before the commit
        raise _Abort
    assert _files(media) == set()

    kept = call(engine, seller.owner, product_images.add_image, product.id, "kept.jpg", big)
    stored = _files(media)
    assert len(stored) >= 2  # the original and its variants
    with pytest.raises(_Abort), unit_of_work(seller.owner, engine=engine) as s:
        product_images.delete_image(s, seller.owner, kept.id)
        raise _Abort
    assert _files(media) == stored  # the row is still there: so are its files
    call(engine, seller.owner, product_images.delete_image, kept.id)
    assert _files(media) == set()


def test_route_serves_public_images_to_anyone_and_private_ones_only_with_a_ticket(engine, session, media, client):
    seller = make_seller(session)
    listed, _ = stock(session, seller)
    hidden, _ = stock(session, seller, listing_state="internal")
    pub = call(engine, seller.owner, product_images.add_image, listed.id, "a.png", png())
    priv = call(engine, seller.owner, product_images.add_image, hidden.id, "b.png", png(5, 5))

    r = client.get(f"/api/products/{listed.id}/images/{pub.id}")
    assert r.status_code == 200 and r.content == png() and r.headers["content-type"] == "image/png"
    assert "public" in r.headers["cache-control"] and pub.url == f"/api/products/{listed.id}/images/{pub.id}"

    bare = f"/api/products/{hidden.id}/images/{priv.id}"
    assert client.get(bare).status_code == 404  # no ticket
    assert priv.url.startswith(bare + "?t=")
    r = client.get(priv.url)
    assert r.status_code == 200 and r.content == png(5, 5) and "no-store" in r.headers["cache-control"]
    # a ticket is for one image, can't be forged or reused after it expires
    ticket = priv.url.split("?t=")[1]
    assert client.get(f"/api/products/{listed.id}/images/{priv.id}?t={ticket}").status_code == 404
    assert client.get(bare + "?t=" + ticket[:-1] + ("0" if ticket[-1] != "0" else "1")).status_code == 404
    old = product_images.make_ticket(hidden.id, priv.id, now=time.time() - product_images.TICKET_SECONDS - 5)
    assert client.get(f"{bare}?t={old}").status_code == 404
    with fresh(engine) as s:
        assert product_images.public_image_urls(s, None, [listed.id, hidden.id]) == {listed.id: [pub.url]}
    # a public product's image paired with another product id is not found either
    assert client.get(f"/api/products/{hidden.id}/images/{pub.id}").status_code == 404
    # archiving makes a public image private
    call(engine, seller.owner, products.archive_product, listed.id)
    assert client.get(f"/api/products/{listed.id}/images/{pub.id}").status_code == 404


def test_upload_makes_sized_webp_variants_the_route_serves_and_the_cards_use(engine, session, media, client):
    from reup_app.state.catalog import CatalogState
    from tests.integration.statekit import Tab, run
    from tests.integration.test_cart_page import email_of

    seller = make_seller(session)
    product, _ = stock(session, seller, name=f"Thumb Test {time.time_ns()}")
    photo = encoded("JPEG", 1600, 1200, noise=True)
    row = call(engine, seller.owner, product_images.add_image, product.id, "photo.jpg", photo)
    with fresh(engine) as s:
        stored = s.get(ProductImage, row.id)
    assert stored.variant_widths == "320,800"
    for width, height in ((320, 240), (800, 600)):
        data = (media / f"{stored.storage_key}.w{width}.webp").read_bytes()
        with Image.open(io.BytesIO(data)) as variant:
            assert (variant.format, variant.size) == ("WEBP", (width, height))
    assert row.srcset == f"{row.url}?w=320 320w, {row.url}?w=800 800w, {row.url} 1600w"

    buyer = make_buyer(session)
    page = (
        Tab().sign_in(email_of(session, buyer.p["buyer"])).at("/marketplace", {"q": product.name}).state(CatalogState)
    )
    run(page.load())
    [card] = [c for c in page.items if c["id"] == str(product.id)]
    assert card["image"] == row.url and card["srcset"] == row.srcset
    small_url = card["srcset"].split(" ")[0]
    r = client.get(small_url)
    assert r.status_code == 200 and r.headers["content-type"] == "image/webp" and len(r.content) < len(photo) / 5
    assert client.get(card["image"]).content == photo
    assert client.get(f"{row.url}?w=500").status_code == 404  # only the stored widths
    # deleting the image removes its variants too
    call(engine, seller.owner, product_images.delete_image, row.id)
    assert not list((media / str(seller.id)).glob("*.webp"))


def test_tiers_configured_by_the_seller_set_the_buyers_cart_and_order_price(engine, session):
    seller = make_seller(session)
    buyer, stranger = make_buyer(session), make_buyer(session)
    p1, _ = stock(session, seller, price="20.00")
    p2, _ = stock(session, seller, price="8.00")
    session.add(TradeRelationship(seller_entity_id=seller.id, buyer_entity_id=buyer.id))
    session.commit()

    tier = call(engine, seller.p["sales"], price_tiers.create_tier, "Volume")
    with pytest.raises(Conflict):
        call(engine, seller.owner, price_tiers.create_tier, " Volume ")
    assert call(engine, seller.owner, price_tiers.set_tier_price, tier.id, p1.id, "17.50") == D("17.50")
    with pytest.raises(ValidationError):
        call(engine, seller.owner, price_tiers.set_tier_price, tier.id, p2.id, "-1")
    customers = call(engine, seller.owner, price_tiers.list_customers)
    assert [(c.buyer_entity_id, c.price_tier_id) for c in customers] == [(buyer.id, None)]
    assert call(engine, seller.owner, price_tiers.assign_tier, buyer.id, tier.id).price_tier_name == "Volume"
    with pytest.raises(NotFound):  # no trade relationship with this one
        call(engine, seller.owner, price_tiers.assign_tier, stranger.id, tier.id)
    rows = {r.product_id: r.tier_price for r in call(engine, seller.owner, price_tiers.tier_prices, tier.id)}
    assert rows == {p1.id: D("17.50"), p2.id: None}

    call(engine, buyer.p["buyer"], cart.add_to_cart, p1.id, "2")
    call(engine, buyer.p["buyer"], cart.add_to_cart, p2.id, "1")
    prices = {ln.product_id: ln.unit_price for ln in call(engine, buyer.p["buyer"], cart_view.get_cart).groups[0].lines}
    assert prices == {p1.id: D("17.50"), p2.id: D("8.00")}
    result = call(
        engine, buyer.p["buyer"], checkout_flow.checkout, buyer_license_id=buyer.license.id, idempotency_key=key()
    )
    detail = call(engine, seller.owner, order_views.get_order, result.orders[0].number)
    assert detail.subtotal == D("43.00")

    # removing the price / the tier puts the buyer back on list price
    assert call(engine, seller.owner, price_tiers.set_tier_price, tier.id, p1.id, "") is None
    call(engine, seller.owner, price_tiers.set_tier_price, tier.id, p1.id, "19")
    call(engine, seller.owner, price_tiers.delete_tier, tier.id)
    with fresh(engine) as s:
        rel = s.execute(select(TradeRelationship).where(TradeRelationship.buyer_entity_id == buyer.id)).scalar_one()
    assert rel.price_tier_id is None
    call(engine, buyer.p["buyer"], cart.add_to_cart, p1.id, "1")
    assert call(engine, buyer.p["buyer"], cart_view.get_cart).groups[0].lines[0].unit_price == D("20.00")


def test_another_sellers_tiers_products_and_customers_are_out_of_reach(engine, session):
    a, b = make_seller(session), make_seller(session)
    buyer = make_buyer(session)
    pa, _ = stock(session, a)
    pb, _ = stock(session, b)
    session.add(TradeRelationship(seller_entity_id=a.id, buyer_entity_id=buyer.id))
    session.commit()
    tier_a = call(engine, a.owner, price_tiers.create_tier, "A tier")
    tier_b = call(engine, b.owner, price_tiers.create_tier, "B tier")
    for fn, args in (
        (price_tiers.set_tier_price, (tier_a.id, pa.id, "1")),
        (price_tiers.tier_prices, (tier_a.id,)),
        (price_tiers.delete_tier, (tier_a.id,)),
    ):
        with pytest.raises(NotFound):
            call(engine, b.owner, fn, *args)
    with pytest.raises(NotFound):  # B's tier, A's product
        call(engine, b.owner, price_tiers.set_tier_price, tier_b.id, pa.id, "1")
    with pytest.raises(NotFound):  # A's customer is not B's
        call(engine, b.owner, price_tiers.assign_tier, buyer.id, tier_b.id)
    with pytest.raises(NotFound):  # A can't give its customer B's tier
        call(engine, a.owner, price_tiers.assign_tier, buyer.id, tier_b.id)
    with pytest.raises(PermissionDenied):
        call(engine, a.p["fulfillment"], price_tiers.create_tier, "Nope")
    assert [t.name for t in call(engine, b.owner, price_tiers.list_tiers)] == ["B tier"]
