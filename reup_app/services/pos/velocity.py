"""Per-product sell-through of a store, computed once per sales sync and stored on pos_products, so
the suggestions page reads one row per product instead of aggregating months of daily sales:

- velocity: units per day over the last WINDOW_DAYS full days, each day weighted 0.5^(age/7)
  (a day a week older counts half), days without sales counted as zero; a store with fewer days
  of history is averaged over the days it has;
- trend: weekly units of the last TREND_WEEKS weeks, oldest first."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, text, update
from sqlmodel import Session, col, select

from reup_app.models import PosDailySales, PosProduct

WINDOW_DAYS = 28
HALF_LIFE_DAYS = 7.0
TREND_WEEKS = 12


def weighted_velocity(units_by_age: dict[int, Decimal], days: int) -> float:
    """Σ u·w / Σ w over ages 1..days (w = 0.5^(age/7)); ages without sales count as 0."""
    weights = [0.5 ** (age / HALF_LIFE_DAYS) for age in range(1, days + 1)]
    total = sum(float(units_by_age.get(age, 0)) * w for age, w in zip(range(1, days + 1), weights, strict=True))
    return total / sum(weights) if weights else 0.0


def bulk_update(session: Session, license_id: int, rows: list[dict[str, Any]], fields: list[str]) -> None:
    """Set `fields` of the store's pos_products rows named by pos_product_id: on MySQL through a
    temporary table and one UPDATE ... JOIN (an executemany UPDATE is one round trip per row)."""
    if not rows:
        return
    if session.get_bind().dialect.name != "mysql":
        for row in rows:
            session.execute(
                update(PosProduct)
                .where(
                    col(PosProduct.license_id) == license_id, col(PosProduct.pos_product_id) == row["pos_product_id"]
                )
                .values({f: row[f] for f in fields})
            )
        return
    types = {"velocity": "DECIMAL(14,3)", "velocity_days": "INT", "trend": "VARCHAR(128)",
             "matched_product_id": "INT NULL", "match_rule": "VARCHAR(16)"}  # fmt: skip
    session.execute(text("DROP TEMPORARY TABLE IF EXISTS tmp_pos_update"))
    columns = ", ".join(f"{f} {types[f]}" for f in fields)
    session.execute(text(f"CREATE TEMPORARY TABLE tmp_pos_update (pos_product_id INT PRIMARY KEY, {columns})"))
    names = ["pos_product_id", *fields]
    session.execute(
        text(f"INSERT INTO tmp_pos_update ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})"),
        [{n: r[n] for n in names} for r in rows],
    )
    sets = ", ".join(f"p.{f} = t.{f}" for f in fields)
    session.execute(
        text(
            "UPDATE pos_products p JOIN tmp_pos_update t ON p.pos_product_id = t.pos_product_id "
            f"SET {sets} WHERE p.license_id = :license_id"
        ),
        {"license_id": license_id},
    )
    session.execute(text("DROP TEMPORARY TABLE tmp_pos_update"))


def refresh_velocities(session: Session, license_id: int, today: date) -> int:
    """Recompute velocity and trend of every product of the store; returns the products with sales."""
    first = session.exec(select(func.min(PosDailySales.day)).where(PosDailySales.license_id == license_id)).one()
    days = max(1, min(WINDOW_DAYS, (today - first).days)) if first else WINDOW_DAYS
    norm = sum(0.5 ** (a / HALF_LIFE_DAYS) for a in range(1, days + 1))
    start = today - timedelta(days=7 * TREND_WEEKS)
    age = func.datediff(today, PosDailySales.day)
    weighted: dict[int, float] = {
        pid: float(total or 0)
        for pid, total in session.exec(
            select(PosDailySales.pos_product_id, func.sum(PosDailySales.units * func.pow(0.5, age / HALF_LIFE_DAYS)))
            .where(PosDailySales.license_id == license_id, col(PosDailySales.day) < today)
            .where(col(PosDailySales.day) >= today - timedelta(days=days))
            .group_by(col(PosDailySales.pos_product_id))
        ).all()
    }
    week = func.floor((age - 1) / 7)
    weeks: dict[int, list[int]] = defaultdict(lambda: [0] * TREND_WEEKS)
    for pid, wk, units in session.exec(
        select(PosDailySales.pos_product_id, week, func.sum(PosDailySales.units))
        .where(PosDailySales.license_id == license_id, col(PosDailySales.day) >= start, col(PosDailySales.day) < today)
        .group_by(col(PosDailySales.pos_product_id), week)
    ).all():
        if 0 <= int(wk) < TREND_WEEKS:
            weeks[pid][TREND_WEEKS - 1 - int(wk)] = int(units or 0)
    session.execute(
        update(PosProduct)
        .where(col(PosProduct.license_id) == license_id)
        .values(velocity=Decimal(0), velocity_days=days, trend="")
        .execution_options(synchronize_session=False)
    )
    out = [
        {
            "pos_product_id": pid,
            "velocity": Decimal(str(round(weighted.get(pid, 0.0) / norm, 3))),
            "velocity_days": days,
            "trend": ",".join(str(u) for u in weeks[pid]),
        }  # fmt: skip
        for pid in weeks.keys() | weighted.keys()
    ]
    bulk_update(session, license_id, out, ["velocity", "velocity_days", "trend"])
    return len(out)
