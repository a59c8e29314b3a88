"""REST endpoints (Starlette). Handlers call services with a principal, like Reflex states do."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from reup_app.api.auth_routes import AUTH_ROUTES
from reup_app.api.fleetbase_webhook import FLEETBASE_WEBHOOK_ROUTES
from reup_app.api.secret_display import SECRET_DISPLAY_ROUTES
from reup_app.db import get_engine, run_in_unit_of_work, unit_of_work
from reup_app.errors import NotFound, ServiceError
from reup_app.services.billing import download_tickets
from reup_app.services.billing.invoices import render_invoice_pdf
from reup_app.services.catalog import images as product_images
from reup_app.services.compliance.manifest_pdf import render_manifest_pdf
from reup_app.services.documents import business_documents
from reup_app.services.ordering import order_export
from reup_app.services.ordering.order_filters import OrderFilters

_ERROR_STATUS = {"unauthenticated": 401, "forbidden": 403, "not_found": 404, "invalid": 400}


async def health(_request: Request) -> JSONResponse:
    """Liveness plus a database round trip."""

    def ping_db() -> None:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))

    try:
        await asyncio.to_thread(ping_db)
    except Exception:
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


async def ready(_request: Request) -> JSONResponse:
    """Readiness for the load balancer: 200 when this instance can serve, 503 otherwise, with
    each dependency's state (database, replicas and their lag, Redis, event bus)."""
    from reup_app.health import READY_MAX_AGE_SECONDS, readiness

    ok, report = await asyncio.to_thread(readiness, READY_MAX_AGE_SECONDS)
    return JSONResponse(report, status_code=200 if ok else 503, headers={"Cache-Control": "no-store"})


def _pdf_response(pdf: bytes, filename: str) -> Response:
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _refusal(err: ServiceError) -> Response:
    return PlainTextResponse(
        str(err), status_code=_ERROR_STATUS.get(err.code, 400), headers={"Cache-Control": "no-store"}
    )


async def invoice_pdf(request: Request) -> Response:
    """An invoice PDF, for the holder of a single-use download ticket (see services.download_tickets)."""
    number = request.path_params["number"][:32]
    ticket = request.query_params.get("ticket", "")

    def render() -> bytes:
        principal = download_tickets.redeem_invoice_ticket(ticket, number)
        with unit_of_work(principal) as session:
            return render_invoice_pdf(session, principal, number)

    try:
        pdf = await asyncio.to_thread(render)
    except ServiceError as err:
        return _refusal(err)
    return _pdf_response(pdf, f"{number}.pdf")


async def manifest_pdf(request: Request) -> Response:
    """An order's printable METRC manifest, for the holder of a single-use download ticket."""
    number = request.path_params["number"][:32]
    ticket = request.query_params.get("ticket", "")

    def render() -> bytes:
        principal = download_tickets.redeem_ticket(ticket, "manifest", number)
        with unit_of_work(principal) as session:
            return render_manifest_pdf(session, principal, number)

    try:
        pdf = await asyncio.to_thread(render)
    except ServiceError as err:
        return _refusal(err)
    return _pdf_response(pdf, f"manifest-{number}.pdf")


async def orders_csv(request: Request) -> Response:
    """A CSV export of orders or order lines, for the holder of a single-use download ticket."""
    kind = request.path_params["kind"][:8]
    filters = request.query_params.get("f", "")[:600]
    ticket = request.query_params.get("ticket", "")

    def render() -> bytes:
        principal = download_tickets.redeem_ticket(ticket, "orders_csv", f"{kind}?{filters}")
        with unit_of_work(principal) as session:
            return order_export.export_csv(session, principal, kind, OrderFilters.from_ref(filters))

    try:
        data = await asyncio.to_thread(render)
    except ServiceError as err:
        return _refusal(err)
    return Response(
        data,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="reup-{kind}.csv"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


async def product_image(request: Request) -> Response:
    """A product image: public listings' images to anyone, others only with a ticket (see
    reup_app/services/product_images.py); 404 for everything else."""
    pid, iid = request.path_params["product_id"], request.path_params["image_id"]
    ticket = request.query_params.get("t")
    width = request.query_params.get("w")  # a sized variant (thumbnail), see services/catalog/thumbnails.py

    try:
        served = await run_in_unit_of_work(None, product_images.open_image, pid, iid, ticket, width)
    except NotFound:
        return Response("Not found", status_code=404, media_type="text/plain")
    cache = "public, max-age=300" if served.public else "private, no-store"
    return FileResponse(
        served.path, media_type=served.content_type, headers={"Cache-Control": cache, "Content-Disposition": "inline"}
    )


async def business_document(request: Request) -> Response:
    """A business's uploaded document (licence certificate ...), for the holder of a single-use
    ticket issued to the business's owners/admins or a platform admin."""
    document_id = request.path_params["document_id"]
    ticket = request.query_params.get("ticket", "")
    try:
        served = await run_in_unit_of_work(None, business_documents.open_download, ticket, document_id)
    except ServiceError as err:
        return _refusal(err)
    safe_name = "".join(c if c.isalnum() or c in "._- " else "_" for c in served.filename)[:120]
    return FileResponse(
        served.path,
        media_type=served.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{safe_name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def build_api() -> Starlette:
    return Starlette(
        routes=[
            Route("/api/health", health, methods=["GET"]),
            Route("/api/health/ready", ready, methods=["GET"]),
            Route("/api/invoices/{number}.pdf", invoice_pdf, methods=["GET"]),
            Route("/api/orders/{number}/manifest.pdf", manifest_pdf, methods=["GET"]),
            Route("/api/orders/export/{kind}.csv", orders_csv, methods=["GET"]),
            Route("/api/documents/{document_id:int}", business_document, methods=["GET"]),
            *AUTH_ROUTES,
            *SECRET_DISPLAY_ROUTES,
            *FLEETBASE_WEBHOOK_ROUTES,
            Route("/api/products/{product_id:int}/images/{image_id:int}", product_image, methods=["GET"]),
        ]
    )
