"""Idempotency-Key claims on MySQL: a claim whose request died is taken over within seconds (its row
lock died with its connection), a live claim never is, however old, and a request whose claim was
taken over runs nothing."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import Session

from reup_app.models import ApiIdempotencyRecord
from reup_app.models.types import utcnow
from reup_app.services.public_api import idempotency
from tests.integration.apikit import new_key
from tests.integration.orderkit import make_buyer

pytestmark = [pytest.mark.mysql]
ROUTE = "/api/v1/orders"


@pytest.fixture
def key_id(engine, session):
    return new_key(engine, make_buyer(session).owner)[0]


def _age(engine, claim: idempotency.Claim, seconds: float) -> None:
    with Session(engine) as s:
        s.execute(
            update(ApiIdempotencyRecord)
            .where(ApiIdempotencyRecord.id == claim.record_id)  # type: ignore[arg-type]
            .values(created_at=utcnow() - timedelta(seconds=seconds))
        )
        s.commit()


def test_a_claim_whose_request_died_is_taken_over_after_seconds_and_the_stalled_request_runs_nothing(engine, key_id):
    key, digest = uuid.uuid4().hex, "a" * 64
    dead = idempotency.begin(engine, key_id, ROUTE, key, digest)
    assert isinstance(dead, idempotency.Claim)
    _age(engine, dead, idempotency.CLAIM_GRACE.total_seconds() + 1)  # never held: its request is gone

    retry = idempotency.begin(engine, key_id, ROUTE, key, digest)

    assert isinstance(retry, idempotency.Claim) and retry.record_id != dead.record_id
    with Session(engine) as s, pytest.raises(idempotency.TakenOver):
        idempotency.hold(s, dead)  # the stalled first request wakes up: it must not run its effect


def test_a_claim_inside_its_grace_is_left_alone(engine, key_id):
    key, digest = uuid.uuid4().hex, "b" * 64
    first = idempotency.begin(engine, key_id, ROUTE, key, digest)
    assert isinstance(first, idempotency.Claim)
    with pytest.raises(idempotency.IdempotencyInProgress):
        idempotency.begin(engine, key_id, ROUTE, key, digest, wait_seconds=0.3)


def test_a_held_claim_is_never_taken_over_however_old_and_its_answer_is_replayed(engine, key_id):
    key, digest = uuid.uuid4().hex, "c" * 64
    live = idempotency.begin(engine, key_id, ROUTE, key, digest)
    assert isinstance(live, idempotency.Claim)
    _age(engine, live, 600)  # older than any time limit: only the lock says it is alive
    outcome: list[object] = []
    with Session(engine) as effect:
        idempotency.hold(effect, live)
        retry = threading.Thread(
            target=lambda: outcome.append(idempotency.begin(engine, key_id, ROUTE, key, digest)), daemon=True
        )
        retry.start()
        retry.join(1.0)
        assert retry.is_alive() and not outcome  # waiting for the running request
        idempotency.complete(effect, live, 201, {"number": "R-1"})
        effect.commit()
    retry.join(10)
    assert outcome == [idempotency.Replay(201, {"number": "R-1"})]
