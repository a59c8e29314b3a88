"""Per-request plumbing: the API key -> Principal, units of work, Idempotency-Key on POSTs."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from pydantic import BaseModel, TypeAdapter
from sqlmodel import Session
from starlette.responses import JSONResponse, Response

from reup_app.api.v1.problems import problem_response, service_problem
from reup_app.db import get_engine, transaction, unit_of_work
from reup_app.errors import NotAuthenticated, ServiceError
from reup_app.security.principal import Principal
from reup_app.services.public_api import idempotency, keys
from reup_app.settings import get_settings


def _client_ip(request: Request) -> str | None:
    peer = request.client.host if request.client else None
    hops = get_settings().trusted_proxy_hops
    if hops:
        forwarded = [ip.strip() for ip in request.headers.get("x-forwarded-for", "").split(",") if ip.strip()]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return peer


def key_identity(request: Request, authorization: Annotated[str | None, Header()] = None) -> keys.KeyIdentity:
    """`Authorization: Bearer rk_...` -> the key's identity; rate-limited per key (shared via Redis).
    A key resolved before costs one Redis round trip (the rate limit, which also checks that the key
    was not revoked meanwhile: `keys.held_identity`); otherwise it is read from the database."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise NotAuthenticated("A valid API key is required (Authorization: Bearer rk_...).")
    secret, client_ip = authorization[7:].strip(), _client_ip(request)
    held = keys.held_identity(secret, client_ip)
    if held is not None:
        identity, mark_used = held
        if mark_used:
            with unit_of_work(None) as session:
                keys.mark_used(session, identity.key_id)
        return identity
    with unit_of_work(None) as session:
        identity = keys.authenticate(session, secret, client_ip)
    keys.enforce_rate_limit(identity)
    return identity


Identity = Annotated[keys.KeyIdentity, Depends(key_identity)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Makes the POST safe to retry: a replay with the same key returns the first response; "
        "the same key with a different body is refused (422). Kept 24 hours.",
        max_length=255,
    ),
]


_slots: threading.BoundedSemaphore | None = None
_slots_lock = threading.Lock()


@contextmanager
def db_slot() -> Iterator[None]:
    """At most as many of the API's units of work at once as the engine's pool keeps connections
    (`pool_size`). The thread pool runs up to 40 requests at once; past the pool size each extra
    unit of work would open an overflow connection (TCP, MySQL handshake, a TLS context) and close
    it again on return, which under load cost more CPU than the requests themselves."""
    global _slots
    if _slots is None:
        with _slots_lock:
            if _slots is None:
                size = getattr(get_engine().pool, "size", None)
                _slots = threading.BoundedSemaphore(max(1, size()) if callable(size) else 10)
    with _slots:
        yield


def read(identity: keys.KeyIdentity, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a service function in a unit of work with the key's principal."""
    with db_slot():
        return transaction(identity.principal, fn, identity.principal, *args, **kwargs)


def typed_json(adapter: TypeAdapter[Any], payload: Any, status_code: int = 200) -> Response:
    """The response body validated against its documented schema (the route's `response_model`)
    and serialized in one pass by pydantic-core, without FastAPI validating it a second time."""
    return Response(adapter.dump_json(adapter.validate_python(payload)), status_code, media_type="application/json")


Effect = Callable[[Session, Principal], tuple[int, Any]]


def service_key(identity: keys.KeyIdentity, key: str | None) -> str | None:
    """The key a service's own de-duplication (checkout's, an order transition's) gets for this
    request: a hash of the API key and the whole Idempotency-Key, 64 characters as the services keep.
    The client's key as such would be shared by every API key of the business, and two keys that
    differ only after 64 characters would be one."""
    if not key:
        return None
    return hashlib.sha256(f"{identity.key_id}:{key.strip()}".encode()).hexdigest()


def _json(status: int, body: Any, replayed: bool = False) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    if status >= 400:
        return problem_response(status, body, headers)
    return JSONResponse(body, status_code=status, headers=headers)


def idempotent_post(
    request: Request, identity: keys.KeyIdentity, key: str | None, payload: BaseModel | bytes | None, effect: Effect
) -> JSONResponse:
    """Run a POST's effect once per Idempotency-Key (see services/public_api/idempotency.py)."""
    principal, path = identity.principal, request.url.path
    if not key:
        try:
            with db_slot():
                status, body = transaction(principal, effect, principal)
        except ServiceError as err:
            return problem_response(*service_problem(err, path))
        return _json(status, body)
    if isinstance(payload, bytes):
        body_bytes = payload
    else:
        body_bytes = json.dumps(payload.model_dump(mode="json") if payload is not None else None).encode()
    claim = idempotency.claim_for(identity.key_id, path, key, idempotency.request_hash("POST", path, body_bytes))
    engine = get_engine()
    prior = idempotency.stored(engine, claim)
    if prior is not None:
        return _json(prior.status_code, prior.body, replayed=True)

    def effect_and_record(session: Session) -> tuple[int, Any]:
        status, body = effect(session, principal)
        idempotency.record(session, claim, status, body)
        return status, body

    try:
        with db_slot():
            status, body = transaction(principal, effect_and_record)
    except idempotency.KeyTaken as taken:
        return _replay_taken(engine, claim, taken)
    except ServiceError as err:
        status, problem = service_problem(err, path)
        try:  # the refusal is the request's answer: replayed too
            with db_slot():
                transaction(principal, idempotency.record, claim, status, problem)
        except idempotency.KeyTaken as taken:
            return _replay_taken(engine, claim, taken)
        return problem_response(status, problem)
    return _json(status, body)


def _replay_taken(engine: Any, claim: idempotency.Claim, taken: idempotency.KeyTaken) -> JSONResponse:
    """Another request with the key committed first (this one's effect rolled back): its answer."""
    prior = idempotency.stored(engine, claim)
    if prior is None:  # the insert failed on something other than the key's record
        raise taken.__cause__ or taken
    return _json(prior.status_code, prior.body, replayed=True)
