"""Platform metrics for the admin console: GMV, orders per day, active businesses, order funnel.

Definitions (one place, so every chart means the same thing):
- An order *counts* once the buyer submitted it (`submitted_at` set), dated by `submitted_at`
  (UTC calendar day), over the last `days` days up to and including today; empty days are zero.
- GMV is the sum of order totals (with tax) of counted orders that were not rejected or
  cancelled.
- A business is *active* on a day when it is the buyer or the seller of an order counted that
  day; the headline figure counts distinct businesses over the whole window.
- The funnel counts the window's counted orders that reached each stage: placed (all), accepted
  (accepted_at set), shipped (shipped_at set), delivered (delivered_at set), complete.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session, col

from reup_app.errors import ValidationError
from reup_app.models import Order
from reup_app.models.enums import OrderStatus
from reup_app.models.types import utcnow
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal

MAX_DAYS = 366
NOT_GMV = (OrderStatus.REJECTED.value, OrderStatus.CANCELLED.value)


@dataclass(frozen=True)
class DayPoint:
    day: date
    orders: int
    gmv: Decimal
    active_businesses: int


@dataclass(frozen=True)
class PlatformMetrics:
    days: int
    gmv: Decimal = Decimal("0")
    orders: int = 0
    active_businesses: int = 0
    series: list[DayPoint] = field(default_factory=list)
    funnel: list[tuple[str, int]] = field(default_factory=list)


def platform_metrics(session: Session, principal: Principal, *, days: int = 30) -> PlatformMetrics:
    authorize(principal, "platform.metrics.view", None)
    if not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise ValidationError(f"Days must be between 1 and {MAX_DAYS}.", field="days")
    today = utcnow().date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time.min, tzinfo=UTC)
    rows = session.execute(
        select(
            col(Order.submitted_at),
            col(Order.status),
            col(Order.total),
            col(Order.buyer_entity_id),
            col(Order.seller_entity_id),
            col(Order.accepted_at),
            col(Order.shipped_at),
            col(Order.delivered_at),
            col(Order.completed_at),
        ).where(col(Order.submitted_at).is_not(None), col(Order.submitted_at) >= since)
    ).all()
    per_day: dict[date, list] = {first + timedelta(days=i): [0, Decimal("0"), set()] for i in range(days)}
    active: set[int] = set()
    gmv = Decimal("0")
    stages = {"Placed": 0, "Accepted": 0, "Shipped": 0, "Delivered": 0, "Complete": 0}
    for submitted, status, total, buyer, seller, accepted, shipped, delivered, completed in rows:
        bucket = per_day.get(submitted.astimezone(UTC).date())
        if bucket is None:
            continue
        bucket[0] += 1
        bucket[2].update((buyer, seller))
        active.update((buyer, seller))
        if status not in NOT_GMV:
            bucket[1] += total or Decimal("0")
            gmv += total or Decimal("0")
        for name, reached in (
            ("Placed", True),
            ("Accepted", accepted),
            ("Shipped", shipped),
            ("Delivered", delivered),
            ("Complete", completed),
        ):
            stages[name] += 1 if reached else 0
    series = [DayPoint(day=d, orders=v[0], gmv=v[1], active_businesses=len(v[2])) for d, v in sorted(per_day.items())]
    return PlatformMetrics(
        days=days,
        gmv=gmv,
        orders=sum(p.orders for p in series),
        active_businesses=len(active),
        series=series,
        funnel=list(stages.items()),
    )
