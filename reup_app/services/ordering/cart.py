"""The buyer's cart (one per user per buying entity, spanning sellers) and checkout.

Checkout splits the cart into one order per seller (Nabis/LeafLink style), each with its own
payment terms, delivery preferences and notes, places them straight in "submitted", and reserves
their stock in the same transaction. Call `checkout` in its own unit of work.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import load_only
from sqlmodel import Session

from reup_app.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from reup_app.models import (
    CartItem,
    Entity,
    License,
    Order,
    OrderEvent,
    OrderLine,
    PriceTier,
    Product,
    TradeRelationship,
)
from reup_app.models.enums import (
    PUBLIC_LISTING_STATES,
    EntityStatus,
    LicenseStatus,
    OrderStatus,
    PaymentTerms,
    UnitOfMeasure,
)
from reup_app.models.types import utcnow
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services.billing.tax import wholesale_tax
from reup_app.services.catalog.pricing import buyer_unit_prices
from reup_app.services.common import (
    ZERO,
    begin_read_committed,
    check_idempotency_key,
    clean_text,
    fmt_qty,
    money_str,
    new_numbers,
    parse_datetime,
    parse_int,
    parse_quantity,
    q2,
    require_member,
)
from reup_app.services.compliance.license_calendar import is_current, license_today
from reup_app.services.inventory import lots as inventory
from reup_app.services.ordering.records import (
    OrderSummary,
    emit_order_event,
    record_event,
    summaries,
)

PUBLIC_STATES = frozenset(str(s) for s in PUBLIC_LISTING_STATES)
ALL_TERMS = tuple(str(t) for t in PaymentTerms)
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
ORDER_NUMBER_PREFIX = "RU-"


# --------------------------------------------------------------------------------------------
# DTOs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CartItemDTO:
    cart_item_id: int
    product_id: int
    quantity: Decimal


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


@dataclass(frozen=True)
class Cart:
    groups: list[CartSellerGroup] = field(default_factory=list)
    item_count: int = 0
    subtotal: Decimal = ZERO


@dataclass(frozen=True)
class CheckoutResult:
    orders: list[OrderSummary]
    replayed: bool  # True when this idempotency key had already checked out: nothing changed


# --------------------------------------------------------------------------------------------
# Rules shared by the cart and checkout
# --------------------------------------------------------------------------------------------


def offered_terms(seller: Entity) -> list[str]:
    """The seller's offered payment terms, in the seller's order, unknown values dropped."""
    seen = []
    for raw in (seller.payment_terms_offered or "").split(","):
        t = raw.strip().lower()
        if t in ALL_TERMS and t not in seen:
            seen.append(t)
    return seen


def hold_message(seller: Entity) -> str:
    return f"Pay your prior balance to {seller.name} before placing new orders."


# Only the columns the order flow reads: narrower rows are cheaper to fetch and decode.
_LICENSE_COLS = load_only(
    License.id, License.entity_id, License.state, License.number, License.status, License.expires_on
)
_PRODUCT_COLS = load_only(
    Product.id,
    Product.entity_id,
    Product.sku,
    Product.name,
    Product.unit_of_measure,
    Product.unit_price,
    Product.min_order_qty,
    Product.listing_state,
    Product.available_qty,
)
BUYER_NOT_APPROVED = "Your business must be approved before it can place orders."


def _buyer_name(session: Session, entity_id: int) -> str:
    """The buying entity's name; PermissionDenied unless it is approved."""
    row = session.execute(select(Entity.status, Entity.name).where(Entity.id == entity_id)).first()
    if row is None or row.status != EntityStatus.APPROVED:
        raise PermissionDenied(BUYER_NOT_APPROVED)
    return row.name


def _sellable_product(session: Session, product_id: Any, buyer_entity_id: int) -> Product:
    """A product the buyer may order: public listing state and an approved seller; else NotFound.

    One query: the product, its seller's status and the buyer's status.
    """
    pid = parse_int(product_id, "product_id")
    buyer_status = select(Entity.status).where(Entity.id == buyer_entity_id).scalar_subquery()
    row = session.execute(
        select(Product, Entity.status, buyer_status)
        .options(_PRODUCT_COLS)
        .join(Entity, Entity.id == Product.entity_id)
        .where(Product.id == pid)
    ).first()
    if row is not None and row[2] != EntityStatus.APPROVED:
        raise PermissionDenied(BUYER_NOT_APPROVED)
    if row is None or row[0].listing_state not in PUBLIC_STATES or row[1] != EntityStatus.APPROVED:
        raise NotFound("That product is not available.")
    if row[0].entity_id == buyer_entity_id:
        raise ValidationError("You can't order your own products.", "product_id")
    return row[0]


def _check_quantity(product: Product, qty: Decimal, *, check_stock: bool = True) -> None:
    uom = product.unit_of_measure
    if uom == UnitOfMeasure.EACH and qty != qty.to_integral_value():
        raise ValidationError(f"{product.name} is sold in whole units.", "quantity")
    if qty < product.min_order_qty:
        raise ValidationError(
            f"The minimum order for {product.name} is {fmt_qty(product.min_order_qty)} {uom}.", "quantity"
        )
    if check_stock and qty > product.available_qty:
        raise Conflict(f"Only {fmt_qty(product.available_qty)} {uom} of {product.name} available.")


def _line_issue(product: Product | None, seller: Entity | None, qty: Decimal, buyer_entity_id: int) -> str | None:
    if (
        product is None
        or seller is None
        or product.listing_state not in PUBLIC_STATES
        or seller.status != EntityStatus.APPROVED
    ):
        return "No longer available."
    if product.entity_id == buyer_entity_id:
        return "You can't order your own products."
    try:
        _check_quantity(product, qty)
    except (ValidationError, Conflict) as err:
        return str(err)
    return None


# --------------------------------------------------------------------------------------------
# Cart items
# --------------------------------------------------------------------------------------------


def _lock_cart(session: Session, entity_id: int, user_id: int) -> list[CartItem]:
    """The user's cart rows, locked FOR UPDATE through the owner index.

    The index hint matters on MySQL/MariaDB: on a small table the optimizer prefers a full scan,
    and a locking full scan waits on every other buyer's locked cart rows.
    """
    return list(
        session.execute(
            select(CartItem)
            .with_hint(CartItem, "FORCE INDEX (uq_cart_items_owner_product)", "mysql")
            .where(CartItem.buyer_entity_id == entity_id, CartItem.user_id == user_id)
            .order_by(CartItem.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalars()
    )


def _cart_owner(principal: Principal) -> int:
    entity_id = require_member(principal)
    authorize(principal, "cart.manage", entity_id)
    return entity_id


def _own_item(session: Session, principal: Principal, cart_item_id: Any, *, lock: bool = True) -> CartItem:
    entity_id = _cart_owner(principal)
    stmt = select(CartItem).where(
        CartItem.id == parse_int(cart_item_id, "cart_item_id"),
        CartItem.buyer_entity_id == entity_id,
        CartItem.user_id == principal.user_id,
    )
    if lock:
        stmt = stmt.with_for_update()
    item = session.execute(stmt.execution_options(populate_existing=True)).scalars().first()
    if item is None:
        raise NotFound("That item is no longer in your cart.")
    return item


def add_to_cart(session: Session, principal: Principal, product_id: int, quantity: Decimal | str) -> CartItemDTO:
    """Add `quantity` of a product to the principal's cart (adding to what is there already)."""
    begin_read_committed(session)
    entity_id = _cart_owner(principal)
    qty = parse_quantity(quantity)
    product = _sellable_product(session, product_id, entity_id)
    owner = (
        CartItem.buyer_entity_id == entity_id,
        CartItem.user_id == principal.user_id,
        CartItem.product_id == product.id,
    )
    item = (
        session.execute(select(CartItem).where(*owner).with_for_update().execution_options(populate_existing=True))
        .scalars()
        .first()
    )
    if item is None:
        _check_quantity(product, qty)
        item = CartItem(buyer_entity_id=entity_id, user_id=principal.user_id, product_id=product.id, quantity=qty)
        try:
            with session.begin_nested():
                session.add(item)
                session.flush()
            return CartItemDTO(item.id, product.id, item.quantity)
        except IntegrityError:  # the same user added the same product at the same moment
            item = (
                session.execute(
                    select(CartItem).where(*owner).with_for_update().execution_options(populate_existing=True)
                )
                .scalars()
                .one()
            )
    new_qty = item.quantity + qty
    _check_quantity(product, new_qty)
    item.quantity = new_qty
    item.updated_at = utcnow()
    session.add(item)
    session.flush()
    return CartItemDTO(item.id, product.id, item.quantity)


def update_cart_item(session: Session, principal: Principal, cart_item_id: int, quantity: Decimal | str) -> CartItemDTO:
    """Set the quantity of one of the principal's cart items."""
    begin_read_committed(session)
    qty = parse_quantity(quantity)
    item = _own_item(session, principal, cart_item_id)
    product = _sellable_product(session, item.product_id, item.buyer_entity_id)
    _check_quantity(product, qty)
    item.quantity = qty
    item.updated_at = utcnow()
    session.add(item)
    session.flush()
    return CartItemDTO(item.id, product.id, item.quantity)


def remove_cart_item(session: Session, principal: Principal, cart_item_id: int) -> None:
    begin_read_committed(session)
    item = _own_item(session, principal, cart_item_id)
    session.delete(item)
    session.flush()


def clear_cart(session: Session, principal: Principal) -> int:
    """Empty the principal's cart; returns how many items were removed."""
    begin_read_committed(session)
    entity_id = _cart_owner(principal)
    items = _lock_cart(session, entity_id, principal.user_id)
    for item in items:
        session.delete(item)
    session.flush()
    return len(items)


def get_cart(session: Session, principal: Principal) -> Cart:
    """The cart grouped by seller, with this buyer's prices and what stands in the way of checkout."""
    entity_id = _cart_owner(principal)
    items = (
        session.execute(
            select(CartItem)
            .where(CartItem.buyer_entity_id == entity_id, CartItem.user_id == principal.user_id)
            .order_by(CartItem.id)
        )
        .scalars()
        .all()
    )
    if not items:
        return Cart()
    products = {
        p.id: p for p in session.execute(select(Product).where(Product.id.in_([i.product_id for i in items]))).scalars()
    }
    sellers = {
        e.id: e
        for e in session.execute(
            select(Entity).where(Entity.id.in_({p.entity_id for p in products.values()}))
        ).scalars()
    }
    holds = _holds(session, entity_id, sellers)
    prices = buyer_unit_prices(session, entity_id, list(products.values()))
    by_seller: dict[int, list[CartLine]] = defaultdict(list)
    for item in items:
        product = products.get(item.product_id)
        seller = sellers.get(product.entity_id) if product else None
        price = prices.get(item.product_id, ZERO)
        by_seller[product.entity_id if product else 0].append(
            CartLine(
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
        )
    groups = []
    for seller_id in sorted(by_seller, key=lambda s: (sellers[s].name.lower() if s in sellers else "", s)):
        seller = sellers.get(seller_id)
        lines = by_seller[seller_id]
        subtotal = sum((ln.line_total for ln in lines), ZERO)
        minimum = seller.min_order_amount if seller else ZERO
        on_hold = seller_id in holds
        groups.append(
            CartSellerGroup(
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
                can_checkout=bool(seller)
                and not on_hold
                and subtotal >= minimum
                and all(ln.issue is None for ln in lines),
            )
        )
    return Cart(groups=groups, item_count=len(items), subtotal=sum((g.subtotal for g in groups), ZERO))


def _sellers_for(
    session: Session, buyer_entity_id: int, seller_ids: list[int]
) -> tuple[dict[int, Entity], set[int], dict[int, int]]:
    """Sellers, the ones holding this buyer, and the price tier each assigns it (one query)."""
    rows = session.execute(
        select(Entity, TradeRelationship.on_hold, TradeRelationship.price_tier_id, PriceTier.seller_entity_id)
        .options(
            load_only(Entity.id, Entity.name, Entity.status, Entity.payment_terms_offered, Entity.min_order_amount)
        )
        .outerjoin(
            TradeRelationship,
            and_(TradeRelationship.seller_entity_id == Entity.id, TradeRelationship.buyer_entity_id == buyer_entity_id),
        )
        .outerjoin(PriceTier, PriceTier.id == TradeRelationship.price_tier_id)
        .where(Entity.id.in_(seller_ids))
    ).all()
    sellers = {e.id: e for e, *_ in rows}
    holds = {e.id for e, on_hold, *_ in rows if on_hold}
    tiers = {e.id: tier for e, _h, tier, owner in rows if tier is not None and owner == e.id}
    return sellers, holds, tiers


def _holds(session: Session, buyer_entity_id: int, seller_ids: Iterable[int]) -> set[int]:
    ids = list(seller_ids)
    if not ids:
        return set()
    return set(
        session.execute(
            select(TradeRelationship.seller_entity_id).where(
                TradeRelationship.buyer_entity_id == buyer_entity_id,
                TradeRelationship.seller_entity_id.in_(ids),
                TradeRelationship.on_hold.is_(True),
            )
        ).scalars()
    )


# --------------------------------------------------------------------------------------------
# Checkout
# --------------------------------------------------------------------------------------------


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
    if (end or start) and (end or start) < utcnow():
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


def _buyer_license(session: Session, entity_id: int, buyer_license_id: Any) -> License:
    license = (
        session.execute(
            select(License).options(_LICENSE_COLS).where(License.id == parse_int(buyer_license_id, "buyer_license_id"))
        )
        .scalars()
        .first()
    )
    if license is None or license.entity_id != entity_id:
        raise ValidationError("Choose one of your business's licenses to receive this order.", "buyer_license_id")
    if license.status != LicenseStatus.ACTIVE or not is_current(license.expires_on, license.state):
        raise ValidationError(
            f"License {license.number} is not active, so it can't receive orders.", "buyer_license_id"
        )
    return license


def _seller_licenses(session: Session, seller_ids: list[int], state: str) -> dict[int, list[License]]:
    """Active, unexpired licenses of these sellers in `state` (cannabis can't cross state lines)."""
    today = license_today(state)
    out: dict[int, list[License]] = defaultdict(list)
    for lic in session.execute(
        select(License)
        .options(_LICENSE_COLS)
        .where(License.entity_id.in_(seller_ids), License.state == state, License.status == LicenseStatus.ACTIVE)
        .order_by(License.id)
    ).scalars():
        if lic.expires_on is None or lic.expires_on >= today:
            out[lic.entity_id].append(lic)
    return out


def _seller_license(plan: _SellerPlan, candidates: list[License], state: str, stock: inventory.StockLock) -> License:
    """The seller license an order ships under: the chosen one, else the first whose stock covers
    every line, else the first (reservation then names the product that is short)."""
    if plan.license_id is not None:
        chosen = next((lic for lic in candidates if lic.id == plan.license_id), None)
        if chosen is None:
            raise ValidationError(f"{plan.seller.name} can't ship to you under that license.", "seller_license_id")
        return chosen
    if not candidates:
        raise ValidationError(
            f"{plan.seller.name} holds no active license in {state}, so it can't sell to your license there.",
            "buyer_license_id",
        )
    for lic in candidates:
        if all(stock.sellable_qty(i.product_id, lic.id) >= i.quantity for i in plan.items):
            return lic
    return candidates[0]


def _replay(session: Session, entity_id: int, key: str) -> list[Order]:
    ids = list(
        session.execute(
            select(Order.id)
            .join(OrderEvent, OrderEvent.order_id == Order.id)
            .where(
                Order.buyer_entity_id == entity_id, OrderEvent.kind == "submitted", OrderEvent.idempotency_key == key
            )
            .order_by(Order.id)
        )
        .scalars()
        .unique()
    )
    if not ids:
        return []
    return list(session.execute(select(Order).where(Order.id.in_(ids)).order_by(Order.id)).scalars())


def checkout(
    session: Session,
    principal: Principal,
    *,
    buyer_license_id: int,
    choices: Mapping[Any, Mapping[str, Any]] | None = None,
    idempotency_key: str,
    seller_entity_ids: Iterable[int] | None = None,
) -> CheckoutResult:
    """Turn the principal's cart into one submitted order per seller, reserving their stock.

    `choices` maps seller entity id -> {payment_terms, delivery_preferences,
    requested_delivery_start, requested_delivery_end, notes, seller_license_id}; payment terms
    default to the seller's first offered term. `seller_entity_ids` limits checkout to those
    sellers' items (the rest stay in the cart). Refused as a whole, with a message naming the
    seller or product, when any order can't be placed. Retrying with the same `idempotency_key`
    returns the orders already placed and changes nothing.
    """
    begin_read_committed(session)
    entity_id = require_member(principal)
    authorize(principal, "order.place", entity_id)
    key = check_idempotency_key(idempotency_key, required=True)
    # Lock this user's cart first: a concurrent double-submit waits here, then sees the orders.
    items = _lock_cart(session, entity_id, principal.user_id)
    done = _replay(session, entity_id, key)
    if done:
        return CheckoutResult(orders=summaries(session, done), replayed=True)
    buyer_name = _buyer_name(session, entity_id)
    buyer_license = _buyer_license(session, entity_id, buyer_license_id)
    if not items:
        raise ValidationError("Your cart is empty.")
    # From here on the cart's products and their lots are locked (FOR UPDATE) until commit.
    stock = inventory.StockLock(session, [i.product_id for i in items])
    products = stock.products
    missing = next((i for i in items if i.product_id not in products), None)
    if missing is not None:
        raise NotFound("A product in your cart no longer exists; remove it from your cart.")
    if seller_entity_ids is not None:
        wanted = {parse_int(s, "seller_entity_ids") for s in seller_entity_ids}
        items = [i for i in items if products[i.product_id].entity_id in wanted]
        if not items:
            raise ValidationError("Your cart has nothing from those sellers.")
    seller_ids = sorted({products[i.product_id].entity_id for i in items})
    sellers, holds, tiers = _sellers_for(session, entity_id, seller_ids)
    chosen = _normalise_choices(choices)
    plans: list[_SellerPlan] = []
    for seller_id in seller_ids:
        seller = sellers[seller_id]
        if seller.status != EntityStatus.APPROVED:
            raise ValidationError(f"{seller.name} is not accepting orders right now.")
        if seller_id in holds:
            raise Conflict(hold_message(seller))
        mine = [i for i in items if products[i.product_id].entity_id == seller_id]
        plans.append(_plan_for(seller, mine, chosen.get(seller_id, {})))
    for item in items:
        product = products[item.product_id]
        if product.listing_state not in PUBLIC_STATES:
            raise NotFound(f"{product.name} is no longer available; remove it from your cart.")
        if product.entity_id == entity_id:
            raise ValidationError("You can't order your own products.")
        _check_quantity(product, item.quantity, check_stock=False)
    prices = buyer_unit_prices(session, entity_id, [products[i.product_id] for i in items], tiers=tiers)
    licenses = _seller_licenses(session, seller_ids, buyer_license.state)

    now = utcnow()
    numbers = new_numbers(session, Order.number, ORDER_NUMBER_PREFIX, len(plans))
    orders: list[Order] = []
    order_lines: list[tuple[Order, list[OrderLine]]] = []
    for plan, number in zip(plans, numbers, strict=True):
        license = _seller_license(plan, licenses.get(plan.seller.id, []), buyer_license.state, stock)
        lines = []
        for item in plan.items:
            product = stock.products[item.product_id]
            price = prices[product.id]
            lines.append(
                OrderLine(
                    product_id=product.id,
                    sku=product.sku,
                    product_name=product.name,
                    quantity=item.quantity,
                    unit_price=price,
                    line_total=q2(item.quantity * price),
                )
            )
        subtotal = sum((ln.line_total for ln in lines), ZERO)
        if subtotal < plan.seller.min_order_amount:
            raise ValidationError(
                f"{plan.seller.name} has a minimum order of ${money_str(plan.seller.min_order_amount)}; your "
                f"order from them comes to ${money_str(subtotal)}.",
                "cart",
            )
        tax = wholesale_tax(subtotal, license.state)
        order = Order(
            number=number,
            buyer_entity_id=entity_id,
            buyer_license_id=buyer_license.id,
            seller_entity_id=plan.seller.id,
            seller_license_id=license.id,
            status=str(OrderStatus.SUBMITTED),
            payment_terms=plan.terms,
            subtotal=subtotal,
            tax=tax,
            total=subtotal + tax,
            notes=plan.notes,
            delivery_preferences=plan.delivery_preferences,
            requested_delivery_start=plan.start,
            requested_delivery_end=plan.end,
            created_by_user_id=principal.user_id,
            submitted_at=now,
            created_at=now,
            updated_at=now,
        )
        orders.append(order)
        order_lines.append((order, lines))
    session.add_all(orders)
    session.flush()
    all_lines = []
    for order, lines in order_lines:
        for ln in lines:
            ln.order_id = order.id
        all_lines.extend(lines)
    session.add_all(all_lines)
    session.flush()
    for order, lines in order_lines:
        for ln in lines:
            stock.reserve_line(ln, order.seller_license_id)
    stock.settle()
    for order, lines in order_lines:
        record_event(
            session,
            order,
            "submitted",
            principal,
            from_status=None,
            to_status=str(OrderStatus.SUBMITTED),
            detail={
                "source": "checkout",
                "lines": len(lines),
                "total": str(order.total),
                "payment_terms": order.payment_terms,
            },
            idempotency_key=key,
        )
        emit_order_event(session, "order.submitted", order, line_count=len(lines))
    for item in items:
        session.delete(item)
    session.flush()
    result = [
        OrderSummary(
            number=o.number,
            status=o.status,
            buyer_entity_id=o.buyer_entity_id,
            buyer_name=buyer_name,
            seller_entity_id=o.seller_entity_id,
            seller_name=sellers[o.seller_entity_id].name,
            payment_terms=o.payment_terms,
            subtotal=o.subtotal,
            tax=o.tax,
            total=o.total,
            line_count=len(lines),
            created_at=o.created_at,
            submitted_at=o.submitted_at,
            updated_at=o.updated_at,
        )
        for o, lines in order_lines
    ]
    return CheckoutResult(orders=result, replayed=False)


@dataclass(frozen=True)
class LicenseChoice:
    id: int
    state: str
    number: str
    premises_name: str | None


def buyer_licenses(session: Session, principal: Principal) -> list[LicenseChoice]:
    """The principal's business's active, unexpired licenses an order can be received under."""
    entity_id = require_member(principal)
    authorize(principal, "order.place", entity_id)
    rows = session.execute(
        select(License)
        .where(License.entity_id == entity_id, License.status == LicenseStatus.ACTIVE)
        .order_by(License.id)
    ).scalars()
    return [
        LicenseChoice(id=lic.id, state=lic.state, number=lic.number, premises_name=lic.premises_name)
        for lic in rows
        if is_current(lic.expires_on, lic.state)
    ]
