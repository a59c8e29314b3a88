"""RFC 9457 problem details (application/problem+json) with a stable `code` for every error."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from reup_app.db import connection_lost, is_lock_conflict
from reup_app.errors import RateLimited, ServiceError
from reup_app.security.events import current_request_id

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
STATUS_BY_CODE = {
    "unauthenticated": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "invalid": 422,
    "idempotency_key_reused": 422,
    "rate_limited": 429,
}
TITLES = {
    400: "Bad request",
    401: "Unauthenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    422: "Unprocessable content",
    429: "Too many requests",
    503: "Service unavailable",
    500: "Internal server error",
}


def problem(status: int, code: str, detail: str, instance: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"urn:reup:problem:{code}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def service_problem(err: ServiceError, instance: str | None) -> tuple[int, dict[str, Any]]:
    status = STATUS_BY_CODE.get(err.code, 400)
    return status, problem(status, err.code, str(err), instance, field=getattr(err, "field", None))


def problem_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


async def on_service_error(request: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, ServiceError)
    status, body = service_problem(err, request.url.path)
    headers = None
    if isinstance(err, RateLimited):
        headers = {"Retry-After": str(max(1, int(err.retry_after + 0.999)))}
    if status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="reup"'}
    return problem_response(status, body, headers)


async def on_validation_error(request: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, RequestValidationError)
    errors = [
        {"location": ".".join(str(p) for p in e.get("loc", ())), "message": str(e.get("msg", ""))} for e in err.errors()
    ]
    detail = "; ".join(f"{e['location']}: {e['message']}" for e in errors[:5]) or "The request is not valid."
    return problem_response(422, problem(422, "validation_error", detail, request.url.path, errors=errors))


async def on_http_error(request: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated"}.get(err.status_code, "http_error")
    return problem_response(
        err.status_code, problem(err.status_code, code, str(err.detail), request.url.path), dict(err.headers or {})
    )


def backing_service_down(err: BaseException) -> bool:
    """Redis or MySQL could not be reached (a restart, a failover): worth a retry, not a bug."""
    import redis.exceptions

    if isinstance(err, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        return True
    if isinstance(err, DBAPIError):
        return connection_lost(err)
    return False


async def on_unexpected(request: Request, err: Exception) -> JSONResponse:
    if isinstance(err, DBAPIError) and is_lock_conflict(err):  # still colliding after the retries
        body = problem(
            503, "busy", "The request collided with another one; nothing changed. Retry it.", request.url.path
        )
        return problem_response(503, body, {"Retry-After": "1"})
    error_id = current_request_id() or uuid.uuid4().hex[:16]  # the request's id: its log lines carry it
    if backing_service_down(err):
        log.warning("%s %s: %s [error_id=%s]", request.method, request.url.path, type(err).__name__, error_id)
        detail = (
            "ReUp cannot reach its database or cache for a moment. Retry shortly; a POST retried with the "
            f"same Idempotency-Key is never applied twice. (Error id {error_id})"
        )
        body = problem(503, "unavailable", detail, request.url.path, error_id=error_id)
        return problem_response(503, body, {"Retry-After": "2"})
    log.error("%s %s failed [error_id=%s]", request.method, request.url.path, error_id, exc_info=err)
    detail = f"Something went wrong on our side. (Error id {error_id})"
    return problem_response(500, problem(500, "internal", detail, request.url.path, error_id=error_id))
