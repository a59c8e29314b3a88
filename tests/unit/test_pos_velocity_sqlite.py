"""The sales sync's velocity and trend on SQLite (the embedded default `scripts/start.sh` runs): the
queries use MySQL's DATEDIFF, which the SQLite engine provides (reup_app/db.py)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlmodel import Session, SQLModel, select

import reup_app.models  # noqa: F401  (registers every table)
from reup_app.db import build_engine
from reup_app.models import PosDailySales, PosProduct
from reup_app.services.pos.velocity import refresh_velocities, weighted_velocity
from tests.factories import make_entity, make_license

TODAY = date(2026, 11, 28)


@pytest.fixture
def db(tmp_path):
    engine = build_engine(f"sqlite:///{tmp_path / 'pos.db'}")
    SQLModel.metadata.create_all(engine)
    with Session(engine, expire_on_commit=False) as s:
        s.info["audit_disabled"] = True  # audit_log's BIGINT id is not auto-numbered by SQLite
        yield s
    engine.dispose()


def test_datediff_counts_whole_days_and_passes_null(db):
    assert db.execute(text("SELECT datediff('2026-11-28', '2026-11-21')")).scalar_one() == 7
    assert db.execute(text("SELECT datediff('2026-03-01', '2026-02-28 23:59:59')")).scalar_one() == 1
    assert db.execute(text("SELECT datediff(NULL, '2026-11-21')")).scalar_one() is None


def test_refresh_velocities_on_sqlite_matches_the_reference(db):
    store = make_license(db, make_entity(db, kind="retailer"))
    db.add(PosProduct(license_id=store.id, pos_product_id=1, name="Blue Dream 3.5g"))
    units_by_age = {1: Decimal(4), 3: Decimal(2), 10: Decimal(6), 40: Decimal(9)}  # 40 days: before the window
    for age, units in units_by_age.items():
        db.add(PosDailySales(license_id=store.id, pos_product_id=1, day=TODAY - timedelta(days=age), units=units))
    db.add(PosDailySales(license_id=store.id, pos_product_id=1, day=TODAY, units=Decimal(50)))  # today: not a full day
    db.commit()

    assert refresh_velocities(db, store.id, TODAY) == 1
    db.commit()
    row = db.exec(select(PosProduct).where(PosProduct.license_id == store.id)).one()
    expected = weighted_velocity({a: u for a, u in units_by_age.items() if a <= 28}, 28)
    assert row.velocity == Decimal(str(round(expected, 3)))
    assert row.velocity_days == 28
    weeks = [int(w) for w in row.trend.split(",")]
    assert weeks[-1] == 6 and weeks[-2] == 6 and weeks[-6] == 9  # ages 1-7, 8-14, 36-42 (oldest first)
    assert sum(weeks) == 21
