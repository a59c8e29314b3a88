"""The error answers every operation documents: each one's `Problem` body under
application/problem+json (the only type the error handlers send), with the headers they set."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from reup_app.api.v1.problems import PROBLEM_JSON
from reup_app.api.v1.schemas import Problem

_REF = "#/components/schemas/{model}"


def _header(description: str, required: bool = False) -> dict[str, Any]:
    return {"description": description, "required": required, "schema": {"type": "string"}}


_RETRY_AFTER = "Seconds to wait before retrying."
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": _header('`Bearer realm="reup"`, when the key is missing or refused.')},
    429: {"Retry-After": _header(_RETRY_AFTER)},
    503: {"Retry-After": _header(_RETRY_AFTER, required=True)},
}

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": text,
        "content": {PROBLEM_JSON: {"schema": {"$ref": _REF.format(model=Problem.__name__)}}},
        **({"headers": _HEADERS[status]} if status in _HEADERS else {}),
    }
    for status, text in (
        (400, "The request body could not be read (`http_error`)"),
        (401, "Missing, unknown, revoked or expired API key (`unauthenticated`)"),
        (403, "The key's role may not do this (`forbidden`)"),
        (404, "Not found, or another business's (`not_found`)"),
        (409, "Conflict with the current state (`conflict`)"),
        (422, "The request is not valid (`validation_error`, `invalid`, `idempotency_key_reused`)"),
        (429, "Rate limit of the key exceeded (`rate_limited`)"),
        (500, "Unexpected server error (`internal`, with an `error_id`)"),
        (503, "Retry later: `busy` (collided with another request; nothing changed) or `unavailable`"),
    )
}


def add_problem_schemas(spec: dict[str, Any]) -> dict[str, Any]:
    """Register `Problem` (and what it refers to) in the document's components."""
    _, top = models_json_schema([(Problem, "serialization")], ref_template=_REF)
    spec.setdefault("components", {}).setdefault("schemas", {}).update(top.get("$defs", {}))
    return spec
