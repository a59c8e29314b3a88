"""The FastAPI app of the public API v1: OpenAPI 3.1 at /api/v1/openapi.json, a readable reference
at /api/docs rendered here from that document (no scripts, no CDN assets), problem+json errors."""

from __future__ import annotations

import html
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, JSONResponse

from reup_app.api.v1 import catalog, orders, pos, trade
from reup_app.api.v1.openapi_errors import ERROR_RESPONSES, add_problem_schemas
from reup_app.api.v1.problems import (
    on_http_error,
    on_service_error,
    on_unexpected,
    on_validation_error,
    problem,
    problem_response,
)
from reup_app.errors import ServiceError

PREFIX = "/api/v1"
DESCRIPTION = """ReUp's public REST API. Authenticate with an API key created at /settings/api:
`Authorization: Bearer rk_...`. A key acts for its business with its role (the same permissions as a
member with that role). Lists are cursor-paginated (`next_cursor`), sorted by (updated_at, id) and
filterable by `updated_since`. Amounts and quantities are Decimal strings; times are RFC 3339 UTC.
Every POST accepts an `Idempotency-Key`. Errors are RFC 9457 problem+json with a stable `code`."""


def _docs_page(spec: dict[str, Any]) -> str:
    out = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>ReUp API v1</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:980px;margin:2rem auto;padding:0 1rem;color:#111}"
        "code,pre{background:#f4f4f5;padding:2px 4px;border-radius:4px}.op{border:1px solid #ddd;border-radius:6px;"
        "padding:.6rem 1rem;margin:.6rem 0}.m{font-weight:700;display:inline-block;width:4.5rem}</style></head><body>",
        f"<h1>{html.escape(spec['info']['title'])} <small>{html.escape(spec['info']['version'])}</small></h1>",
        f"<p>{html.escape(spec['info'].get('description', ''))}</p>",
        f"<p>Machine-readable: <a href='{PREFIX}/openapi.json'>{PREFIX}/openapi.json</a> (OpenAPI "
        f"{html.escape(spec.get('openapi', ''))}). Guide: docs/API.md.</p>",
    ]
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            params = ", ".join(
                f"<code>{html.escape(p['name'])}</code> ({html.escape(p['in'])})" for p in op.get("parameters", [])
            )
            out.append(
                f"<div class='op'><span class='m'>{method.upper()}</span><code>{html.escape(path)}</code> "
                f"&mdash; {html.escape(op.get('summary', ''))}"
                f"<p>{html.escape(op.get('description', '') or '')}</p>"
                + (f"<p>Parameters: {params}</p>" if params else "")
                + f"<p>Responses: {html.escape(', '.join(op.get('responses', {}).keys()))}</p></div>"
            )
    out.append("</body></html>")
    return "".join(out)


def build_public_api() -> FastAPI:
    api = FastAPI(
        title="ReUp API",
        version="1.0.0",
        description=DESCRIPTION,
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
        responses=ERROR_RESPONSES,
    )
    api.include_router(orders.router, prefix=PREFIX)
    api.include_router(catalog.router, prefix=PREFIX)
    api.include_router(trade.router, prefix=PREFIX)
    api.include_router(pos.router, prefix=PREFIX)
    api.add_exception_handler(ServiceError, on_service_error)
    api.add_exception_handler(RequestValidationError, on_validation_error)
    api.add_exception_handler(StarletteHTTPException, on_http_error)
    api.add_exception_handler(Exception, on_unexpected)
    generate = api.openapi

    def openapi() -> dict[str, Any]:
        return api.openapi_schema or add_problem_schemas(generate())

    api.openapi = openapi  # type: ignore[method-assign]

    @api.get("/api/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(_docs_page(api.openapi()), headers={"Cache-Control": "no-cache"})

    @api.api_route(
        f"{PREFIX}/{{rest:path}}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
    )
    def unknown(request: Request, rest: str) -> JSONResponse:
        return problem_response(404, problem(404, "not_found", "There is no such API endpoint.", request.url.path))

    return api
