"""Saved order guides: per store (a receiving license of the buying business), a named list of
products with par quantities, and "add all to cart" in one click.

Add all brings the cart up to par: each product gets par minus what the user's cart already
holds (so a second click adds nothing); a product no longer sold, out of stock or below its
minimum is skipped with the reason, and a product with less in stock than needed is added with
what there is and reported as trimmed (like reorder). Everything needs `cart.manage` on the
guide's business, checked on the guide row's own entity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from reup_app.errors import Conflict, NotFound, ServiceError, ValidationError
from reup_app.models import CartItem, Entity, License, OrderGuide, OrderGuideItem, Product
from reup_app.models.types import utcnow
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services.common import ZERO, begin_read_committed, clean_text, fmt_qty, parse_int, parse_quantity
from reup_app.services.ordering import cart

MAX_GUIDES = 50
MAX_ITEMS = 200


@dataclass(frozen=True)
class GuideItemDTO:
    product_id: int
    sku: str
    name: str
    seller_name: str
    unit_of_measure: str
    par_qty: Decimal
    available_qty: Decimal


@dataclass(frozen=True)
class GuideDTO:
    id: int
    name: str
    license_id: int
    store: str  # the store's premises name (or "License") and license number
    items: list[GuideItemDTO] = field(default_factory=list)


@dataclass(frozen=True)
class AddAllResult:
    added: list[cart.CartItemDTO] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)  # {"name", "reason"}
    trimmed: list[dict[str, str]] = field(default_factory=list)  # {"name", "wanted", "added"}


def _owner(principal: Principal) -> int:
    return cart._cart_owner(principal)


def _own_guide(session: Session, principal: Principal, guide_id: Any, *, lock: bool = False) -> OrderGuide:
    stmt = select(OrderGuide).where(col(OrderGuide.id) == parse_int(guide_id, "guide_id"))
    guide = session.execute(stmt.with_for_update() if lock else stmt).scalars().first()
    if guide is None or guide.buyer_entity_id != principal.entity_id:
        raise NotFound("That order guide was not found.")
    authorize(principal, "cart.manage", guide.buyer_entity_id)
    return guide


def create_guide(session: Session, principal: Principal, name: Any, license_id: Any) -> int:
    """A new, empty guide for one of the business's stores; returns its id."""
    entity_id = _owner(principal)
    text = clean_text(name, "name", max_len=80, required=True, label="a name for the guide")
    lic = session.get(License, parse_int(license_id, "license_id"))
    if lic is None or lic.entity_id != entity_id:
        raise ValidationError("Choose one of your stores.", "license_id")
    count = session.execute(select(col(OrderGuide.id)).where(col(OrderGuide.buyer_entity_id) == entity_id)).all()
    if len(count) >= MAX_GUIDES:
        raise ValidationError(f"A business can keep at most {MAX_GUIDES} order guides.", "name")
    guide = OrderGuide(buyer_entity_id=entity_id, license_id=lic.id, name=text, created_by_user_id=principal.user_id)
    try:
        with session.begin_nested():
            session.add(guide)
            session.flush()
    except IntegrityError:
        raise Conflict(f"This store already has an order guide named {text!r}.") from None
    return guide.id


def delete_guide(session: Session, principal: Principal, guide_id: Any) -> None:
    guide = _own_guide(session, principal, guide_id, lock=True)
    for item in session.execute(select(OrderGuideItem).where(col(OrderGuideItem.guide_id) == guide.id)).scalars():
        session.delete(item)
    session.flush()
    session.delete(guide)
    session.flush()


def set_par(session: Session, principal: Principal, guide_id: Any, product_id: Any, par_qty: Any) -> None:
    """Put a product in a guide at `par_qty` (or change it); 0 takes it out."""
    begin_read_committed(session)
    guide = _own_guide(session, principal, guide_id, lock=True)
    qty = parse_quantity(par_qty, "par_qty", allow_zero=True)
    pid = parse_int(product_id, "product_id")
    item = (
        session.execute(
            select(OrderGuideItem).where(
                col(OrderGuideItem.guide_id) == guide.id, col(OrderGuideItem.product_id) == pid
            )
        )
        .scalars()
        .first()
    )
    if qty == 0:
        if item is not None:
            session.delete(item)
    elif item is not None:
        item.par_qty = qty
        session.add(item)
    else:
        cart._sellable_product(session, pid, guide.buyer_entity_id)  # only products it could order
        n = session.execute(select(col(OrderGuideItem.id)).where(col(OrderGuideItem.guide_id) == guide.id)).all()
        if len(n) >= MAX_ITEMS:
            raise ValidationError(f"An order guide holds at most {MAX_ITEMS} products.", "product_id")
        session.add(OrderGuideItem(guide_id=guide.id, product_id=pid, par_qty=qty))
    guide.updated_at = utcnow()
    session.add(guide)
    session.flush()


def list_guides(session: Session, principal: Principal) -> list[GuideDTO]:
    """The business's guides, by store then name, with their products."""
    entity_id = _owner(principal)
    guides = session.execute(
        select(OrderGuide, col(License.number), col(License.premises_name))
        .join(License, col(License.id) == col(OrderGuide.license_id))
        .where(col(OrderGuide.buyer_entity_id) == entity_id)
        .order_by(col(License.id), col(OrderGuide.name))
    ).all()
    ids = [g.id for g, *_ in guides]
    items: dict[int, list[GuideItemDTO]] = {}
    if ids:
        rows = session.execute(
            select(OrderGuideItem, Product, col(Entity.name))
            .join(Product, col(Product.id) == col(OrderGuideItem.product_id))
            .join(Entity, col(Entity.id) == col(Product.entity_id))
            .where(col(OrderGuideItem.guide_id).in_(ids))
            .order_by(col(Product.name), col(Product.id))
        ).all()
        for item, p, seller in rows:
            items.setdefault(item.guide_id, []).append(
                GuideItemDTO(p.id, p.sku, p.name, seller, p.unit_of_measure, item.par_qty, p.available_qty or ZERO)
            )
    return [
        GuideDTO(g.id, g.name, g.license_id, f"{premises or 'License'} · {number}", items.get(g.id, []))
        for g, number, premises in guides
    ]


def add_guide_to_cart(session: Session, principal: Principal, guide_id: Any) -> AddAllResult:
    """Bring the user's cart up to the guide's par quantities (see the module docstring)."""
    begin_read_committed(session)
    guide = _own_guide(session, principal, guide_id)
    result = AddAllResult()
    in_cart = {
        i.product_id: i.quantity
        for i in session.execute(
            select(CartItem).where(
                col(CartItem.buyer_entity_id) == guide.buyer_entity_id, col(CartItem.user_id) == principal.user_id
            )
        ).scalars()
    }
    rows = session.execute(
        select(OrderGuideItem, Product)
        .join(Product, col(Product.id) == col(OrderGuideItem.product_id))
        .where(col(OrderGuideItem.guide_id) == guide.id)
        .order_by(col(Product.name), col(Product.id))
    ).all()
    for item, product in rows:
        want = item.par_qty - in_cart.get(product.id, ZERO)
        if want <= 0:
            continue
        room = (product.available_qty or ZERO) - in_cart.get(product.id, ZERO)  # the cart counts against stock
        qty = min(want, room)
        if product.unit_of_measure == "each":
            qty = qty.to_integral_value(rounding="ROUND_FLOOR")
        if qty <= 0:
            reason = "Your cart already holds all that is in stock." if in_cart.get(product.id) else "Out of stock."
            result.skipped.append({"name": product.name, "reason": reason})
            continue
        try:
            result.added.append(cart.add_to_cart(session, principal, product.id, qty))
        except ServiceError as err:
            result.skipped.append({"name": product.name, "reason": str(err)})
            continue
        if qty < want:
            result.trimmed.append({"name": product.name, "wanted": fmt_qty(want), "added": fmt_qty(qty)})
    return result
