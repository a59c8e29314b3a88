"""The outbox on MariaDB: exactly once under a handler whose POST times out after the vendor applied
it (reconcile first), retry budget -> dead -> admin retry without blocking other rows, Retry-After,
fencing against a stale leader, and SKIP LOCKED claims that never overlap."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from reup_app import migrations
from reup_app.db import build_engine
from reup_app.errors import PermissionDenied, ValidationError
from reup_app.integrations.errors import AmbiguousWrite, RateLimited, Rejected, Unavailable
from reup_app.integrations.http.ratelimit import MemoryRateLimiter
from reup_app.integrations.http.transport import RetryPolicy, close_all_clients
from reup_app.integrations.metrc import MetrcClient
from reup_app.jobs.fencing import StaleLeader
from reup_app.jobs.outbox_sender import Fence, claim_due, deliver, outbox_handler, send_due, unregister
from reup_app.models.outbox import OutboxMessage
from reup_app.models.types import utcnow
from reup_app.security.principal import Principal
from reup_app.services.integrations import error_queue
from reup_app.services.integrations.outbox import enqueue
from tests.dbutil import drop_mysql_database, fresh_mysql_database
from tests.fake_metrc import CREDS, LIC, FakeMetrc
from tests.vendor_server import VendorServer

ADMIN = Principal(user_id=1, is_platform_admin=True)
LATER = timedelta(hours=2)  # claim "in the future" so rows waiting on backoff are due


@pytest.fixture(scope="module")
def engine():
    """An own database: the sender claims every due row, so no other module's rows may be there."""
    name = f"reup_outbox_{uuid.uuid4().hex[:10]}"
    url = fresh_mysql_database(name)
    eng = build_engine(url)
    try:
        migrations.upgrade(url)
        yield eng
    finally:
        eng.dispose()
        drop_mysql_database(name)
        close_all_clients()


@pytest.fixture
def fence():
    return Fence(100, name=f"t-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def kind():
    k = f"test.k{uuid.uuid4().hex[:8]}"
    yield k
    unregister(k)


def put(engine, kind, reference=None, **kw) -> int:
    with Session(engine) as s:
        row = enqueue(
            s, kind, target_table="orders", target_id=1, payload={"n": 1}, reference=reference or uuid.uuid4().hex, **kw
        )
        s.commit()
        return row.id


def row(engine, message_id) -> OutboxMessage:
    with Session(engine) as s:
        return s.get(OutboxMessage, message_id)


def drain(engine, fence, *, passes=10) -> None:
    for _ in range(passes):
        claimed = claim_due(engine, fence, now=utcnow() + LATER)
        if not claimed:
            return
        for msg in claimed:
            deliver(engine, fence, msg)


def test_timeout_after_apply_reconciles_instead_of_posting_twice(engine, fence, kind):
    fake = FakeMetrc()
    fake.slow_posts, fake.slow_seconds = 1, 1.5
    calls: list[bool] = []
    with VendorServer(fake) as server:
        client = MetrcClient(
            server.url, CREDS, limiter=MemoryRateLimiter(), timeout=0.5, retry=RetryPolicy(attempts=2, base=0.01)
        )

        @outbox_handler(kind)
        def create_template(msg):
            calls.append(msg.maybe_sent)
            if msg.maybe_sent:
                found = client.find_outgoing_template(
                    LIC, msg.reference, msg.created_at - timedelta(hours=1), utcnow() + timedelta(minutes=5)
                )
                if found:
                    return {"template_id": found.id, "reconciled": True}
            result = client.create_outgoing_templates(LIC, [{"Name": msg.reference}])
            return {"template_id": result.ids[0]}

        mid = put(engine, kind, reference=f"ReUp ORD-{uuid.uuid4().hex[:6]}")
        first = claim_due(engine, fence)
        assert [m.id for m in first if m.kind == kind] == [mid]
        assert deliver(engine, fence, next(m for m in first if m.id == mid)) == "failed"
        after_timeout = row(engine, mid)
        assert "AmbiguousWrite" in after_timeout.last_error and after_timeout.send_started_at is not None
        drain(engine, fence)
        time.sleep(1.2)  # let the slow answer finish on the server side
        posts = server.requests("POST")
    done = row(engine, mid)
    assert done.status == "sent" and '"reconciled": true' in done.result
    assert calls == [False, True] and len(posts) == 1 and len(fake.templates) == 1


def test_budget_then_dead_then_admin_retry_and_other_rows_flow(engine, fence, kind):
    broken = {"on": True}

    @outbox_handler(kind)
    def flaky(msg):
        if broken["on"] and msg.payload.get("n") == 1:
            raise Unavailable("vendor down")
        return {"ok": True}

    bad = put(engine, kind, max_attempts=3)
    with Session(engine) as s:
        good = enqueue(s, kind, target_table="orders", target_id=2, payload={"n": 2}, reference=uuid.uuid4().hex).id
        s.commit()
    drain(engine, fence)
    assert row(engine, good).status == "sent"
    dead = row(engine, bad)
    assert dead.status == "dead" and dead.attempts == 3 and "vendor down" in dead.last_error
    with Session(engine) as s:
        listed = error_queue.dead_messages(s, ADMIN)
        assert bad in [m.id for m in listed]
        with pytest.raises(PermissionDenied):
            error_queue.dead_messages(s, Principal(user_id=5, entity_id=3, roles=frozenset({"owner"})))
        with pytest.raises(ValidationError):
            error_queue.retry_message(s, ADMIN, good)  # only dead rows
        error_queue.retry_message(s, ADMIN, bad)
        s.commit()
    assert row(engine, bad).status == "pending" and row(engine, bad).attempts == 0
    broken["on"] = False
    drain(engine, fence)
    assert row(engine, bad).status == "sent"


def test_rejected_and_unknown_kinds_go_dead_at_once(engine, fence, kind):
    @outbox_handler(kind)
    def refuse(msg):
        raise Rejected("bad license", vendor_message="Recipient license is invalid")

    rejected = put(engine, kind)
    orphan = put(engine, f"{kind}.nohandler")
    drain(engine, fence)
    assert row(engine, rejected).status == "dead" and row(engine, rejected).send_started_at is None
    assert row(engine, orphan).status == "dead" and "no outbox handler" in row(engine, orphan).last_error


def test_rate_limited_waits_at_least_retry_after(engine, fence, kind):
    @outbox_handler(kind)
    def limited(msg):
        raise RateLimited("slow down", retry_after=90)

    mid = put(engine, kind)
    before = utcnow()
    msg = next(m for m in claim_due(engine, fence) if m.id == mid)
    assert deliver(engine, fence, msg) == "failed"
    assert row(engine, mid).next_attempt_at >= before + timedelta(seconds=90)


def test_stale_leader_can_neither_claim_nor_record(engine, kind):
    name = f"t-{uuid.uuid4().hex[:8]}"
    old, new = Fence(7, name), Fence(8, name)

    @outbox_handler(kind)
    def ok(msg):
        return {"ok": True}

    mid = put(engine, kind)
    claimed_by_old = [m for m in claim_due(engine, old) if m.id == mid]
    assert claimed_by_old  # the old leader claimed before the new one existed
    # the new leader writes (raising the fence to 8); the old claim is not yet abandoned, so not re-claimed
    assert mid not in [m.id for m in claim_due(engine, new)]
    with pytest.raises(StaleLeader):
        deliver(engine, old, claimed_by_old[0])  # its outcome is refused...
    with pytest.raises(StaleLeader):
        claim_due(engine, old)  # ...and it cannot claim any more
    assert row(engine, mid).status == "sending" and row(engine, mid).fencing_token == 7
    drain(engine, new)  # the abandoned claim is taken over once its claim times out
    final = row(engine, mid)
    assert final.status == "sent" and final.fencing_token == 8


def test_concurrent_senders_claim_disjoint_rows(engine, fence, kind):
    sent: list[int] = []
    lock = threading.Lock()

    @outbox_handler(kind)
    def record(msg):
        with lock:
            sent.append(msg.id)
        return None

    ids = {put(engine, kind) for _ in range(30)}
    barrier = threading.Barrier(3)

    def sender():
        barrier.wait()
        for _ in range(5):
            send_due(engine, fence, limit=4, concurrency=2)

    threads = [threading.Thread(target=sender) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    drain(engine, fence)
    mine = [i for i in sent if i in ids]
    assert sorted(mine) == sorted(ids)  # every row once, none twice
    with Session(engine) as s:
        statuses = set(s.exec(select(OutboxMessage.status).where(OutboxMessage.id.in_(ids))).all())
    assert statuses == {"sent"}


def test_enqueue_is_idempotent_per_reference_and_validates(engine, kind):
    ref = uuid.uuid4().hex
    assert put(engine, kind, reference=ref) == put(engine, kind, reference=ref)
    with Session(engine) as s:
        with pytest.raises(ValidationError):
            enqueue(s, "nodot", target_table="orders", target_id=1, payload={}, reference="x")
        with pytest.raises(ValidationError):
            enqueue(s, kind, target_table="orders", target_id=99, payload={}, reference=ref)  # another intent
        with pytest.raises(ValidationError):
            enqueue(s, kind, target_table="orders", target_id=1, payload={}, reference="")


def test_ambiguous_write_keeps_the_reconcile_flag_across_definite_failures(engine, fence, kind):
    outcomes = [AmbiguousWrite("timed out"), Unavailable("refused"), None]
    seen: list[bool] = []

    @outbox_handler(kind)
    def handler(msg):
        seen.append(msg.maybe_sent)
        exc = outcomes.pop(0)
        if exc:
            raise exc
        return {}

    mid = put(engine, kind)
    drain(engine, fence)
    assert row(engine, mid).status == "sent" and seen == [False, True, True]
