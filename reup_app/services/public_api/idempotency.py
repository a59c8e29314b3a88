"""Stripe-style Idempotency-Key for every POST of the public API.

The record is unique per (API key, route, Idempotency-Key) and holds a SHA-256 of the request
(method, path, body). `begin` inserts it in its own committed transaction: the unique row is the
lock, so of two concurrent requests with one key exactly one proceeds; the other waits for the
first to finish and replays its response (or gets 409 if it does not finish in time). The winner's
effect and its stored response commit together (`hold` locks the claimed row first thing in the
effect's unit of work and `complete` marks it done there), so a crash never leaves an effect without
its replayable response. Errors the client caused (4xx) are stored and replayed too; a server error
releases the key (`abandon`) so the client may retry.

A request that died (its process killed, or MySQL gone before `abandon` could run) leaves its row
'started'. Its row lock died with its connection, so on MySQL/MariaDB the next request with that key
takes the row over as soon as it is unlocked and older than `CLAIM_GRACE` (the moment between the
claim's commit and `hold`): `SELECT ... FOR UPDATE SKIP LOCKED` tells a live claim from a dead one.
If a slow request reaches `hold` after its row was taken over, it runs nothing (`TakenOver`): one
effect either way. Databases without SKIP LOCKED (SQLite, one process) wait `STALE_AFTER` instead.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, select

from reup_app.db import is_lock_conflict
from reup_app.errors import Conflict, ValidationError
from reup_app.models import ApiIdempotencyRecord
from reup_app.models.types import utcnow

MAX_KEY_LENGTH = 255
STALE_AFTER = timedelta(seconds=120)  # without SKIP LOCKED: a 'started' record this old belongs to a dead request
CLAIM_GRACE = timedelta(seconds=2)  # with SKIP LOCKED: an unlocked 'started' record this old is dead
WAIT_SECONDS = 15.0
RETENTION = timedelta(hours=24)


class IdempotencyMismatch(ValidationError):
    code = "idempotency_key_reused"


class IdempotencyInProgress(Conflict):
    code = "idempotency_in_progress"


class TakenOver(IdempotencyInProgress):
    """This request's claim was taken over by a retry (it stalled past CLAIM_GRACE before `hold`)."""


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: Any


@dataclass(frozen=True)
class Claim:
    record_id: int
    record: ApiIdempotencyRecord | None = None  # the row as inserted (committed, detached)


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


def _existing(engine: Engine, api_key_id: int, route: str, key: str) -> ApiIdempotencyRecord | None:
    with Session(engine, expire_on_commit=False) as s:
        return s.exec(
            select(ApiIdempotencyRecord).where(
                ApiIdempotencyRecord.api_key_id == api_key_id,
                ApiIdempotencyRecord.route == route,
                ApiIdempotencyRecord.idem_key == key,
            )
        ).first()


def _insert(engine: Engine, api_key_id: int, route: str, key: str, digest: str) -> ApiIdempotencyRecord | None:
    """The committed claim, or None when the key is taken. A duplicate of a row locked by a running
    request waits for that request (InnoDB), then reports the duplicate."""
    with Session(engine, expire_on_commit=False) as s:
        row = ApiIdempotencyRecord(api_key_id=api_key_id, route=route, idem_key=key, request_hash=digest)
        s.add(row)
        try:
            s.commit()
        except (IntegrityError, OperationalError) as err:  # duplicate, or a lock wait that timed out
            s.rollback()
            if isinstance(err, OperationalError) and not is_lock_conflict(err):
                raise
            return None
        return row


def _take_over_dead(engine: Engine, row: ApiIdempotencyRecord) -> bool:
    """Delete a 'started' claim whose request is gone; True if it was deleted."""
    with Session(engine) as s:
        skip_locked = engine.dialect.name in ("mysql", "mariadb")
        age = CLAIM_GRACE if skip_locked else STALE_AFTER
        dead = s.exec(
            select(ApiIdempotencyRecord.id)
            .where(
                col(ApiIdempotencyRecord.id) == row.id,
                col(ApiIdempotencyRecord.status) == "started",
                col(ApiIdempotencyRecord.created_at) <= utcnow() - age,
            )
            .with_for_update(skip_locked=skip_locked)
        ).first()
        if dead is None:
            return False
        s.execute(delete(ApiIdempotencyRecord).where(col(ApiIdempotencyRecord.id) == row.id))
        s.commit()
        return True


def begin(
    engine: Engine, api_key_id: int, route: str, key: str, digest: str, wait_seconds: float = WAIT_SECONDS
) -> Claim | Replay:
    """Claim the key for this request, or the stored response of the request that claimed it first."""
    key = check_key(key)
    deadline = time.monotonic() + wait_seconds
    while True:
        record = _insert(engine, api_key_id, route, key, digest)
        if record is not None:
            return Claim(record.id, record)
        row = _existing(engine, api_key_id, route, key)
        if row is None:
            continue  # released meanwhile: try again
        if row.request_hash != digest:
            raise IdempotencyMismatch(
                "This Idempotency-Key was already used with a different request. Use a new key for a new request."
            )
        if row.status == "done":
            return Replay(int(row.response_code or 200), json.loads(row.response_body or "null"))
        if _take_over_dead(engine, row):
            continue
        if time.monotonic() >= deadline:
            raise IdempotencyInProgress("A request with this Idempotency-Key is still being processed. Retry later.")
        time.sleep(0.05)


def hold(session: Session, claim: Claim) -> None:
    """Lock the claimed row for the rest of the effect's transaction (first thing in it): while the
    lock is held the claim is alive; a claim already taken over raises TakenOver and runs nothing."""
    held = session.exec(
        select(ApiIdempotencyRecord.id)
        .where(col(ApiIdempotencyRecord.id) == claim.record_id, col(ApiIdempotencyRecord.status) == "started")
        .with_for_update()
    ).first()
    if held is None:
        raise TakenOver("A request with this Idempotency-Key is still being processed. Retry later.")


def complete(session: Session, claim: Claim, status_code: int, body: Any) -> None:
    """Store the response in the caller's transaction (commits with the effect), after `hold` in
    that transaction: the claimed row is locked, so it is not read again: one UPDATE."""
    if claim.record is not None and claim.record.status == "started":
        row: ApiIdempotencyRecord | None = session.merge(claim.record, load=False)
    else:
        row = session.get(ApiIdempotencyRecord, claim.record_id)
    if row is None:
        return
    row.status, row.response_code = "done", status_code
    row.response_body = json.dumps(body, separators=(",", ":"))
    row.completed_at = utcnow()
    session.add(row)


def abandon(engine: Engine, claim: Claim) -> None:
    """Release the key after a server error (nothing was committed): the client may retry."""
    with Session(engine) as s:
        s.execute(delete(ApiIdempotencyRecord).where(col(ApiIdempotencyRecord.id) == claim.record_id))
        s.commit()


def purge_expired(session: Session) -> int:
    """Forget records older than the retention (a replay after that runs the request again)."""
    result = session.execute(
        delete(ApiIdempotencyRecord).where(col(ApiIdempotencyRecord.created_at) < utcnow() - RETENTION)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]  # DELETE yields a CursorResult
