"""REST endpoints (Starlette). Handlers call services with a principal, like Reflex states do."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from reup_app.api.auth_routes import AUTH_ROUTES
from reup_app.api.secret_display import SECRET_DISPLAY_ROUTES
from reup_app.db import get_engine


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


def build_api() -> Starlette:
    return Starlette(routes=[Route("/api/health", health, methods=["GET"]), *AUTH_ROUTES, *SECRET_DISPLAY_ROUTES])
