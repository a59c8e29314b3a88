"""Housekeeping jobs: license expiry, the Redis slot lock, and the scheduler's job table."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import redis
from sqlmodel import Session, select

from reup_app import migrations
from reup_app.db import build_engine
from reup_app.errors import PermissionDenied
from reup_app.jobs import housekeeping
from reup_app.jobs.locks import run_exclusive, slot_key
from reup_app.jobs.scheduler import JOBS, build_scheduler, guarded
from reup_app.models import License
from reup_app.security.principal import Principal, system_principal
from reup_app.services.compliance.licenses import expire_past_due_licenses
from reup_app.settings import load_settings
from tests.dbutil import drop_mysql_database, fresh_mysql_database
from tests.factories import make_entity, make_license

NOW = datetime(2026, 3, 10, 14, 30, tzinfo=UTC)
TODAY = NOW.date()


@pytest.fixture(scope="module")
def engine():
    """An own database, so the expiry job's count covers only this module's licenses."""
    name = f"reup_jobs_{uuid.uuid4().hex[:10]}"
    url = fresh_mysql_database(name)
    eng = build_engine(url)
    try:
        migrations.upgrade(url)
        yield eng
    finally:
        eng.dispose()
        drop_mysql_database(name)


@pytest.fixture
def session(engine):
    with Session(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def licenses(session):
    """Licenses around the expiry boundary; the job must change exactly the two past-due ones."""
    entity = make_entity(session, "wholesaler")
    rows = {
        "yesterday": make_license(session, entity, expires_on=TODAY - timedelta(days=1)),
        "last_year_pending": make_license(session, entity, expires_on=TODAY - timedelta(days=365), status="pending"),
        "today": make_license(session, entity, expires_on=TODAY),
        "next_month": make_license(session, entity, expires_on=TODAY + timedelta(days=30)),
        "no_date": make_license(session, entity, expires_on=None),
        "suspended_past": make_license(session, entity, expires_on=TODAY - timedelta(days=3), status="suspended"),
    }
    yield rows
    # Leave nothing past-due behind for the next test's exact counts.
    for lic in session.exec(select(License).where(License.entity_id == entity.id)).all():
        lic.expires_on = None
        session.add(lic)
    session.commit()


def _statuses(engine, rows) -> dict[str, str]:
    with Session(engine) as s:
        return {key: s.get(License, lic.id).status for key, lic in rows.items()}


@pytest.fixture
def redis_client(redis_url):
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def prefix(redis_client):
    """A private key prefix, so these tests never collide with a running worker."""
    p = f"reup:test-jobs:{uuid.uuid4().hex[:10]}:"
    yield p
    for key in redis_client.scan_iter(f"{p}*"):
        redis_client.delete(key)


# -------------------------------------------------------------------------------------------
# license expiry
# -------------------------------------------------------------------------------------------


@pytest.mark.mysql
def test_expire_licenses_marks_only_past_due(engine, licenses):
    assert housekeeping.expire_licenses(NOW, engine=engine) == 2
    assert _statuses(engine, licenses) == {
        "yesterday": "expired",
        "last_year_pending": "expired",
        "today": "active",  # valid through its expiry date
        "next_month": "active",
        "no_date": "active",
        "suspended_past": "suspended",  # the regulator's status wins
    }
    with Session(engine) as s:
        assert s.get(License, licenses["yesterday"].id).updated_at > licenses["yesterday"].updated_at
    # Running again is a no-op.
    assert housekeeping.expire_licenses(NOW, engine=engine) == 0


@pytest.mark.mysql
def test_expiry_day_after_marks_todays_license(engine, licenses):
    housekeeping.expire_licenses(NOW, engine=engine)
    assert housekeeping.expire_licenses(NOW + timedelta(days=1), engine=engine) == 1
    assert _statuses(engine, licenses)["today"] == "expired"


@pytest.mark.mysql
def test_expiry_service_refuses_ordinary_users(engine, licenses):
    member = Principal(user_id=1, entity_id=licenses["yesterday"].entity_id, roles=frozenset({"owner"}))
    with Session(engine) as s, pytest.raises(PermissionDenied):
        expire_past_due_licenses(s, member, NOW)
    assert _statuses(engine, licenses)["yesterday"] == "active"
    admin = Principal(user_id=1, is_platform_admin=True)
    with Session(engine) as s:
        assert expire_past_due_licenses(s, admin, NOW) == 2
        s.rollback()
    with Session(engine) as s:
        assert expire_past_due_licenses(s, system_principal("test"), NOW) == 2
        s.rollback()


# -------------------------------------------------------------------------------------------
# the Redis lock
# -------------------------------------------------------------------------------------------


@pytest.mark.redis
def test_lock_lets_only_one_of_two_concurrent_workers_run(redis_url, prefix):
    runs = []
    barrier = threading.Barrier(2)
    outcomes = []

    def job():
        runs.append(threading.current_thread().name)
        time.sleep(0.3)
        return "done"

    def worker():
        barrier.wait()
        outcomes.append(run_exclusive("demo_job", job, redis_url=redis_url, now=NOW, prefix=prefix))

    threads = [threading.Thread(target=worker, name=f"w{i}") for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert len(runs) == 1
    assert sorted(o.ran for o in outcomes) == [False, True]
    assert [o.result for o in outcomes if o.ran] == ["done"]

    # A worker whose timer fires later in the same period skips too; the next period runs.
    later = run_exclusive("demo_job", job, redis_url=redis_url, now=NOW + timedelta(minutes=20), prefix=prefix)
    assert later.ran is False
    next_hour = run_exclusive("demo_job", job, redis_url=redis_url, now=NOW + timedelta(hours=1), prefix=prefix)
    assert next_hour.ran is True
    assert len(runs) == 2


@pytest.mark.redis
@pytest.mark.mysql
def test_expire_job_skips_when_another_worker_holds_the_slot(engine, licenses, redis_url, redis_client, prefix):
    key = slot_key("expire_licenses", 3600, NOW, prefix)
    redis_client.set(key, "other-worker", ex=60)

    def job():
        return housekeeping.expire_licenses(NOW, engine=engine)

    outcome = run_exclusive("expire_licenses", job, redis_url=redis_url, now=NOW, prefix=prefix)
    assert outcome.ran is False
    assert _statuses(engine, licenses)["yesterday"] == "active"
    assert redis_client.get(key) == b"other-worker"  # not ours to release

    outcome = run_exclusive("expire_licenses", job, redis_url=redis_url, now=NOW + timedelta(hours=1), prefix=prefix)
    assert outcome.ran is True and outcome.result == 2
    assert _statuses(engine, licenses)["yesterday"] == "expired"


@pytest.mark.redis
def test_failed_run_frees_its_slot_for_a_retry(redis_url, redis_client, prefix):
    def broken():
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        run_exclusive("flaky", broken, redis_url=redis_url, now=NOW, prefix=prefix)
    assert redis_client.get(slot_key("flaky", 3600, NOW, prefix)) is None
    assert run_exclusive("flaky", lambda: 7, redis_url=redis_url, now=NOW, prefix=prefix).result == 7


def test_without_redis_the_job_runs_directly():
    calls = []
    outcome = run_exclusive("no_redis", lambda: calls.append(1) or len(calls), redis_url=None)
    assert outcome.ran is True and outcome.result == 1 and calls == [1]


# -------------------------------------------------------------------------------------------
# the scheduler
# -------------------------------------------------------------------------------------------


def test_scheduler_runs_expire_licenses_hourly_in_utc(monkeypatch):
    for var in ("REUP_REDIS_URL", "REUP_ENV", "REUP_DATABASE_URL"):
        monkeypatch.delenv(var, raising=False)
    scheduler = build_scheduler(load_settings())
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {spec.id for spec in JOBS} and "expire_licenses" in jobs
    assert str(scheduler.timezone) == "UTC"
    trigger = jobs["expire_licenses"].trigger
    first = trigger.get_next_fire_time(None, datetime(2026, 1, 1, 0, 0, tzinfo=UTC))
    second = trigger.get_next_fire_time(first, first + timedelta(seconds=1))
    assert second - first == timedelta(hours=1)
    assert jobs["expire_licenses"].max_instances == 1 and jobs["expire_licenses"].coalesce is True
    assert not scheduler.running


def test_guarded_job_logs_failures_instead_of_raising(caplog):
    from reup_app.jobs.scheduler import JobSpec

    def boom():
        raise ValueError("boom")

    spec = JobSpec("boom", boom, JOBS[0].trigger, period_seconds=3600)
    assert guarded(spec, None)() is None
    assert any("job boom failed" in r.getMessage() for r in caplog.records)


@pytest.mark.mysql
def test_expiry_follows_each_license_state_calendar_around_midnight(engine):
    """At 23:30 Pacific (07:30 UTC the next day) a CA license expiring "today" stays active;
    a New York one with the same date has expired (it is already 02:30 there)."""
    night = datetime(2026, 1, 11, 7, 30, tzinfo=UTC)  # 2026-01-10 23:30 PST
    day = date(2026, 1, 10)
    with Session(engine) as s:
        entity = make_entity(s)
        ca = make_license(s, entity, state="CA", expires_on=day)
        ny = make_license(s, entity, state="NY", expires_on=day)
        s.commit()
        ids = {"ca": ca.id, "ny": ny.id}
    housekeeping.expire_licenses(night, engine=engine)
    with Session(engine) as s:
        assert s.get(License, ids["ca"]).status == "active"
        assert s.get(License, ids["ny"]).status == "expired"
    housekeeping.expire_licenses(night + timedelta(minutes=31), engine=engine)  # midnight in CA
    with Session(engine) as s:
        assert s.get(License, ids["ca"]).status == "expired"


@pytest.mark.mysql
def test_buyer_licenses_and_lot_sellability_use_the_license_state_date(engine, monkeypatch):
    """Checkout's license list and the stock lock's sellable lots ask the same calendar."""
    from reup_app.models import InventoryLot, Product
    from reup_app.services.compliance import license_calendar
    from reup_app.services.inventory.lots import StockLock
    from reup_app.services.ordering.checkout_licenses import buyer_licenses
    from tests.factories import make_member, make_product

    monkeypatch.setattr(license_calendar, "utcnow", lambda: datetime(2026, 1, 11, 7, 30, tzinfo=UTC))  # 23:30 PST
    day = date(2026, 1, 10)
    with Session(engine, expire_on_commit=False) as s:
        buyer = make_entity(s, "retailer")
        ca = make_license(s, buyer, state="CA", status="active", expires_on=day)
        make_license(s, buyer, state="NY", status="active", expires_on=day)
        _, principal = make_member(s, buyer)
        assert [c.id for c in buyer_licenses(s, principal)] == [ca.id]

        seller = make_entity(s, "wholesaler")
        seller_ca = make_license(s, seller, state="CA", status="active")
        product: Product = make_product(s, seller)
        lot = InventoryLot(
            product_id=product.id,
            license_id=seller_ca.id,
            package_label=f"PKG-{product.id}",
            quantity_on_hand=5,
            quantity_available=5,
            expires_on=day,
        )
        s.add(lot)
        s.commit()
        assert [x.id for x in StockLock(s, [product.id]).sellable_lots(product.id, seller_ca.id)] == [lot.id]
        s.rollback()
        monkeypatch.setattr(license_calendar, "utcnow", lambda: datetime(2026, 1, 11, 8, 0, tzinfo=UTC))  # 00:00 PST
        assert StockLock(s, [product.id]).sellable_lots(product.id, seller_ca.id) == []
        s.rollback()


def test_scheduler_runs_the_email_sender_every_minute(monkeypatch):
    for var in ("REUP_REDIS_URL", "REUP_ENV", "REUP_DATABASE_URL"):
        monkeypatch.delenv(var, raising=False)
    jobs = {job.id: job for job in build_scheduler(load_settings()).get_jobs()}
    trigger = jobs["send_due_emails"].trigger
    first = trigger.get_next_fire_time(None, datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC))
    assert first == datetime(2026, 1, 1, 0, 1, tzinfo=UTC)
    assert trigger.get_next_fire_time(first, first + timedelta(seconds=1)) - first == timedelta(minutes=1)
