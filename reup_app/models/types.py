"""Column types and field helpers shared by every table.

- Strings always carry a length (MySQL rejects VARCHAR without one).
- Money is DECIMAL(12,2) and quantities DECIMAL(14,3); never float.
- Times are stored as UTC (DATETIME(6) on MySQL) and come back timezone-aware.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Numeric, String, Text
from sqlalchemy.dialects import mysql
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field

MONEY = Numeric(12, 2)
QUANTITY = Numeric(14, 3)
PERCENT = Numeric(5, 2)
ZERO = Decimal("0")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes; naive values are refused rather than guessed."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "mysql":
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("datetimes stored by ReUp must be timezone-aware (use reup_app.models.types.utcnow())")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def __repr__(self) -> str:
        return "UtcDateTime()"


def str_field(length: int, **kw: Any) -> Any:
    return Field(sa_type=String(length), **kw)


def text_field(**kw: Any) -> Any:
    return Field(sa_type=Text, **kw)


def money_field(default: Decimal | None = ZERO, **kw: Any) -> Any:
    return Field(default=default, sa_type=MONEY, **kw)


def qty_field(default: Decimal | None = ZERO, **kw: Any) -> Any:
    return Field(default=default, sa_type=QUANTITY, **kw)


def percent_field(**kw: Any) -> Any:
    return Field(default=None, sa_type=PERCENT, **kw)


def ts_field(**kw: Any) -> Any:
    """A required timestamp defaulting to now (UTC)."""
    kw.setdefault("default_factory", utcnow)
    return Field(sa_type=UtcDateTime, **kw)


def opt_ts_field(**kw: Any) -> Any:
    return Field(default=None, sa_type=UtcDateTime, **kw)
