"""Product images: upload checks, private storage, and who may fetch them.

Storage: bytes go to `<media root>/<entity id>/<uuid>.<ext>` (media root: setting `media_dir`, REUP_MEDIA_DIR, default
`var/product_images`), never under Reflex's public upload folder; `ProductImage.storage_key` holds
the relative path. Uploads are at most 5 MB and must *be* PNG, JPEG or WebP by their first bytes
(the file name's extension is not trusted), at most 10 per product.

Serving (`GET /api/products/{product_id}/images/{image_id}`, reup_app/api/routes.py) decides with
`open_image`:
- images of a product in a public listing state (available/backorder/sample) of an APPROVED seller
  are public, like the marketplace itself: served to anyone, cacheable;
- any other image (internal/archived products, unapproved sellers) needs a ticket: an HMAC-signed
  `t=<product>.<image>.<expiry>.<sig>` query parameter minted by `list_images` for members of the
  owning entity, valid for `TICKET_SECONDS`. Access tokens live only in backend state, so the
  browser has nothing else to present; a ticket names one image and expires quickly;
- everything else gets 404 (not 403), so ids can't be probed.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import Session, col

from reup_app.errors import NotFound, ValidationError
from reup_app.models import Entity, Product, ProductImage
from reup_app.models.enums import PUBLIC_LISTING_STATES, EntityStatus
from reup_app.models.session_hooks import after_commit_do, undo_on_rollback
from reup_app.security.principal import Principal
from reup_app.services import private_files
from reup_app.services.catalog import thumbnails
from reup_app.services.catalog.products import is_public, own_product
from reup_app.services.common import parse_int
from reup_app.services.private_files import media_root, sniff_image
from reup_app.settings import get_settings

MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_IMAGES_PER_PRODUCT = 10
TICKET_SECONDS = 15 * 60
_EXT = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


@dataclass(frozen=True)
class ImageRow:
    id: int
    product_id: int
    content_type: str
    size_bytes: int
    width: int | None
    height: int | None
    position: int
    url: str  # where the browser fetches it (with a ticket when the image is not public)
    srcset: str = ""  # the sized variants for <img srcset> ("" when there are none)


# --------------------------------------------------------------------------------------------
# Tickets for private images
# --------------------------------------------------------------------------------------------


def _sign(message: str) -> str:
    key = hashlib.sha256(b"reup-product-image-ticket:" + get_settings().secret_key.encode()).digest()
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()[:32]


def make_ticket(product_id: int, image_id: int, *, now: float | None = None) -> str:
    expires = int((now or time.time()) + TICKET_SECONDS)
    body = f"{product_id}.{image_id}.{expires}"
    return f"{body}.{_sign(body)}"


def ticket_valid(ticket: str | None, product_id: int, image_id: int, *, now: float | None = None) -> bool:
    if not ticket or len(ticket) > 100:
        return False
    parts = ticket.split(".")
    if len(parts) != 4 or parts[0] != str(product_id) or parts[1] != str(image_id) or not parts[2].isdigit():
        return False
    if not hmac.compare_digest(parts[3], _sign(".".join(parts[:3]))):
        return False
    return int(parts[2]) >= (now or time.time())


def _publicly_visible(session: Session, product: Product) -> bool:
    if not is_public(product):
        return False
    status = session.execute(select(col(Entity.status)).where(col(Entity.id) == product.entity_id)).scalar_one_or_none()
    return status == EntityStatus.APPROVED


def image_url(product_id: int, image_id: int, ticket: str | None = None) -> str:
    url = f"/api/products/{product_id}/images/{image_id}"
    return f"{url}?t={ticket}" if ticket else url


# --------------------------------------------------------------------------------------------
# Service API
# --------------------------------------------------------------------------------------------


def _row(image: ProductImage, public: bool) -> ImageRow:
    ticket = None if public else make_ticket(image.product_id, image.id)
    return ImageRow(
        id=image.id,
        product_id=image.product_id,
        content_type=image.content_type,
        size_bytes=image.size_bytes,
        width=image.width,
        height=image.height,
        position=image.position,
        url=(url := image_url(image.product_id, image.id, ticket)),
        srcset=thumbnails.srcset(url, image.variant_widths, image.width),
    )


def list_images(session: Session, principal: Principal, product_id: int) -> list[ImageRow]:
    """A product's images for its own entity's members, with URLs that work for them."""
    product = own_product(session, principal, product_id, "catalog.view")
    public = _publicly_visible(session, product)
    images = session.execute(
        select(ProductImage)
        .where(col(ProductImage.product_id) == product.id)
        .order_by(col(ProductImage.position), col(ProductImage.id))
    ).scalars()
    return [_row(i, public) for i in images]


def add_image(session: Session, principal: Principal, product_id: int, filename: str, data: bytes) -> ImageRow:
    """Store an uploaded image of one of the principal's products (checks size and real type)."""
    product = own_product(session, principal, product_id, lock=True)
    if not isinstance(data, (bytes, bytearray)) or not data:
        raise ValidationError("The file is empty.", "file")
    if len(data) > MAX_IMAGE_BYTES:
        raise ValidationError(
            f"{str(filename)[:60]} is {len(data) / 1024 / 1024:.1f} MB; images can be at most "
            f"{MAX_IMAGE_BYTES // 1024 // 1024} MB.",
            "file",
        )
    try:
        content_type, width, height = sniff_image(bytes(data))
    except ValidationError:
        raise ValidationError(f"{str(filename)[:60]} is not a PNG, JPEG or WebP image.", "file") from None
    decoded = thumbnails.make_variants(bytes(data), str(filename)[:60])  # also proves it decodes
    count, top = session.execute(
        select(func.count(col(ProductImage.id)), func.max(col(ProductImage.position))).where(
            col(ProductImage.product_id) == product.id
        )
    ).one()
    if count >= MAX_IMAGES_PER_PRODUCT:
        raise ValidationError(f"A product can have at most {MAX_IMAGES_PER_PRODUCT} images; remove one first.", "file")
    key = f"{product.entity_id}/{uuid.uuid4().hex}.{_EXT[content_type]}"
    private_files.store(key, bytes(data))
    widths = thumbnails.store_variants(key, decoded)
    image = ProductImage(
        product_id=product.id,
        storage_key=key,
        content_type=content_type,
        size_bytes=len(data),
        width=decoded.width,
        height=decoded.height,
        variant_widths=widths,
        position=(top or 0) + 1 if count else 0,
    )
    undo_on_rollback(session, partial(_remove_files, key, widths))  # the files go if the row does
    session.add(image)
    session.flush()
    return _row(image, _publicly_visible(session, product))


def _remove_files(key: str, widths: str | None) -> None:
    private_files.remove(key)
    thumbnails.remove_variants(key, widths)


def delete_image(session: Session, principal: Principal, image_id: int, *, product_id: int | None = None) -> None:
    """Remove one image of one of the principal's products (row, file and its sized variants).
    With `product_id`, the image must be that product's (NotFound otherwise)."""
    image = session.get(ProductImage, parse_int(image_id, "image_id"))
    if image is None or (product_id is not None and image.product_id != parse_int(product_id, "product_id")):
        raise NotFound("That image was not found.")
    own_product(session, principal, image.product_id, lock=True)  # NotFound for another entity's
    key, widths = image.storage_key, image.variant_widths
    session.delete(image)
    session.flush()
    after_commit_do(session, partial(_remove_files, key, widths))  # a rollback keeps row and files


def visible_rows(
    session: Session, principal: Principal, product: Product, stored: list[ProductImage]
) -> list[ImageRow]:
    """These stored images of `product` as the principal may see them: its own entity's members all
    of them (with tickets when the product is not public), anyone else only a publicly visible
    product's. The caller has already authorized reading the product itself."""
    public = _publicly_visible(session, product)
    if product.entity_id != principal.entity_id and not public:
        return []
    return [_row(i, public) for i in stored if i.product_id == product.id]


@dataclass(frozen=True)
class ImageSource:
    url: str
    srcset: str  # sized variants for <img srcset>; "" when there are none


def public_image_urls(session: Session, principal: Principal, product_ids: list[int]) -> dict[int, list[str]]:
    """product id -> URLs of its images, for products anyone may see (public listing, approved
    seller). Other products are simply left out."""
    return {
        pid: [s.url for s in sources] for pid, sources in public_image_sources(session, principal, product_ids).items()
    }


def public_image_sources(
    session: Session, principal: Principal, product_ids: list[int]
) -> dict[int, list[ImageSource]]:
    """Like `public_image_urls`, with each image's srcset; for marketplace cards and product pages."""
    ids = sorted({int(p) for p in product_ids})[:500]
    if not ids:
        return {}
    rows = session.execute(
        select(
            col(ProductImage.product_id),
            col(ProductImage.id),
            col(ProductImage.variant_widths),
            col(ProductImage.width),
        )
        .join(Product, col(Product.id) == col(ProductImage.product_id))
        .join(Entity, col(Entity.id) == col(Product.entity_id))
        .where(
            col(ProductImage.product_id).in_(ids),
            col(Product.listing_state).in_([str(s) for s in PUBLIC_LISTING_STATES]),
            col(Entity.status) == EntityStatus.APPROVED,
        )
        .order_by(col(ProductImage.product_id), col(ProductImage.position), col(ProductImage.id))
    ).all()
    out: dict[int, list[ImageSource]] = {}
    for pid, iid, widths, width in rows:
        url = image_url(pid, iid)
        out.setdefault(pid, []).append(ImageSource(url, thumbnails.srcset(url, widths, width)))
    return out


@dataclass(frozen=True)
class ServedImage:
    path: Path
    content_type: str
    public: bool


def open_image(
    session: Session, product_id: int, image_id: int, ticket: str | None = None, width: object = None
) -> ServedImage:
    """What the image route may send for this request (the variant of `width` when given);
    NotFound when it may send nothing."""
    try:
        pid, iid = int(product_id), int(image_id)
    except (TypeError, ValueError):
        raise NotFound("Image not found.") from None
    image = session.get(ProductImage, iid)
    product = session.get(Product, pid) if image is not None and image.product_id == pid else None
    if image is None or product is None:
        raise NotFound("Image not found.")
    public = _publicly_visible(session, product)
    if not public and not ticket_valid(ticket, pid, iid):
        raise NotFound("Image not found.")
    if width in (None, ""):
        return ServedImage(private_files.existing_path(image.storage_key), image.content_type, public)
    w = int(str(width)) if str(width).isdigit() and len(str(width)) < 6 else -1
    if w not in thumbnails.parse_widths(image.variant_widths):
        raise NotFound("Image not found.")
    return ServedImage(private_files.existing_path(thumbnails.variant_key(image.storage_key, w)), "image/webp", public)


__all__ = [
    "MAX_IMAGE_BYTES",
    "MAX_IMAGES_PER_PRODUCT",
    "TICKET_SECONDS",
    "ImageRow",
    "ImageSource",
    "ServedImage",
    "add_image",
    "delete_image",
    "image_url",
    "list_images",
    "make_ticket",
    "media_root",
    "open_image",
    "public_image_sources",
    "public_image_urls",
    "sniff_image",
    "ticket_valid",
    "visible_rows",
]
