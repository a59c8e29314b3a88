"""The catalog query: parse and validate what a buyer asks for (text, filters, sort, page)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, overload

from reup_app.errors import ValidationError
from reup_app.models.enums import (
    Category,
    StrainType,
)

__all__ = ["DEFAULT_PAGE_SIZE", "MAX_PAGE", "MAX_PAGE_SIZE", "MAX_TEXT_LENGTH", "SORTS", "CatalogQuery"]


SORTS: tuple[str, ...] = ("relevance", "name", "price_asc", "price_desc", "thc_desc", "newest")


DEFAULT_SORT = "name"


DEFAULT_PAGE_SIZE = 24


MAX_PAGE_SIZE = 100


# Deep OFFSETs cost the database as much as reading every earlier page; nobody pages this far.
MAX_PAGE = 10_000


MAX_TEXT_LENGTH = 100


MAX_PRICE = Decimal("9999999999.99")  # DECIMAL(12,2)


MAX_PERCENT = Decimal(100)


_TRUE = frozenset({"1", "true", "yes", "on", "y", "t"})


_FALSE = frozenset({"0", "false", "no", "off", "n", "f", ""})


_SPACE_RE = re.compile(r"\s+", re.UNICODE)


_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def _echo(value: Any) -> str:
    """A short, printable rendering of a bad user value for an error message."""
    text = _CONTROL_RE.sub("", str(value))
    return text if len(text) <= 40 else text[:37] + "..."


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _parse_decimal(value: Any, label: str, field_name: str) -> Decimal | None:
    if _blank(value):
        return None
    if isinstance(value, bool):
        raise ValidationError(f"{label} must be a number.", field_name)
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise ValidationError(f"{label} must be a number, not {_echo(value)!r}.", field_name) from None
    else:
        raise ValidationError(f"{label} must be a number.", field_name)
    return number


@overload
def _parse_int(value: Any, label: str, field_name: str, default: int) -> int: ...
@overload
def _parse_int(value: Any, label: str, field_name: str, default: None) -> int | None: ...
def _parse_int(value: Any, label: str, field_name: str, default: int | None) -> int | None:
    if _blank(value):
        return default
    if isinstance(value, bool):
        raise ValidationError(f"{label} must be a whole number.", field_name)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"[+-]?\d{1,12}", text):
            return int(text)
        raise ValidationError(f"{label} must be a whole number, not {_echo(value)!r}.", field_name)
    if isinstance(value, (float, Decimal)) and value == int(value):
        return int(value)
    raise ValidationError(f"{label} must be a whole number.", field_name)


def _parse_bool(value: Any, label: str, field_name: str) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ValidationError(f"{label} must be true or false, not {_echo(value)!r}.", field_name)


def _parse_choice(value: Any, allowed: tuple[str, ...], what: str, field_name: str) -> str | None:
    if _blank(value):
        return None
    if not isinstance(value, str):
        raise ValidationError(f"Unknown {what} {_echo(value)!r}.", field_name)
    text = value.strip().lower()
    if text not in allowed:
        raise ValidationError(
            f"Unknown {what} {_echo(value.strip())!r}. Choose one of: {', '.join(allowed)}.", field_name
        )
    return text


def _normalise_text(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError("Search text must be text.", "text")
    return _SPACE_RE.sub(" ", _CONTROL_RE.sub(" ", value)).strip()


def _check_range(
    lo: Decimal | None, hi: Decimal | None, *, what: str, field_name: str, upper: Decimal, places: int = 2
) -> None:
    for bound, which in ((lo, "Minimum"), (hi, "Maximum")):
        if bound is None:
            continue
        if not isinstance(bound, Decimal) or not bound.is_finite():
            raise ValidationError(f"{which} {what} must be a number.", f"{field_name}_{which[:3].lower()}")
        if bound < 0:
            raise ValidationError(f"{which} {what} cannot be negative.", f"{field_name}_{which[:3].lower()}")
        if bound > upper:
            raise ValidationError(f"{which} {what} cannot be more than {upper}.", f"{field_name}_{which[:3].lower()}")
        if bound != bound.quantize(Decimal(1).scaleb(-places), rounding="ROUND_DOWN"):
            raise ValidationError(
                f"{which} {what} can have at most {places} decimal places.", f"{field_name}_{which[:3].lower()}"
            )
    if lo is not None and hi is not None and lo > hi:
        raise ValidationError(f"Minimum {what} cannot be more than the maximum {what}.", f"{field_name}_min")


_FIELDS = (
    "text",
    "category",
    "strain_type",
    "thc_min",
    "thc_max",
    "price_min",
    "price_max",
    "in_stock",
    "seller_entity_id",
    "sort",
    "page",
    "page_size",
)


@dataclass
class CatalogQuery:
    """A validated catalog search. Build it from untrusted input with `CatalogQuery.parse(**raw)`."""

    text: str = ""
    category: str | None = None
    strain_type: str | None = None
    thc_min: Decimal | None = None
    thc_max: Decimal | None = None
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    in_stock: bool = False
    seller_entity_id: int | None = None
    sort: str = DEFAULT_SORT
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE

    @classmethod
    def parse(cls, **raw: Any) -> CatalogQuery:
        """Turn browser input (strings, possibly empty, possibly hostile) into a valid query.

        Empty strings and None mean "no filter" / the default. Unknown option names are refused so
        a typo in a caller cannot silently drop a filter. Raises `ValidationError` (with `.field`).
        """
        unknown = sorted(set(raw) - set(_FIELDS))
        if unknown:
            raise ValidationError(f"Unknown search option {_echo(unknown[0])!r}.", unknown[0])
        q = cls(
            text=_normalise_text(raw.get("text")),
            category=_parse_choice(raw.get("category"), _CATEGORIES, "category", "category"),
            strain_type=_parse_choice(raw.get("strain_type"), _STRAIN_TYPES, "strain type", "strain_type"),
            thc_min=_parse_decimal(raw.get("thc_min"), "Minimum THC %", "thc_min"),
            thc_max=_parse_decimal(raw.get("thc_max"), "Maximum THC %", "thc_max"),
            price_min=_parse_decimal(raw.get("price_min"), "Minimum price", "price_min"),
            price_max=_parse_decimal(raw.get("price_max"), "Maximum price", "price_max"),
            in_stock=_parse_bool(raw.get("in_stock"), "In stock", "in_stock"),
            seller_entity_id=_parse_int(raw.get("seller_entity_id"), "Seller", "seller_entity_id", None),
            sort=_parse_choice(raw.get("sort"), SORTS, "sort order", "sort") or DEFAULT_SORT,
            page=_parse_int(raw.get("page"), "Page", "page", 1),
            page_size=_parse_int(raw.get("page_size"), "Page size", "page_size", DEFAULT_PAGE_SIZE),
        )
        q.validate()
        return q

    def validate(self) -> CatalogQuery:
        """Check a query built directly (e.g. by server code); normalises `text`. Returns self."""
        self.text = _normalise_text(self.text)
        if len(self.text) > MAX_TEXT_LENGTH:
            raise ValidationError(f"Search text must be at most {MAX_TEXT_LENGTH} characters.", "text")
        if self.category is not None and self.category not in _CATEGORIES:
            raise ValidationError(
                f"Unknown category {_echo(self.category)!r}. Choose one of: {', '.join(_CATEGORIES)}.", "category"
            )
        if self.strain_type is not None and self.strain_type not in _STRAIN_TYPES:
            raise ValidationError(
                f"Unknown strain type {_echo(self.strain_type)!r}. Choose one of: {', '.join(_STRAIN_TYPES)}.",
                "strain_type",
            )
        if self.sort not in SORTS:
            raise ValidationError(
                f"Unknown sort order {_echo(self.sort)!r}. Choose one of: {', '.join(SORTS)}.", "sort"
            )
        _check_range(self.price_min, self.price_max, what="price", field_name="price", upper=MAX_PRICE)
        _check_range(self.thc_min, self.thc_max, what="THC %", field_name="thc", upper=MAX_PERCENT)
        if not isinstance(self.in_stock, bool):
            raise ValidationError("In stock must be true or false.", "in_stock")
        if self.seller_entity_id is not None and (
            isinstance(self.seller_entity_id, bool)
            or not isinstance(self.seller_entity_id, int)
            or self.seller_entity_id < 1
        ):
            raise ValidationError("Unknown seller.", "seller_entity_id")
        if isinstance(self.page, bool) or not isinstance(self.page, int) or self.page < 1:
            raise ValidationError("Page must be 1 or more.", "page")
        if self.page > MAX_PAGE:
            raise ValidationError(f"Page cannot be more than {MAX_PAGE}; narrow your search instead.", "page")
        if (
            isinstance(self.page_size, bool)
            or not isinstance(self.page_size, int)
            or not 1 <= self.page_size <= MAX_PAGE_SIZE
        ):
            raise ValidationError(f"Page size must be between 1 and {MAX_PAGE_SIZE}.", "page_size")
        return self

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


_CATEGORIES = tuple(c.value for c in Category)


_STRAIN_TYPES = tuple(s.value for s in StrainType)
