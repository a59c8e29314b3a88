"""Keyset lists of the public API beyond orders and products: invoices, the counterparties
(customers and vendors), licences, METRC manifests and deliveries. Same rules as the pages: a
party's own rows only, authorized with the same actions (invoice.view, order.view, pricing.manage)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from reup_app.models import ComplianceManifest, Delivery, Entity, Invoice, License, Order, Payment, TradeRelationship
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services.common import require_member
from reup_app.services.public_api.feeds import Page, _keyset, _limit, _page


def invoice_feed(
    session: Session,
    principal: Principal,
    *,
    side: str | None = None,
    status: str | None = None,
    updated_since: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[tuple[Invoice, str]]:
    """The business's invoices (issued as seller, received as buyer) with their order numbers, oldest
    first by (created_at, id). `updated_since`: issued or paid into since then."""
    entity_id = require_member(principal)
    authorize(principal, "invoice.view", entity_id)
    limit = _limit(limit)
    stmt = select(Invoice, col(Order.number)).join(Order, col(Order.id) == col(Invoice.order_id))
    mine = {
        "seller": col(Invoice.seller_entity_id) == entity_id,
        "buyer": col(Invoice.buyer_entity_id) == entity_id,
    }
    stmt = stmt.where(mine[side] if side in mine else or_(*mine.values()))
    if status:
        stmt = stmt.where(col(Invoice.status) == status)
    if updated_since is not None:
        paid_since = exists().where(
            col(Payment.invoice_id) == col(Invoice.id), col(Payment.created_at) >= updated_since
        )
        stmt = stmt.where(or_(col(Invoice.created_at) >= updated_since, paid_since))
    stmt = _keyset(stmt, col(Invoice.created_at), col(Invoice.id), cursor, None).limit(limit + 1)
    rows, nxt = _page(list(session.execute(stmt).all()), limit, lambda r: (r[0].created_at, r[0].id))
    return Page([(inv, number) for inv, number in rows], nxt)


@dataclass(frozen=True)
class Counterparty:
    id: int
    name: str
    relationship: str  # "customer" (buys from us) or "vendor" (sells to us)
    order_count: int
    on_hold: bool
    price_tier_id: int | None
    last_order_at: datetime | None


def counterparties(session: Session, principal: Principal, relationship: str) -> list[Counterparty]:
    """Customers (businesses that ordered from us, or have an account with us) or vendors (that we
    ordered from), with their order counts."""
    entity_id = require_member(principal)
    authorize(principal, "order.view", entity_id)
    me, them = (
        (Order.seller_entity_id, Order.buyer_entity_id)
        if relationship == "customer"
        else (Order.buyer_entity_id, Order.seller_entity_id)
    )
    other = aliased(Entity)
    rel_seller = TradeRelationship.seller_entity_id if relationship == "customer" else TradeRelationship.buyer_entity_id
    rows = session.execute(
        select(col(them), col(other.name), func.count(col(Order.id)), func.max(col(Order.submitted_at)))
        .join(other, col(other.id) == col(them))
        .where(col(me) == entity_id, col(Order.status) != "draft")
        .group_by(col(them), col(other.name))
    ).all()
    rels = {
        r.buyer_entity_id if relationship == "customer" else r.seller_entity_id: r
        for r in session.execute(select(TradeRelationship).where(col(rel_seller) == entity_id)).scalars()
    }
    out = {
        int(oid): Counterparty(int(oid), name, relationship, int(n), False, None, last) for oid, name, n, last in rows
    }
    for oid, rel in rels.items():
        base = out.get(oid)
        if base is None:
            ent = session.get(Entity, oid)
            if ent is None:
                continue
            base = Counterparty(oid, ent.name, relationship, 0, False, None, None)
        out[oid] = Counterparty(
            base.id, base.name, relationship, base.order_count, bool(rel.on_hold), rel.price_tier_id, base.last_order_at
        )
    return sorted(out.values(), key=lambda c: c.id)


def own_licenses(session: Session, principal: Principal) -> list[License]:
    entity_id = require_member(principal)
    authorize(principal, "order.view", entity_id)
    return list(
        session.execute(select(License).where(col(License.entity_id) == entity_id).order_by(col(License.id))).scalars()
    )


def _party_orders(entity_id: int):
    return or_(col(Order.buyer_entity_id) == entity_id, col(Order.seller_entity_id) == entity_id)


def manifest_feed(
    session: Session,
    principal: Principal,
    *,
    updated_since: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[tuple[ComplianceManifest, str]]:
    """METRC manifests of the business's orders (either party), by (updated_at, id)."""
    entity_id = require_member(principal)
    authorize(principal, "order.view", entity_id)
    limit = _limit(limit)
    stmt = select(ComplianceManifest, col(Order.number)).join(Order, col(Order.id) == col(ComplianceManifest.order_id))
    stmt = _keyset(
        stmt.where(_party_orders(entity_id)),
        col(ComplianceManifest.updated_at),
        col(ComplianceManifest.id),
        cursor,
        updated_since,
    )
    rows, nxt = _page(list(session.execute(stmt.limit(limit + 1)).all()), limit, lambda r: (r[0].updated_at, r[0].id))
    return Page([(m, n) for m, n in rows], nxt)


def delivery_feed(
    session: Session,
    principal: Principal,
    *,
    updated_since: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[tuple[Delivery, str]]:
    """Deliveries of the business's orders (either party), by (updated_at, id)."""
    entity_id = require_member(principal)
    authorize(principal, "order.view", entity_id)
    limit = _limit(limit)
    stmt = select(Delivery, col(Order.number)).join(Order, col(Order.id) == col(Delivery.order_id))
    stmt = _keyset(
        stmt.where(_party_orders(entity_id)), col(Delivery.updated_at), col(Delivery.id), cursor, updated_since
    )
    rows, nxt = _page(list(session.execute(stmt.limit(limit + 1)).all()), limit, lambda r: (r[0].updated_at, r[0].id))
    return Page([(d, n) for d, n in rows], nxt)


__all__ = ["Counterparty", "counterparties", "delivery_feed", "invoice_feed", "manifest_feed", "own_licenses"]
