"""The baseline for bench.webhook_bench: a bare Starlette endpoint that only stores the body (one
INSERT on a worker thread), served the same way as the app's API (granian, one worker)."""

from __future__ import annotations

import asyncio
import os

from sqlalchemy import create_engine, text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


def build_app() -> Starlette:
    engine = create_engine(os.environ["REUP_DATABASE_URL"], pool_size=10, max_overflow=10, pool_pre_ping=True)

    def store(body: bytes) -> None:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO bench_bare_bodies (body) VALUES (:b)"), {"b": body.decode()})

    async def receive(request: Request) -> JSONResponse:
        await asyncio.to_thread(store, await request.body())
        return JSONResponse({"ok": True})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/api/webhooks/fleetbase", receive, methods=["POST"]), Route("/api/health", health)])
