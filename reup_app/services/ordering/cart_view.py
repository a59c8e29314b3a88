"""The cart as the buyer sees it: lines grouped by seller, with prices, terms and problems to fix."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session, col

from reup_app.models import (
    CartItem,
    Entity,
    License,
    Product,
)
from reup_app.models.enums import LicenseStatus
from reup_app.security.principal import Principal
from reup_app.services.catalog.pricing import buyer_unit_prices
from reup_app.services.common import (
    ZERO,
    fmt_qty,
    q2,
)
from reup_app.services.compliance.license_calendar import is_current
from reup_app.services.inventory.sellable import sellable_quantities
from reup_app.services.ordering.cart import _cart_owner, _holds, _line_issue, hold_message, offered_terms
from reup_app.services.ordering.checkout_licenses import _seller_licenses
from reup_app.services.ordering.license_split import split_over_licenses


@dataclass(frozen=True)
class CartLine:
    cart_item_id: int
    product_id: int
    sku: str
    name: str
    unit_of_measure: str
    quantity: Decimal
    unit_price: Decimal  # what this buyer pays (price tier or list)
    list_price: Decimal
    line_total: Decimal
    min_order_qty: Decimal
    available_qty: Decimal
    issue: str | None  # why this line can't be checked out as it is, or None


@dataclass(frozen=True)
class CartSellerGroup:
    seller_entity_id: int
    seller_name: str
    lines: list[CartLine]
    subtotal: Decimal
    min_order_amount: Decimal
    meets_minimum: bool
    shortfall: Decimal  # how much more to reach the seller's minimum (0 when met)
    payment_terms_offered: list[str]
    on_hold: bool
    hold_message: str | None
    can_checkout: bool
    # How checkout will place this seller's part: one order per seller license that ships it
    # (`license_split`); each entry "license number: what ships from it". Empty when unknown.
    license_orders: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Cart:
    groups: list[CartSellerGroup] = field(default_factory=list)
    item_count: int = 0
    subtotal: Decimal = ZERO


def get_cart(session: Session, principal: Principal, buyer_license_id: int | None = None) -> Cart:
    """The cart grouped by seller, with this buyer's prices and what stands in the way of checkout.

    With the buyer's receiving license (`buyer_license_id`, else its first active one) each group
    also says how checkout splits it over the seller's licenses in that state, and a line more
    than those licenses can ship is an issue, exactly as checkout will decide."""
    entity_id = _cart_owner(principal)
    items = (
        session.execute(
            select(CartItem)
            .where(col(CartItem.buyer_entity_id) == entity_id, col(CartItem.user_id) == principal.user_id)
            .order_by(col(CartItem.id))
        )
        .scalars()
        .all()
    )
    if not items:
        return Cart()
    products = {
        p.id: p
        for p in session.execute(select(Product).where(col(Product.id).in_([i.product_id for i in items]))).scalars()
    }
    sellers = {
        e.id: e
        for e in session.execute(
            select(Entity).where(col(Entity.id).in_({p.entity_id for p in products.values()}))
        ).scalars()
    }
    holds = _holds(session, entity_id, sellers)
    prices = buyer_unit_prices(session, entity_id, list(products.values()))
    by_seller: dict[int, list[CartLine]] = defaultdict(list)
    for item in items:
        product = products.get(item.product_id)
        seller = sellers.get(product.entity_id) if product else None
        line = _cart_line(item, product, seller, prices.get(item.product_id, ZERO), entity_id)
        by_seller[product.entity_id if product else 0].append(line)
    state = _receiving_state(session, entity_id, buyer_license_id)
    splits = _splits(session, by_seller, state) if state else {}
    groups = []
    for seller_id in sorted(by_seller, key=lambda s: (sellers[s].name.lower() if s in sellers else "", s)):
        lines, orders = splits.get(seller_id, (by_seller[seller_id], []))
        group = _seller_group(seller_id, sellers.get(seller_id), lines, seller_id in holds)
        groups.append(dataclasses.replace(group, license_orders=orders))
    return Cart(groups=groups, item_count=len(items), subtotal=sum((g.subtotal for g in groups), ZERO))


def _cart_line(
    item: CartItem, product: Product | None, seller: Entity | None, price: Decimal, entity_id: int
) -> CartLine:
    return CartLine(
        cart_item_id=item.id,
        product_id=item.product_id,
        sku=product.sku if product else "",
        name=product.name if product else "Unavailable product",
        unit_of_measure=product.unit_of_measure if product else "",
        quantity=item.quantity,
        unit_price=price,
        list_price=product.unit_price if product else ZERO,
        line_total=q2(item.quantity * price),
        min_order_qty=product.min_order_qty if product else ZERO,
        available_qty=product.available_qty if product else ZERO,
        issue=_line_issue(product, seller, item.quantity, entity_id),
    )


def _seller_group(seller_id: int, seller: Entity | None, lines: list[CartLine], on_hold: bool) -> CartSellerGroup:
    """One seller's lines with the subtotal, minimum, terms and hold that decide if they can check out."""
    subtotal = sum((ln.line_total for ln in lines), ZERO)
    minimum = seller.min_order_amount if seller else ZERO
    return CartSellerGroup(
        seller_entity_id=seller_id,
        seller_name=seller.name if seller else "Unavailable seller",
        lines=lines,
        subtotal=subtotal,
        min_order_amount=minimum,
        meets_minimum=subtotal >= minimum,
        shortfall=max(ZERO, minimum - subtotal),
        payment_terms_offered=offered_terms(seller) if seller else [],
        on_hold=on_hold,
        hold_message=hold_message(seller) if on_hold and seller else None,
        can_checkout=bool(seller) and not on_hold and subtotal >= minimum and all(ln.issue is None for ln in lines),
    )


def _receiving_state(session: Session, entity_id: int, buyer_license_id: int | None) -> str | None:
    """The state of the license receiving the orders: the one chosen, else the buyer's first active one."""
    rows = session.execute(
        select(col(License.id), col(License.state), col(License.expires_on))
        .where(col(License.entity_id) == entity_id, col(License.status) == LicenseStatus.ACTIVE)
        .order_by(col(License.id))
    ).all()
    current = [(lid, state) for lid, state, expires_on in rows if is_current(expires_on, state)]
    chosen = next((state for lid, state in current if lid == buyer_license_id), None)
    return chosen or (current[0][1] if current else None)


def _splits(
    session: Session, by_seller: dict[int, list[CartLine]], state: str
) -> dict[int, tuple[list[CartLine], list[str]]]:
    """Per seller: its lines (a line its licenses in `state` can't cover gets that issue) and the
    orders checkout will place, one per seller license."""
    licenses = _seller_licenses(session, [s for s in by_seller if s], state)
    all_ids = [lic.id for lics in licenses.values() for lic in lics]
    sellable = sellable_quantities(session, [ln.product_id for lns in by_seller.values() for ln in lns], all_ids)
    out: dict[int, tuple[list[CartLine], list[str]]] = {}
    for seller_id, lines in by_seller.items():
        lics = licenses.get(seller_id, [])
        split = split_over_licenses([(ln.product_id, ln.quantity) for ln in lines], [lic.id for lic in lics], sellable)
        fixed = [
            dataclasses.replace(
                ln,
                issue=ln.issue
                or (
                    f"Only {fmt_qty(split.short[ln.product_id])} {ln.unit_of_measure} can ship to your license in "
                    f"{state}."
                    if ln.product_id in split.short
                    else None
                ),
            )
            for ln in lines
        ]
        names = {ln.product_id: ln.name for ln in lines}
        number = {lic.id: lic.number for lic in lics}
        orders = [
            f"License {number[lid]}: " + ", ".join(f"{fmt_qty(q)} {names[pid]}" for pid, q in part)
            for lid, part in split.parts.items()
        ]
        out[seller_id] = (fixed, orders if not split.short else [])
    return out
