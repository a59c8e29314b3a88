"""Idempotency-Key records on MySQL: written in the effect's own transaction, so a request that dies
leaves nothing behind; a twin with the same key waits for the first and replays its answer (or goes
ahead if the first rolled back); and the effect runs at the isolation level its service chose."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import text
from sqlmodel import Session
from starlette.requests import Request

from reup_app.api.v1 import deps
from reup_app.models import ApiIdempotencyRecord
from reup_app.services.common import begin_read_committed
from reup_app.services.public_api import idempotency, keys
from tests.integration.apikit import new_key
from tests.integration.orderkit import make_buyer

pytestmark = [pytest.mark.mysql]
ROUTE = "/api/v1/orders"


@pytest.fixture
def owner(session):
    return make_buyer(session).owner


@pytest.fixture
def key_id(engine, owner):
    return new_key(engine, owner)[0]


def _claim(key_id: int, digest: str = "a" * 64) -> idempotency.Claim:
    return idempotency.claim_for(key_id, ROUTE, uuid.uuid4().hex, digest)


def _record_in_thread(engine, claim: idempotency.Claim, body: dict, outcome: list) -> threading.Thread:
    def run() -> None:
        with Session(engine) as s:
            try:
                idempotency.record(s, claim, 201, body)
                s.commit()
                outcome.append("recorded")
            except idempotency.KeyTaken:
                s.rollback()
                outcome.append("taken")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_request_that_dies_before_commit_leaves_nothing_and_its_retry_runs(engine, key_id):
    claim = _claim(key_id)
    dying = Session(engine)
    idempotency.record(dying, claim, 201, {"number": "R-1"})
    conn_id = dying.execute(text("SELECT CONNECTION_ID()")).scalar_one()
    with engine.connect() as admin:
        admin.exec_driver_sql(f"KILL {int(conn_id)}")  # the process dies: MySQL rolls its transaction back
    dying.invalidate()

    assert idempotency.stored(engine, claim) is None
    with Session(engine) as retry:
        idempotency.record(retry, claim, 201, {"number": "R-2"})
        retry.commit()
    assert idempotency.stored(engine, claim) == idempotency.Replay(201, {"number": "R-2"})


def test_a_twin_waits_for_the_first_request_and_then_replays_its_answer(engine, key_id):
    claim = _claim(key_id)
    outcome: list[str] = []
    with Session(engine) as first:
        idempotency.record(first, claim, 201, {"number": "R-1"})
        twin = _record_in_thread(engine, claim, {"number": "R-2"}, outcome)
        twin.join(1.0)
        assert twin.is_alive() and not outcome  # waiting on the first one's uncommitted record
        first.commit()
    twin.join(10)
    assert outcome == ["taken"]
    assert idempotency.stored(engine, claim) == idempotency.Replay(201, {"number": "R-1"})


def test_a_twin_of_a_request_that_rolled_back_goes_ahead(engine, key_id):
    claim = _claim(key_id)
    outcome: list[str] = []
    with Session(engine) as first:
        idempotency.record(first, claim, 201, {"number": "R-1"})
        twin = _record_in_thread(engine, claim, {"number": "R-2"}, outcome)
        twin.join(1.0)
        assert twin.is_alive()
        first.rollback()
    twin.join(10)
    assert outcome == ["recorded"]
    assert idempotency.stored(engine, claim) == idempotency.Replay(201, {"number": "R-2"})


def test_a_key_used_with_another_request_is_refused(engine, key_id):
    claim = _claim(key_id, "b" * 64)
    with Session(engine) as s:
        idempotency.record(s, claim, 201, {"number": "R-1"})
        s.commit()
    with pytest.raises(idempotency.IdempotencyMismatch):
        idempotency.stored(engine, idempotency.Claim(claim.api_key_id, claim.route, claim.key, "c" * 64))


def _request(path: str) -> Request:
    return Request({"type": "http", "method": "POST", "path": path, "headers": [], "query_string": b""})


def test_an_api_post_runs_its_effect_at_the_isolation_level_its_service_chose(engine, owner, key_id):
    """Services that lock rows explicitly run at READ COMMITTED (`begin_read_committed`, before their
    first statement); behind an Idempotency-Key they must too, not at the server's default."""

    def effect(session: Session, _principal) -> tuple[int, dict]:
        begin_read_committed(session)
        session.execute(text("SELECT id FROM api_keys WHERE id = :k FOR UPDATE"), {"k": key_id})  # in InnoDB now
        level = session.execute(
            text(
                "SELECT trx_isolation_level FROM information_schema.innodb_trx WHERE trx_mysql_thread_id = CONNECTION_ID()"
            )
        ).scalar_one()
        return 201, {"level": level}

    identity = keys.KeyIdentity(principal=owner, key_id=key_id, rate_limit_per_minute=100)
    key = uuid.uuid4().hex
    first = deps.idempotent_post(_request("/api/v1/probe"), identity, key, b"{}", effect)
    again = deps.idempotent_post(_request("/api/v1/probe"), identity, key, b"{}", effect)

    assert (first.status_code, first.body) == (201, b'{"level":"READ COMMITTED"}')
    assert (again.status_code, again.body, again.headers["idempotent-replayed"]) == (201, first.body, "true")


def test_a_started_claim_left_by_an_earlier_version_counts_as_never_answered(engine, key_id):
    claim = _claim(key_id)
    with Session(engine) as s:
        s.add(
            ApiIdempotencyRecord(
                api_key_id=claim.api_key_id, route=claim.route, idem_key=claim.key, request_hash=claim.digest
            )
        )
        s.commit()
    assert idempotency.stored(engine, claim) is None
    with Session(engine) as retry:
        idempotency.record(retry, claim, 201, {"number": "R-3"})
        retry.commit()
    assert idempotency.stored(engine, claim) == idempotency.Replay(201, {"number": "R-3"})
