"""/api/v1/products, /api/v1/inventory-lots and creating price tiers: sellers manage their catalog,
stock and price lists; any member reads the marketplace (scope=marketplace)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from reup_app.api.v1.deps import IdempotencyKey, Identity, idempotent_post, read
from reup_app.api.v1.schemas import (
    ListOf,
    LotAdjustIn,
    LotOut,
    PriceTierOut,
    ProductIn,
    ProductOut,
    Strict,
    dec,
)
from reup_app.errors import ValidationError
from reup_app.models import InventoryLot, Product
from reup_app.security.principal import Principal
from reup_app.services.catalog import images, price_tiers, products
from reup_app.services.inventory import lot_management
from reup_app.services.public_api import feeds

router = APIRouter(tags=["catalog"])


def product_out(p: Product, brand: str | None) -> dict[str, Any]:
    return ProductOut(
        id=p.id,
        seller_id=p.entity_id,
        sku=p.sku,
        name=p.name,
        brand=brand,
        category=p.category,
        strain_name=p.strain_name,
        strain_type=p.strain_type,
        thc_percent=dec(p.thc_percent),
        cbd_percent=dec(p.cbd_percent),
        unit_of_measure=p.unit_of_measure,
        unit_price=dec(p.unit_price) or "0",
        case_size=p.case_size,
        case_price=dec(p.case_price),
        min_order_qty=dec(p.min_order_qty) or "0",
        listing_state=p.listing_state,
        available_qty=dec(p.available_qty) or "0",
        description=p.description,
        created_at=p.created_at,
        updated_at=p.updated_at,
    ).model_dump(mode="json")


def lot_out(lot: InventoryLot) -> dict[str, Any]:
    return LotOut(
        id=lot.id,
        product_id=lot.product_id,
        license_id=lot.license_id,
        package_label=lot.package_label,
        batch_number=lot.batch_number,
        quantity_on_hand=dec(lot.quantity_on_hand) or "0",
        quantity_reserved=dec(lot.quantity_reserved) or "0",
        quantity_available=dec(lot.quantity_available) or "0",
        lab_test_state=lot.lab_test_state,
        on_hold=lot.on_hold,
        created_at=lot.created_at,
        updated_at=lot.updated_at,
    ).model_dump(mode="json")


@router.get("/products", response_model=ListOf[ProductOut], summary="List products")
def list_products(
    identity: Identity,
    scope: Annotated[str, Query(pattern="^(own|marketplace)$")] = "own",
    updated_since: datetime | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Any:
    """`own`: the key's business's catalog in every listing state; `marketplace`: publicly listed products."""
    page = read(identity, feeds.product_feed, scope=scope, updated_since=updated_since, cursor=cursor, limit=limit)
    return {"data": [product_out(i.product, i.brand) for i in page.items], "next_cursor": page.next_cursor}


@router.get("/products/{product_id}", response_model=ProductOut, summary="Read a product")
def get_product(identity: Identity, product_id: int) -> Any:
    item = read(identity, feeds.read_product, product_id)
    return product_out(item.product, item.brand)


def _fields(body: ProductIn) -> dict[str, Any]:
    return {k: ("" if v is None else str(v)) for k, v in body.model_dump().items()}


@router.post("/products", status_code=201, response_model=ProductOut, summary="Create a product (sellers)")
def create_product(
    request: Request, identity: Identity, body: ProductIn, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    def effect(session: Session, principal: Principal) -> tuple[int, Any]:
        row = products.create_product(session, principal, _fields(body))
        return 201, product_out(products.own_product(session, principal, row.id), row.brand)

    return idempotent_post(request, identity, idempotency_key, body, effect)


@router.put("/products/{product_id}", response_model=ProductOut, summary="Replace a product's details (sellers)")
def update_product(identity: Identity, product_id: int, body: ProductIn) -> Any:
    def run(session: Session, principal: Principal) -> dict[str, Any]:
        row = products.update_product(session, principal, product_id, _fields(body))
        return product_out(products.own_product(session, principal, row.id), row.brand)

    return read(identity, run)


@router.post(
    "/products/{product_id}/archive",
    response_model=ProductOut,
    summary="Archive a product (sellers): the API's delete",
)
def archive_product(
    request: Request, identity: Identity, product_id: int, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Products are never hard-deleted, here or in the app: orders, invoices, lots and compliance
    records refer to them and must stay readable. Archiving takes the product off every list and
    out of the marketplace; it stays readable by its seller (`listing_state` = `archived`)."""

    def effect(session: Session, principal: Principal) -> tuple[int, Any]:
        row = products.archive_product(session, principal, product_id)
        return 200, product_out(products.own_product(session, principal, row.id), row.brand)

    return idempotent_post(request, identity, idempotency_key, None, effect)


class ImageOut(BaseModel):
    id: int | None
    product_id: int
    url: str
    content_type: str | None
    width: int | None
    height: int | None


def image_out(r: images.ImageRow) -> dict[str, Any]:
    return ImageOut(
        id=r.id, product_id=r.product_id, url=r.url, content_type=r.content_type, width=r.width, height=r.height
    ).model_dump()


@router.get("/products/{product_id}/images", response_model=ListOf[ImageOut], summary="A product's images")
def list_product_images(
    identity: Identity,
    product_id: int,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Any:
    """Own products: every image (URLs carry a short-lived ticket when the product is not public);
    marketplace products: their public images. Upload order (oldest first), cursor-paginated."""
    page = read(identity, feeds.image_feed, product_id, cursor=cursor, limit=limit)
    return {"data": [image_out(r) for r in page.items], "next_cursor": page.next_cursor}


@router.delete(
    "/products/{product_id}/images/{image_id}",
    status_code=204,
    response_class=Response,
    summary="Delete an image (sellers)",
)
def delete_product_image(identity: Identity, product_id: int, image_id: int) -> Response:
    """Removes the image and its stored file and sized variants, as the product page's delete does.
    Another business's image, or an image of another product, is not found (404)."""
    read(identity, images.delete_image, image_id, product_id=product_id)
    return Response(status_code=204)


MAX_IMAGE_BYTES = 10 * 1024 * 1024


@router.post(
    "/products/{product_id}/images",
    status_code=201,
    response_model=ImageOut,
    summary="Upload an image (sellers; the raw JPEG/PNG/WebP bytes as the body)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def upload_product_image(
    request: Request, identity: Identity, product_id: int, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    data = await request.body()
    if len(data) > MAX_IMAGE_BYTES:
        raise ValidationError("Images may be at most 10 MB.", "body")
    filename = request.headers.get("x-filename", "image")[:128]

    def effect(session: Session, principal: Principal) -> tuple[int, Any]:
        return 201, image_out(images.add_image(session, principal, product_id, filename, data))

    return await run_in_threadpool(idempotent_post, request, identity, idempotency_key, data, effect)


@router.get("/inventory-lots", response_model=ListOf[LotOut], summary="List inventory lots (sellers)")
def list_lots(
    identity: Identity,
    product_id: Annotated[int | None, Query(ge=1)] = None,
    updated_since: datetime | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Any:
    page = read(
        identity, feeds.lot_feed, product_id=product_id, updated_since=updated_since, cursor=cursor, limit=limit
    )
    return {"data": [lot_out(lot) for lot in page.items], "next_cursor": page.next_cursor}


@router.get("/inventory-lots/{lot_id}", response_model=LotOut, summary="Read an inventory lot (sellers)")
def get_lot(identity: Identity, lot_id: int) -> Any:
    return lot_out(read(identity, feeds.read_lot, lot_id))


@router.post("/inventory-lots/{lot_id}/adjust", response_model=LotOut, summary="Adjust a lot's on-hand quantity")
def adjust_lot(
    request: Request, identity: Identity, lot_id: int, body: LotAdjustIn, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Give either the new `quantity_on_hand` (a count) or a signed `delta`, and a `reason`."""

    def effect(session: Session, principal: Principal) -> tuple[int, Any]:
        lot_management.adjust_lot(
            session, principal, lot_id, quantity_on_hand=body.quantity_on_hand, delta=body.delta, reason=body.reason
        )
        lot = session.get(InventoryLot, lot_id)
        assert lot is not None  # adjust_lot raised NotFound otherwise
        return 200, lot_out(lot)

    return idempotent_post(request, identity, idempotency_key, body, effect)


class PriceTierIn(Strict):
    name: str = Field(min_length=1, max_length=64)


@router.post("/price-tiers", status_code=201, response_model=PriceTierOut, summary="Create a price tier (sellers)")
def create_price_tier(
    request: Request, identity: Identity, body: PriceTierIn, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """A new, empty named price list (409 if the business already has a tier of that name). Set its
    prices with POST /price-tiers/{tier_id}/prices."""

    def effect(session: Session, principal: Principal) -> tuple[int, Any]:
        row = price_tiers.create_tier(session, principal, body.name)
        return 201, PriceTierOut(**row.__dict__).model_dump(mode="json")

    return idempotent_post(request, identity, idempotency_key, body, effect)
