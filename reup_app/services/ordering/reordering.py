"""Reorder: put a past order's still-sellable products back in the buyer's cart."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlmodel import Session, col

from reup_app.errors import (
    PermissionDenied,
    ServiceError,
)
from reup_app.models import (
    Product,
)
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services.common import (
    begin_read_committed,
    fmt_qty,
)
from reup_app.services.ordering import cart
from reup_app.services.ordering.orders import BUYER, load_order
from reup_app.services.ordering.records import _lines


@dataclass(frozen=True)
class ReorderResult:
    added: list[cart.CartItemDTO] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)  # {"sku", "name", "reason"}
    # lines added with less than was ordered (less in stock): {"sku", "name", "ordered", "added"}
    trimmed: list[dict[str, str]] = field(default_factory=list)


def reorder(session: Session, principal: Principal, number: str) -> ReorderResult:
    """Put a past order's lines back in the principal's cart (the buyer's side only).

    Lines whose product is no longer sold are skipped with a reason; when less is in stock than
    was ordered, what is available is added (if that still meets the product's minimum).
    """
    begin_read_committed(session)
    order, side = load_order(session, principal, number)
    if side != BUYER:
        raise PermissionDenied("Only the buyer can reorder an order.")
    authorize(principal, "cart.manage", order.buyer_entity_id)
    result = ReorderResult()
    products = {
        p.id: p
        for p in session.execute(
            select(Product).where(col(Product.id).in_([ln.product_id for ln in _lines(session, order)]))
        ).scalars()
    }
    for line in _lines(session, order):
        product = products.get(line.product_id)
        qty = line.quantity
        if product is not None and qty > product.available_qty:
            qty = product.available_qty
            if product.unit_of_measure == "each":
                qty = qty.to_integral_value(rounding="ROUND_FLOOR")
        if qty <= 0:
            result.skipped.append({"sku": line.sku, "name": line.product_name, "reason": "Out of stock."})
            continue
        try:
            result.added.append(cart.add_to_cart(session, principal, line.product_id, qty))
        except ServiceError as err:
            result.skipped.append({"sku": line.sku, "name": line.product_name, "reason": str(err)})
            continue
        if qty < line.quantity:
            result.trimmed.append(
                {"sku": line.sku, "name": line.product_name, "ordered": fmt_qty(line.quantity), "added": fmt_qty(qty)}
            )
    return result
