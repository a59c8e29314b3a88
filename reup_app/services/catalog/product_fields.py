"""Product fields: parse and validate what a seller enters for a product (form or CSV row)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from reup_app.errors import ValidationError
from reup_app.models.enums import Category, ListingState, StrainType, UnitOfMeasure
from reup_app.services.common import (
    clean_text,
    parse_int,
    parse_money,
    parse_quantity,
)

__all__ = [
    "CATEGORIES",
    "FIELDS",
    "FIELD_LABELS",
    "LISTING_STATES",
    "REQUIRED_FIELDS",
    "STRAIN_TYPES",
    "UNITS",
    "ProductFieldErrors",
    "ProductFields",
    "parse_product_fields",
]


SKU_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")


MAX_DESCRIPTION = 5000


MAX_CASE_SIZE = 100_000


# Form/CSV field names, in the order forms and CSV files show them.
FIELDS: tuple[str, ...] = (
    "sku",
    "name",
    "brand",
    "category",
    "strain_name",
    "strain_type",
    "thc_percent",
    "cbd_percent",
    "unit_of_measure",
    "unit_price",
    "case_size",
    "case_price",
    "min_order_qty",
    "listing_state",
    "description",
)


REQUIRED_FIELDS: tuple[str, ...] = ("sku", "name", "category", "unit_price")


FIELD_LABELS: dict[str, str] = {
    "sku": "SKU",
    "name": "Name",
    "brand": "Brand",
    "category": "Category",
    "strain_name": "Strain",
    "strain_type": "Strain type",
    "thc_percent": "THC %",
    "cbd_percent": "CBD %",
    "unit_of_measure": "Unit",
    "unit_price": "Unit price",
    "case_size": "Case size",
    "case_price": "Case price",
    "min_order_qty": "Minimum order quantity",
    "listing_state": "Listing state",
    "description": "Description",
}


CATEGORIES = tuple(c.value for c in Category)


STRAIN_TYPES = tuple(s.value for s in StrainType)


UNITS = tuple(u.value for u in UnitOfMeasure)


LISTING_STATES = tuple(s.value for s in ListingState)


class ProductFieldErrors(ValidationError):
    """One or more fields are invalid; `errors` maps field -> message."""

    def __init__(self, errors: dict[str, str]):
        first = next(iter(errors))
        super().__init__(
            errors[first]
            if len(errors) == 1
            else f"{len(errors)} fields need attention: " + ", ".join(FIELD_LABELS.get(f, f) for f in errors),
            first,
        )
        self.errors = dict(errors)


@dataclass(frozen=True)
class ProductFields:
    """Validated values for one product (what a form or a CSV row says)."""

    sku: str
    name: str
    brand: str | None
    category: str
    strain_name: str | None
    strain_type: str
    thc_percent: Decimal | None
    cbd_percent: Decimal | None
    unit_of_measure: str
    unit_price: Decimal
    case_size: int
    case_price: Decimal | None
    min_order_qty: Decimal
    listing_state: str
    description: str | None


def _choice(value: Any, allowed: tuple[str, ...], label: str, default: str | None = None) -> str:
    text = value.strip().lower() if isinstance(value, str) else ("" if value is None else None)
    if text is None:
        raise ValueError(f"Invalid {label}.")
    if not text:
        if default is None:
            raise ValueError(f"Choose a {label}.")
        return default
    if text not in allowed:
        raise ValueError(f"Unknown {label} {text[:30]!r}; use one of: {', '.join(allowed)}.")
    return text


def _percent(value: Any, label: str) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        d = parse_money(str(value).strip().rstrip("%"), "percent", allow_zero=True)
    except ValidationError as err:
        msg = str(err).replace("Amounts", f"{label}").replace("Amount", label).replace("amount", label)
        raise ValueError(msg.replace(" (cents)", "")) from None
    if d > 100:
        raise ValueError(f"{label} can't be more than 100.")
    return d


def _money(value: Any, label: str, *, required: bool) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValueError(f"Enter the {label.lower()}.")
        return None
    try:
        return parse_money(str(value).strip().lstrip("$"), "price")
    except ValidationError as err:
        raise ValueError(f"{label}: {err}") from None


def _text(name: str, max_len: int, required: bool = False):
    return lambda v: clean_text(
        v,
        name,
        max_len=max_len,
        required=required,
        label=FIELD_LABELS[name].lower() if required else FIELD_LABELS[name],
    )


def _sku(v):
    value = clean_text(v, "sku", max_len=64, required=True, label="a SKU")
    if not SKU_RE.match(value):
        raise ValueError("SKU may use letters, digits, '.', '_' and '-' only (up to 64).")
    return value


def _case_size(v):
    if v is None or (isinstance(v, str) and not v.strip()):
        return 1
    if isinstance(v, str) and not re.fullmatch(r"\s*\d{1,7}\s*", v):
        raise ValueError("Case size must be a whole number.")
    n = parse_int(v, "case_size")
    if not 1 <= n <= MAX_CASE_SIZE:
        raise ValueError(f"Case size must be between 1 and {MAX_CASE_SIZE:,}.")
    return n


def _min_order_qty(v):
    if v is None or (isinstance(v, str) and not v.strip()):
        return Decimal("1")
    try:
        return parse_quantity(v, "min_order_qty")
    except ValidationError as err:
        raise ValueError(str(err).replace("Quantity", "Minimum order quantity")) from None


def parse_product_fields(raw: Mapping[str, Any]) -> ProductFields:
    """Validate untrusted form/CSV values; raise ProductFieldErrors naming every bad field."""
    if not isinstance(raw, Mapping):
        raise ValidationError("Invalid product details.")
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}

    def check(name: str, fn) -> None:
        try:
            out[name] = fn(raw.get(name))
        except (ValueError, ValidationError) as err:
            errors[name] = str(err)

    check("sku", _sku)
    check("name", _text("name", 255, required=True))
    check("brand", _text("brand", 128))
    check("category", lambda v: _choice(v, CATEGORIES, "category"))
    check("strain_name", _text("strain_name", 128))
    check("strain_type", lambda v: _choice(v, STRAIN_TYPES, "strain type", "none"))
    check("thc_percent", lambda v: _percent(v, "THC %"))
    check("cbd_percent", lambda v: _percent(v, "CBD %"))
    check("unit_of_measure", lambda v: _choice(v, UNITS, "unit", "each"))
    check("unit_price", lambda v: _money(v, "Unit price", required=True))
    check("case_size", _case_size)
    check("case_price", lambda v: _money(v, "Case price", required=False))
    check("min_order_qty", _min_order_qty)
    check("listing_state", lambda v: _choice(v, LISTING_STATES, "listing state", "available"))
    check("description", _text("description", MAX_DESCRIPTION))
    if not errors and out["case_price"] is not None and out["case_size"] < 2:
        errors["case_size"] = "A case price needs a case size of 2 or more."
    if errors:
        raise ProductFieldErrors(errors)
    return ProductFields(**out)
