"""Each seller's part of a checkout: the payment terms, delivery window and notes the buyer chose, checked against what the seller offers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reup_app.errors import (
    Conflict,
    ValidationError,
)
from reup_app.models import (
    CartItem,
    Entity,
    Product,
)
from reup_app.models.enums import (
    EntityStatus,
)
from reup_app.models.types import utcnow
from reup_app.services.common import (
    clean_text,
    parse_datetime,
    parse_int,
)
from reup_app.services.ordering.cart import (
    hold_message,
    offered_terms,
)


@dataclass
class _SellerPlan:
    seller: Entity
    items: list[CartItem]
    terms: str
    notes: str | None
    delivery_preferences: str | None
    start: datetime | None
    end: datetime | None
    license_id: int | None


def _normalise_choices(choices: Mapping[Any, Any] | None) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for key, value in (choices or {}).items():
        seller_id = parse_int(key, "choices")
        if value is None:
            value = {}
        if not isinstance(value, Mapping):
            raise ValidationError("Invalid checkout choices.", "choices")
        unknown = set(value) - CHOICE_KEYS
        if unknown:
            raise ValidationError(f"Unknown checkout choice {sorted(unknown)[0]!r}.", "choices")
        out[seller_id] = dict(value)
    return out


def _plan_for(seller: Entity, items: list[CartItem], choice: dict[str, Any]) -> _SellerPlan:
    offered = offered_terms(seller)
    terms = choice.get("payment_terms") or (offered[0] if offered else None)
    terms = str(terms).strip().lower() if terms is not None else None
    if terms not in offered:
        nice = ", ".join(offered) or "none"
        raise ValidationError(
            f"{seller.name} doesn't offer {terms or 'those'} payment terms (offered: {nice}).", "payment_terms"
        )
    start = parse_datetime(choice.get("requested_delivery_start"), "requested_delivery_start")
    end = parse_datetime(choice.get("requested_delivery_end"), "requested_delivery_end")
    if start and end and end < start:
        raise ValidationError("The delivery window ends before it starts.", "requested_delivery_end")
    latest = end or start
    if latest and latest < utcnow():
        raise ValidationError("The requested delivery window is in the past.", "requested_delivery_start")
    license_id = choice.get("seller_license_id")
    return _SellerPlan(
        seller=seller,
        items=items,
        terms=terms,
        notes=clean_text(choice.get("notes"), "notes", max_len=2000),
        delivery_preferences=clean_text(choice.get("delivery_preferences"), "delivery_preferences", max_len=1000),
        start=start,
        end=end,
        license_id=parse_int(license_id, "seller_license_id") if license_id not in (None, "") else None,
    )


def _plan_seller(
    items: list[CartItem],
    products: Mapping[int, Product],
    seller: Entity,
    holds: Iterable[int],
    chosen: dict[int, dict[str, Any]],
) -> _SellerPlan:
    """One seller's plan, refusing a seller that isn't approved or has the buyer on hold."""
    if seller.status != EntityStatus.APPROVED:
        raise ValidationError(f"{seller.name} is not accepting orders right now.")
    if seller.id in holds:
        raise Conflict(hold_message(seller))
    mine = [i for i in items if products[i.product_id].entity_id == seller.id]
    return _plan_for(seller, mine, chosen.get(seller.id, {}))


CHOICE_KEYS = frozenset(
    {
        "payment_terms",
        "delivery_preferences",
        "requested_delivery_start",
        "requested_delivery_end",
        "notes",
        "seller_license_id",
    }
)
