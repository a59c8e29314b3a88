"""Stripe-style Idempotency-Key for every POST of the public API.

The record is unique per (API key, route, Idempotency-Key) and holds a SHA-256 of the request
(method, path, body) and the response a replay returns. It is written in the same transaction as
the request's effect, after the effect (`record`): the effect and its stored response commit
together or not at all, so a request that dies (process killed, MySQL gone) leaves nothing behind
and the client's retry simply runs it.

A request whose key is already done is answered from the record without running anything
(`stored`, read before the effect's transaction). Of two requests with one key that both pass that
check, the second one's insert waits on the first one's uncommitted row (InnoDB; SQLite has one
writer at a time) and then fails as a duplicate (`KeyTaken`): its transaction, effect included,
rolls back and it answers with the first one's stored response. One effect either way.

The effect runs first in its unit of work because services choose their isolation level
(`begin_read_committed`) before their first statement: a claim row touched first would run every
API write at the server's default level instead of the one the same service uses behind the pages.

Errors the client caused (4xx) are stored and replayed too (`record` in a unit of work of its own,
after the effect's rolled back); a server error stores nothing, so the client may retry.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from reup_app.errors import ValidationError
from reup_app.models import ApiIdempotencyRecord
from reup_app.models.types import utcnow

MAX_KEY_LENGTH = 255
RETENTION = timedelta(hours=24)


class IdempotencyMismatch(ValidationError):
    code = "idempotency_key_reused"


class KeyTaken(Exception):
    """Another request with this key committed first: roll back and replay its response."""


@dataclass(frozen=True)
class Claim:
    """What identifies one request's record: its API key, route, Idempotency-Key and request hash."""

    api_key_id: int
    route: str
    key: str
    digest: str


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: Any


def request_hash(method: str, path: str, body: bytes) -> str:
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


def check_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationError(f"Idempotency-Key must be 1..{MAX_KEY_LENGTH} printable characters.", "Idempotency-Key")
    return key


def claim_for(api_key_id: int, route: str, key: str, digest: str) -> Claim:
    return Claim(api_key_id, route, check_key(key), digest)


def stored(engine: Engine, claim: Claim) -> Replay | None:
    """The response stored for this key, or None when the key is new. A record made by a different
    request raises IdempotencyMismatch (422). A 'started' record (written by an earlier version for
    a request that never finished) is removed: its request committed nothing."""
    where = (
        col(ApiIdempotencyRecord.api_key_id) == claim.api_key_id,
        col(ApiIdempotencyRecord.route) == claim.route,
        col(ApiIdempotencyRecord.idem_key) == claim.key,
    )
    with engine.connect() as conn:  # a plain connection: no ORM session for one indexed read
        row = conn.execute(
            select(
                col(ApiIdempotencyRecord.request_hash),
                col(ApiIdempotencyRecord.status),
                col(ApiIdempotencyRecord.response_code),
                col(ApiIdempotencyRecord.response_body),
            ).where(*where)
        ).first()
        if row is not None and row[1] != "done":
            conn.execute(delete(ApiIdempotencyRecord).where(*where, col(ApiIdempotencyRecord.status) != "done"))
            conn.commit()
            return None
    if row is None:
        return None
    digest, _status, status_code, body = row
    if digest != claim.digest:
        raise IdempotencyMismatch(
            "This Idempotency-Key was already used with a different request. Use a new key for a new request."
        )
    return Replay(int(status_code or 200), json.loads(body or "null"))


def record(session: Session, claim: Claim, status_code: int, body: Any) -> None:
    """Store the response in the caller's transaction, after its effect (flushed first, so an
    error of the effect's own writes is not mistaken for a taken key). Raises KeyTaken when another
    request with the key committed first; the caller rolls back and replays that one's response."""
    session.flush()
    now = utcnow()
    try:
        session.execute(
            insert(ApiIdempotencyRecord).values(
                api_key_id=claim.api_key_id,
                route=claim.route,
                idem_key=claim.key,
                request_hash=claim.digest,
                status="done",
                response_code=status_code,
                response_body=json.dumps(body, separators=(",", ":")),
                created_at=now,
                completed_at=now,
            )
        )
    except IntegrityError as err:  # the unique key (the caller checks that a record is there)
        raise KeyTaken() from err


def purge_expired(session: Session) -> int:
    """Forget records older than the retention (a replay after that runs the request again)."""
    result = session.execute(
        delete(ApiIdempotencyRecord).where(col(ApiIdempotencyRecord.created_at) < utcnow() - RETENTION)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]  # DELETE yields a CursorResult
