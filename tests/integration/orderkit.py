"""Helpers for the order-flow tests: trading parties, stocked products, orders placed through the
service layer (each call in its own unit of work, as pages do), and DB snapshots for
"nothing changed" assertions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from reup_app.db import unit_of_work
from reup_app.models import (
    CartItem,
    ComplianceManifest,
    Delivery,
    Entity,
    InventoryLot,
    Invoice,
    License,
    Order,
    OrderEvent,
    OrderLine,
    OrderLineAllocation,
    OrderMessage,
    Payment,
    PriceTier,
    PriceTierPrice,
    Product,
    TradeRelationship,
)
from reup_app.security.principal import Principal
from reup_app.services.ordering import cart, checkout_flow, orders
from tests.factories import (
    make_entity,
    make_license,
    make_lot,
    make_member,
    make_product,
)

D = Decimal


@dataclass
class Party:
    entity: Entity
    license: License
    p: dict[str, Principal] = field(default_factory=dict)  # role -> principal

    @property
    def id(self) -> int:
        return self.entity.id

    @property
    def owner(self) -> Principal:
        return self.p["owner"]


def make_party(session: Session, kind: str, roles=("owner",), **entity_kw) -> Party:
    entity = make_entity(session, kind, **entity_kw)
    license = make_license(session, entity)
    party = Party(entity=entity, license=license)
    for role in roles:
        _user, principal = make_member(session, entity, role)
        party.p[role] = principal
    return party


def make_seller(session: Session, *, terms: str = "cod,net_30", min_order_amount: str = "0", **kw) -> Party:
    return make_party(
        session,
        "wholesaler",
        roles=("owner", "admin", "sales", "fulfillment", "viewer", "buyer"),
        payment_terms_offered=terms,
        min_order_amount=D(min_order_amount),
        **kw,
    )


def make_buyer(session: Session, **kw) -> Party:
    return make_party(session, "retailer", roles=("owner", "buyer", "viewer", "sales", "fulfillment"), **kw)


def stock(
    session: Session, seller: Party, qty: str = "100", price: str = "10.00", lots: int = 1, **product_kw
) -> tuple[Product, list[InventoryLot]]:
    product = make_product(session, seller.entity, unit_price=D(price), **product_kw)
    made = [make_lot(session, product, seller.license, D(qty)) for _ in range(lots)]
    session.refresh(product)
    return product, made


def key() -> str:
    return uuid.uuid4().hex


def call(engine, principal: Principal, fn, *args, **kw):
    """Run one service call in its own unit of work (commits on success)."""
    with unit_of_work(principal, engine=engine) as s:
        return fn(s, principal, *args, **kw)


def place(
    engine,
    buyer: Party,
    items: list[tuple[Product, Any]],
    *,
    role: str = "buyer",
    choices=None,
    idempotency_key: str | None = None,
    **kw,
):
    """Add items to the buyer's cart and check out; returns the CheckoutResult."""
    principal = buyer.p[role]
    for product, qty in items:
        call(engine, principal, cart.add_to_cart, product.id, qty)
    return call(
        engine,
        principal,
        checkout_flow.checkout,
        buyer_license_id=buyer.license.id,
        choices=choices,
        idempotency_key=idempotency_key or key(),
        **kw,
    )


def place_one(engine, buyer: Party, product: Product, qty="1", **kw) -> str:
    result = place(engine, buyer, [(product, qty)], **kw)
    assert len(result.orders) == 1
    return result.orders[0].number


def advance(engine, seller: Party, number: str, *actions: str, role: str = "owner") -> None:
    for action in actions:
        call(engine, seller.p[role], orders.transition, number, action, idempotency_key=key())


def fresh(engine) -> Session:
    return Session(engine, expire_on_commit=False)


def order_row(engine, number: str) -> Order:
    with fresh(engine) as s:
        return s.execute(select(Order).where(Order.number == number)).scalars().one()


def lot_row(engine, lot_id: int) -> InventoryLot:
    with fresh(engine) as s:
        return s.get(InventoryLot, lot_id)


def product_row(engine, product_id: int) -> Product:
    with fresh(engine) as s:
        return s.get(Product, product_id)


def events_of(engine, number: str) -> list[OrderEvent]:
    with fresh(engine) as s:
        return list(
            s.execute(
                select(OrderEvent)
                .join(Order, Order.id == OrderEvent.order_id)
                .where(Order.number == number)
                .order_by(OrderEvent.id)
            ).scalars()
        )


def assert_stock_consistent(engine, product_id: int) -> None:
    """Lots: available = on hand - reserved, nothing negative; product = sum of lots."""
    with fresh(engine) as s:
        lots = s.execute(select(InventoryLot).where(InventoryLot.product_id == product_id)).scalars().all()
        product = s.get(Product, product_id)
        for lot in lots:
            assert lot.quantity_on_hand >= 0 and lot.quantity_reserved >= 0 and lot.quantity_available >= 0
            assert lot.quantity_available == lot.quantity_on_hand - lot.quantity_reserved
        assert product.available_qty == sum((lot.quantity_available for lot in lots), D(0))
        # every reserved unit is accounted for by an allocation of an order not yet shipped
        open_statuses = ["submitted", "backorder", "accepted", "fulfilled"]
        for lot in lots:
            held = s.execute(
                select(func.coalesce(func.sum(OrderLineAllocation.quantity), 0))
                .join(OrderLine, OrderLine.id == OrderLineAllocation.order_line_id)
                .join(Order, Order.id == OrderLine.order_id)
                .where(OrderLineAllocation.inventory_lot_id == lot.id, Order.status.in_(open_statuses))
            ).scalar_one()
            assert D(held) == lot.quantity_reserved, (lot.package_label, held, lot.quantity_reserved)


def db_state(engine, *, entity_ids: list[int]) -> dict[str, Any]:
    """A fingerprint of everything the order flow can change for these entities."""
    with fresh(engine) as s:
        order_ids = list(
            s.execute(
                select(Order.id).where(Order.buyer_entity_id.in_(entity_ids) | Order.seller_entity_id.in_(entity_ids))
            ).scalars()
        )
        line_ids = (
            list(s.execute(select(OrderLine.id).where(OrderLine.order_id.in_(order_ids))).scalars())
            if order_ids
            else []
        )
        product_ids = list(s.execute(select(Product.id).where(Product.entity_id.in_(entity_ids))).scalars())

        def rows(model, *conds, cols):
            out = s.execute(select(*[getattr(model, c) for c in cols]).where(*conds).order_by(model.id)).all()
            return [tuple(r) for r in out]

        return {
            "orders": rows(
                Order,
                Order.id.in_(order_ids or [0]),
                cols=("id", "status", "subtotal", "tax", "total", "updated_at", "accepted_at", "shipped_at"),
            ),
            "lines": rows(
                OrderLine, OrderLine.order_id.in_(order_ids or [0]), cols=("id", "quantity", "unit_price", "line_total")
            ),
            "allocations": rows(
                OrderLineAllocation,
                OrderLineAllocation.order_line_id.in_(line_ids or [0]),
                cols=("id", "inventory_lot_id", "quantity"),
            ),
            "events": rows(OrderEvent, OrderEvent.order_id.in_(order_ids or [0]), cols=("id", "kind")),
            "messages": rows(OrderMessage, OrderMessage.order_id.in_(order_ids or [0]), cols=("id", "body")),
            "invoices": rows(Invoice, Invoice.order_id.in_(order_ids or [0]), cols=("id", "status", "amount_paid")),
            "payments": rows(
                Payment,
                Payment.invoice_id.in_(select(Invoice.id).where(Invoice.order_id.in_(order_ids or [0]))),
                cols=("id", "amount"),
            ),
            "lots": rows(
                InventoryLot,
                InventoryLot.product_id.in_(product_ids or [0]),
                cols=("id", "quantity_on_hand", "quantity_reserved", "quantity_available", "updated_at"),
            ),
            "products": rows(Product, Product.id.in_(product_ids or [0]), cols=("id", "available_qty", "updated_at")),
            "cart": rows(CartItem, CartItem.buyer_entity_id.in_(entity_ids), cols=("id", "product_id", "quantity")),
            "relationships": rows(
                TradeRelationship,
                TradeRelationship.seller_entity_id.in_(entity_ids) | TradeRelationship.buyer_entity_id.in_(entity_ids),
                cols=("id", "on_hold", "hold_reason"),
            ),
            "deliveries": rows(Delivery, Delivery.order_id.in_(order_ids or [0]), cols=("id", "status")),
            "manifests": rows(
                ComplianceManifest, ComplianceManifest.order_id.in_(order_ids or [0]), cols=("id", "status")
            ),
        }


def make_tier(session: Session, seller: Party, buyer: Party, prices: dict[int, str]) -> PriceTier:
    tier = PriceTier(seller_entity_id=seller.id, name=f"Tier {uuid.uuid4().hex[:6]}")
    session.add(tier)
    session.commit()
    for product_id, price in prices.items():
        session.add(PriceTierPrice(price_tier_id=tier.id, product_id=product_id, unit_price=D(price)))
    rel = session.execute(
        select(TradeRelationship).where(
            TradeRelationship.seller_entity_id == seller.id, TradeRelationship.buyer_entity_id == buyer.id
        )
    ).scalars().first() or TradeRelationship(seller_entity_id=seller.id, buyer_entity_id=buyer.id)
    rel.price_tier_id = tier.id
    session.add(rel)
    session.commit()
    return tier


class EventLog:
    """Collects domain events published on the process bus while active."""

    def __init__(self):
        self.events = []
        self._unsub = None

    def __enter__(self):
        from reup_app.events.bus import get_bus

        self._unsub = get_bus().subscribe(self.events.append)
        return self

    def __exit__(self, *exc):
        self._unsub()

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]

    def of(self, kind: str) -> list:
        return [e for e in self.events if e.kind == kind]
