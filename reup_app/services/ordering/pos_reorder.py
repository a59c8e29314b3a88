"""Reorder suggestions (services/pos/suggestions) into the cart: one suggestion, or all of them,
through the cart's own `add_to_cart` (its rules: sellable listing, stock, minimums)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from reup_app.errors import NotFound, ServiceError
from reup_app.security.principal import Principal
from reup_app.services.ordering.cart import add_to_cart
from reup_app.services.pos.suggestions import store_suggestions


@dataclass(frozen=True)
class ReorderResult:
    added: int
    skipped: list[str]  # "<product>: <why>"


def add_suggestions_to_cart(
    session: Session, principal: Principal, license_id: int, pos_ids: list[int] | None = None
) -> ReorderResult:
    """Add the store's current suggestions (only `pos_ids` when given) at their suggested quantities.
    The suggestions are recomputed here, so a stale page cannot add quantities the math no longer gives."""
    current = store_suggestions(session, principal, license_id).items
    chosen = current if pos_ids is None else [s for s in current if s.pos_id in set(pos_ids)]
    if pos_ids is not None and not chosen:
        raise NotFound("That suggestion is no longer current; the list has been refreshed.")
    added, skipped = 0, []
    for s in chosen:
        try:
            with session.begin_nested():
                add_to_cart(session, principal, s.product_id, s.quantity)
            added += 1
        except ServiceError as err:
            skipped.append(f"{s.product_name}: {err}")
    return ReorderResult(added, skipped)
