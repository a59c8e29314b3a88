"""Small helpers shared by the order-flow services: argument parsing, money rounding, numbering.

Everything a page hands to a service is untrusted: these helpers turn it into typed values or
raise `ValidationError` with a message fit to show the user.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal, TypeVar, overload

from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select
from sqlalchemy.orm import Mapper, load_only
from sqlalchemy.orm.strategy_options import _AbstractLoad
from sqlmodel import Session

from reup_app.errors import (
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from reup_app.security.permissions import authorize, is_allowed
from reup_app.security.principal import Principal
from reup_app.services import kind_check  # noqa: F401  (installs the business-kind lookup of authorize)

_Row = TypeVar("_Row")

CENT = Decimal("0.01")
MILLI = Decimal("0.001")
ZERO = Decimal("0")
MAX_QUANTITY = Decimal("1000000")
MAX_MONEY = Decimal("9999999999.99")  # DECIMAL(12,2)
IDEMPOTENCY_KEY_RE = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")


def q2(value: Decimal) -> Decimal:
    """Round money to cents, half up."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _decimal(value: Any, field: str, label: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise ValidationError(f"Enter a {label}.", field)
    if isinstance(value, float):
        value = repr(value)
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise ValidationError(f"{str(value)[:20]!r} is not a valid {label}.", field) from None
    if not d.is_finite():
        raise ValidationError(f"Enter a valid {label}.", field)
    return d


def parse_quantity(value: Any, field: str = "quantity", *, allow_zero: bool = False) -> Decimal:
    """A quantity: a finite Decimal with at most 3 decimal places, > 0 (or >= 0), below a sane cap."""
    d = _decimal(value, field, "quantity")
    if d < 0 or (d == 0 and not allow_zero):
        raise ValidationError(
            "Quantity must be greater than zero." if not allow_zero else "Quantity can't be negative.", field
        )
    if d > MAX_QUANTITY:  # before quantize (see parse_money)
        raise ValidationError(f"Quantity can't exceed {MAX_QUANTITY:,}.", field)
    if d != d.quantize(MILLI):
        raise ValidationError("Quantity can have at most 3 decimal places.", field)
    return d.quantize(MILLI)


def parse_signed_quantity(value: Any, field: str) -> Decimal:
    """A non-zero change of quantity, e.g. "-2" or 5."""
    d = _decimal(value, field, "quantity")
    if d == 0:
        raise ValidationError("The change can't be zero.", field)
    magnitude = parse_quantity(abs(d), field)
    return magnitude if d > 0 else -magnitude


def parse_money(value: Any, field: str = "amount", *, allow_zero: bool = False) -> Decimal:
    """An amount of money: a finite Decimal with at most 2 decimal places, > 0 (or >= 0)."""
    d = _decimal(value, field, "amount")
    if d < 0 or (d == 0 and not allow_zero):
        raise ValidationError(
            "Amount must be greater than zero." if not allow_zero else "Amount can't be negative.", field
        )
    if d > MAX_MONEY:  # before quantize: a number past the context's 28 digits cannot be quantized
        raise ValidationError("That amount is too large.", field)
    if d != d.quantize(CENT):
        raise ValidationError("Amounts can have at most 2 decimal places (cents).", field)
    return d.quantize(CENT)


def parse_int(value: Any, field: str) -> int:
    if isinstance(value, bool):
        raise ValidationError(f"Invalid {field}.", field)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError(f"Invalid {field}.", field) from None


@overload
def clean_text(value: Any, field: str, *, max_len: int, required: Literal[True], label: str | None = None) -> str: ...
@overload
def clean_text(
    value: Any, field: str, *, max_len: int, required: bool = False, label: str | None = None
) -> str | None: ...
def clean_text(value: Any, field: str, *, max_len: int, required: bool = False, label: str | None = None) -> str | None:
    """Strip a user-supplied string; None/blank becomes None (or an error when required)."""
    label = label or field.replace("_", " ")
    if value is None:
        text = ""
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise ValidationError(f"Invalid {label}.", field)
    if "\x00" in text:
        raise ValidationError(f"Invalid {label}.", field)
    if not text:
        if required:
            raise ValidationError(f"Enter {label}.", field)
        return None
    if len(text) > max_len:
        raise ValidationError(f"{label.capitalize()} can be at most {max_len} characters.", field)
    return text


def parse_datetime(value: Any, field: str) -> datetime | None:
    """An aware datetime (ISO strings accepted); naive values are taken as UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError(f"Invalid date/time for {field.replace('_', ' ')}.", field) from None
    if not isinstance(value, datetime):
        raise ValidationError(f"Invalid date/time for {field.replace('_', ' ')}.", field)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@overload
def check_idempotency_key(key: Any, *, required: Literal[True]) -> str: ...
@overload
def check_idempotency_key(key: Any, *, required: bool) -> str | None: ...
def check_idempotency_key(key: Any, *, required: bool) -> str | None:
    if key is None or key == "":
        if required:
            raise ValidationError("A request key is required (reload the page and try again).", "idempotency_key")
        return None
    if not isinstance(key, str) or not IDEMPOTENCY_KEY_RE.match(key):
        raise ValidationError("Invalid request key.", "idempotency_key")
    return key


def begin_read_committed(session: Session) -> None:
    """Run this unit of work at READ COMMITTED, if it has not touched the database yet.

    The order flow takes explicit row locks (SELECT ... FOR UPDATE on the order, the products,
    their lots, the cart, the invoice) for everything that must not race. Under READ COMMITTED
    each later read sees what was committed before the lock was granted, and InnoDB takes no gap
    locks, which under REPEATABLE READ make unrelated inserts (new orders, new timeline rows)
    deadlock with transactions holding product locks. `SET TRANSACTION` covers only this
    transaction, so the connection goes back to the pool at its default level. A session that has
    already run statements keeps its level and snapshot: call mutating services first in their
    own unit of work. No-op on SQLite (one writer at a time anyway).
    """
    if not session.in_transaction() and session.get_bind().dialect.name == "mysql":
        # Applies to the next transaction only, so nothing has to be reset afterwards.
        session.connection().exec_driver_sql("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")


def get_row(session: Session, model: type[_Row], key: Any) -> _Row:
    """The row a foreign key or an earlier check guarantees; LookupError if it has gone since."""
    row = session.get(model, key)
    if row is None:
        raise LookupError(f"{model.__name__} {key!r} does not exist")
    return row


def load_columns(model: type, *names: str) -> _AbstractLoad:
    """A load_only() option for the named columns of a table model (typed through its mapper)."""
    mapper: Mapper[Any] = sa_inspect(model)
    return load_only(*(mapper.attrs[name].class_attribute for name in names))


def acting_user(principal: Principal) -> int:
    """The signed-in user's id; NotAuthenticated for anyone else."""
    if principal.user_id is None or not principal.is_authenticated:
        raise NotAuthenticated("Please sign in to continue.")
    return principal.user_id


def require_member(principal: Principal) -> int:
    """The entity a signed-in user acts for; services that act *as* a business need one."""
    if principal.is_system:
        raise PermissionDenied("This action needs a signed-in member of a business.")
    if not principal.is_authenticated:
        raise NotAuthenticated("Please sign in to continue.")
    if principal.entity_id is None:
        raise PermissionDenied("Choose a business to act for first.")
    return principal.entity_id


def to_json(data: Any) -> str:
    return json.dumps(data, default=str, separators=(",", ":"), sort_keys=True)


def from_json(raw: str | None) -> dict:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {"value": value}


def new_numbers(session: Session, column, prefix: str, count: int, digits: int = 8) -> list[str]:
    """`count` fresh random numbers like "RU-04829174" not yet used in `column` (a unique column).

    Random rather than sequential so a business can't read its competitors' volume off its own
    order numbers. The final guard is the column's unique constraint.
    """
    out: list[str] = []
    while len(out) < count:
        wanted = count - len(out)
        candidates = {f"{prefix}{secrets.randbelow(10**digits):0{digits}d}" for _ in range(wanted)}
        candidates -= set(out)
        taken = set(session.execute(select(column).where(column.in_(candidates))).scalars())
        out.extend(sorted(candidates - taken))
    return out[:count]


def dedupe(values: Iterable[int]) -> list[int]:
    return sorted({int(v) for v in values})


def money_str(value: Decimal) -> str:
    return f"{q2(value):,.2f}"


def authorize_party(principal: Principal, action: str, entity_ids: Iterable[int | None], not_found: str) -> int | None:
    """Authorize `action` on a row owned by one of `entity_ids` (e.g. an order's buyer and seller).

    Returns the entity the principal acts for (None for the system or a platform admin's
    oversight). Someone with no stake in the row gets NotFound, not PermissionDenied, so row
    numbers can't be probed; a member of an owning entity without the role gets PermissionDenied.
    """
    owners = [e for e in entity_ids if e is not None]
    if principal.is_system:
        return None
    if not principal.is_authenticated:
        raise NotAuthenticated("Please sign in to continue.")
    if principal.entity_id is not None and principal.entity_id in owners:
        authorize(principal, action, principal.entity_id)
        return principal.entity_id
    if principal.is_platform_admin and owners and is_allowed(principal, action, owners[0]):
        return None
    raise NotFound(not_found)


def fmt_qty(value: Decimal) -> str:
    """3.000 -> "3", 2.500 -> "2.5"."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
