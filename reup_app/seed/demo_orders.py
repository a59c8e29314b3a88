"""Place orders on the demo data through the service layer, as a retailer would: used by the
real-time browser tests and benchmark to act from "another process" (like the job worker)."""

from __future__ import annotations

import math
import uuid
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import col

from reup_app.db import unit_of_work
from reup_app.models import Entity, License, Product
from reup_app.security.principal import Principal
from reup_app.seed.demo import DEMO_PASSWORD
from reup_app.services.identity import sign_in
from reup_app.services.ordering import cart, checkout_flow, orders


def demo_principal(email: str, password: str = DEMO_PASSWORD) -> Principal:
    """Sign in through the auth service (argon2 check, MFA-free demo accounts)."""
    with unit_of_work(None) as s:
        result = sign_in.login(s, email=email, password=password)
    if result.principal is None:
        raise RuntimeError(f"{email} cannot sign in without a browser step ({result.status})")
    return result.principal


def entity_id_named(name: str) -> int:
    with unit_of_work(None) as s:
        return s.execute(select(col(Entity.id)).where(col(Entity.name) == name)).scalar_one()


def stocked_products(seller_entity_id: int) -> list[Product]:
    """The seller's available products, most stock first."""
    with unit_of_work(None) as s:
        return list(
            s.execute(
                select(Product)
                .where(
                    col(Product.entity_id) == seller_entity_id,
                    col(Product.available_qty) > 0,
                    col(Product.listing_state) == "available",
                )
                .order_by(col(Product.available_qty).desc(), col(Product.id))
            ).scalars()
        )


def place_demo_order(
    buyer: Principal, seller_entity_id: int, minimum: Decimal = Decimal("800"), product_id: int | None = None
) -> str:
    """Cart one in-stock product of the seller (`product_id`, or the one with the most stock) worth at
    least `minimum`, check out; the order number."""
    products = [p for p in stocked_products(seller_entity_id) if product_id in (None, p.id)]
    with unit_of_work(buyer) as s:
        license_id = (
            s.execute(
                select(col(License.id)).where(
                    col(License.entity_id) == buyer.entity_id, col(License.status) == "active"
                )
            )
            .scalars()
            .first()
        )
    if license_id is None:
        raise RuntimeError("the buyer has no active license to order with")
    for product in products:
        step = product.min_order_qty or Decimal(1)
        qty = max(step, step * math.ceil(minimum / (product.unit_price * step)))
        if qty <= product.available_qty:
            break
    else:
        raise RuntimeError("the seller has no product with enough stock left")
    with unit_of_work(buyer) as s:
        cart.add_to_cart(s, buyer, product.id, qty)
    with unit_of_work(buyer) as s:
        result = checkout_flow.checkout(
            s,
            buyer,
            buyer_license_id=license_id,
            idempotency_key=uuid.uuid4().hex,
            seller_entity_ids=[seller_entity_id],
        )
    return result.orders[0].number


def move_order(actor: Principal, number: str, action: str) -> None:
    with unit_of_work(actor) as s:
        orders.transition(s, actor, number, action, idempotency_key=uuid.uuid4().hex)
