"""Display formatting shared by pages and e-mails (no reflex, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

CATEGORY_LABELS = {
    "flower": "Flower",
    "pre_rolls": "Pre-rolls",
    "vapes": "Vapes",
    "edibles": "Edibles",
    "concentrates": "Concentrates",
    "tinctures": "Tinctures",
    "topicals": "Topicals",
}
STRAIN_TYPE_LABELS = {"indica": "Indica", "sativa": "Sativa", "hybrid": "Hybrid", "cbd": "CBD", "none": ""}
DELIVERY_STATUS_LABELS = {
    "pending": "Waiting to be scheduled",
    "scheduled": "Scheduled",
    "dispatched": "Driver dispatched",
    "in_transit": "On the way",
    "delivered": "Delivered",
    "failed": "Delivery failed",
    "cancelled": "Delivery cancelled",
}
UNIT_LABELS = {"each": "unit", "g": "g", "oz": "oz", "ml": "ml"}


def money(value: Decimal | None) -> str:
    if value is None:
        return ""
    q = Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    sign = "-" if q < 0 else ""
    return f"{sign}${abs(q):,.2f}"


def quantity(value: Decimal | None) -> str:
    if value is None:
        return ""
    q = Decimal(value).normalize()
    text = f"{q:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    whole, _, frac = text.partition(".")
    whole = f"{int(whole):,}" if whole.lstrip("-").isdigit() else whole
    return f"{whole}.{frac}" if frac else whole


def percent(value: Decimal | None) -> str:
    if value is None:
        return ""
    return f"{Decimal(value).quantize(Decimal('0.1'))}%"


def format_datetime(value: datetime | None) -> str:
    """UTC time for tables: "2026-11-24 21:40 UTC" ("" for None)."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
