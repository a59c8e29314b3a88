"""POST /api/v1/orders: a buyer's order from lines, through the same cart and checkout rules as the
cart page. The lines go into the API key's own cart (its service-account user's), and checkout runs
in the same transaction, so the cart is empty again whether it succeeds or fails."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from reup_app.errors import ValidationError
from reup_app.models import ApiKey, Product
from reup_app.security.principal import Principal
from reup_app.services.common import begin_read_committed, parse_int
from reup_app.services.ordering import cart
from reup_app.services.ordering.checkout_flow import CheckoutResult, checkout

MAX_LINES = 200


def _lock_in_order(session: Session, principal: Principal, lines: Sequence[Mapping[str, Any]]) -> None:
    """Take the locks checkout will need before the cart rows are written, in checkout's order:
    the key's own row first (one order at a time per key: the key has one cart), then the products
    by id (FOR UPDATE, as `inventory.StockLock` takes them). Without this, inserting cart rows takes
    shared locks on the products that two concurrent checkouts would then both try to upgrade."""
    session.execute(select(col(ApiKey.id)).where(col(ApiKey.user_id) == principal.user_id).with_for_update())
    ids = sorted({parse_int(line.get("product_id"), "product_id") for line in lines})
    session.execute(select(col(Product.id)).where(col(Product.id).in_(ids)).order_by(col(Product.id)).with_for_update())


def create_order(
    session: Session,
    principal: Principal,
    *,
    buyer_license_id: int,
    lines: Sequence[Mapping[str, Any]],
    choices: Mapping[int, Mapping[str, Any]] | None,
    idempotency_key: str,
) -> CheckoutResult:
    """One submitted order per seller of the lines' products (like checkout of a cart)."""
    if not lines or len(lines) > MAX_LINES:
        raise ValidationError(f"An order needs 1..{MAX_LINES} lines.", "lines")
    begin_read_committed(session)
    _lock_in_order(session, principal, lines)
    cart.clear_cart(session, principal)
    for line in lines:
        cart.add_to_cart(session, principal, line["product_id"], line["quantity"])
    return checkout(
        session, principal, buyer_license_id=buyer_license_id, choices=choices, idempotency_key=idempotency_key
    )
