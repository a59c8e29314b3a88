"""REST endpoints (Starlette). Handlers call services with a principal, like Reflex states do."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from reup_app.db import get_engine, unit_of_work
from reup_app.services import product_images
from reup_app.services.errors import NotFound


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


async def product_image(request: Request) -> Response:
    """A product image: public listings' images to anyone, others only with a ticket (see
    reup_app/services/product_images.py); 404 for everything else."""
    pid, iid = request.path_params["product_id"], request.path_params["image_id"]
    ticket = request.query_params.get("t")

    def find() -> product_images.ServedImage:
        with unit_of_work(None) as session:
            return product_images.open_image(session, pid, iid, ticket)

    try:
        served = await asyncio.to_thread(find)
    except NotFound:
        return Response("Not found", status_code=404, media_type="text/plain")
    cache = "public, max-age=300" if served.public else "private, no-store"
    return FileResponse(served.path, media_type=served.content_type,
                        headers={"Cache-Control": cache, "Content-Disposition": "inline"})


def build_api() -> Starlette:
    return Starlette(routes=[
        Route("/api/health", health, methods=["GET"]),
        Route("/api/products/{product_id:int}/images/{image_id:int}", product_image, methods=["GET"]),
    ])
