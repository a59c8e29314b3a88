"""When an invoice is overdue: the one rule for invoice pages, the PDF, invoice lists and dashboards.

An invoice is due on its due date in the calendar of the seller license it was issued under
(`compliance.license_calendar`: the date in that license's state). It is overdue from the next
day while a balance is open: an invoice due today is not overdue, and "overdue by N days" counts
calendar days, so N is at least 1.

SQL uses the same rule: due_at before the start of "today" in the license's state (one bound per
time zone, so the condition stays a handful of comparisons whatever the number of invoices).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time
from decimal import Decimal

from sqlalchemy import and_, exists, or_, select
from sqlmodel import col

from reup_app.models import Invoice, License, Order
from reup_app.models.types import utcnow
from reup_app.services.compliance.license_calendar import STATE_ZONES, license_today, state_zone


def due_date(due_at: datetime, state: str) -> date:
    """The invoice's due date in the calendar of its license's state."""
    return due_at.astimezone(state_zone(state)).date()


def days_overdue(due_at: datetime, balance: Decimal, state: str, now: datetime | None = None) -> int:
    """Calendar days past the due date with a balance open (0 when not overdue; due today is 0)."""
    if balance <= 0:
        return 0
    return max(0, (license_today(state, now) - due_date(due_at, state)).days)


def start_of_today(state: str, now: datetime | None = None) -> datetime:
    """Midnight of today in the state's calendar, as a UTC instant: due_at before it = overdue."""
    midnight = datetime.combine(license_today(state, now), time(), tzinfo=state_zone(state))
    return midnight.astimezone(UTC)


def _states_by_zone() -> dict[str, list[str]]:
    zones: dict[str, list[str]] = defaultdict(list)
    for state, zone in STATE_ZONES.items():
        zones[zone].append(state)
    return zones


def overdue_clause(now: datetime | None = None):
    """SQL: the invoice (in a statement over `Invoice`) is past its due date in its seller
    license's calendar. Combine with the open-balance conditions."""
    now = now or utcnow()
    per_zone = [
        and_(col(License.state).in_(states), col(Invoice.due_at) < start_of_today(states[0], now))
        for states in _states_by_zone().values()
    ]
    return exists(
        select(col(License.id))
        .join(Order, col(Order.seller_license_id) == col(License.id))
        .where(col(Order.id) == col(Invoice.order_id), or_(*per_zone))
    )
