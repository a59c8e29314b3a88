"""A business's counterparties for the public API: customers (buy from it: ordered, or have an
account with it) and vendors (it ordered from), one row each, with a real change time.

`updated_at` is the latest of: the other business's own update, the trade relationship's update
(hold, price tier) and the latest order between the two (a new order changes the counts). Only
counterparties of the principal's business are ever read; anyone else is NotFound."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from reup_app.errors import NotFound, ValidationError
from reup_app.models import Entity, Order, TradeRelationship
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services.common import require_member
from reup_app.services.public_api.feeds import Page, page_in_memory

RELATIONSHIPS = ("customer", "vendor")


@dataclass(frozen=True)
class Counterparty:
    id: int
    name: str
    relationship: str  # "customer" (buys from us) or "vendor" (sells to us)
    order_count: int
    on_hold: bool
    price_tier_id: int | None
    last_order_at: datetime | None
    updated_at: datetime


def _rows(session: Session, entity_id: int, relationship: str, only: int | None = None) -> list[Counterparty]:
    if relationship not in RELATIONSHIPS:
        raise ValidationError("relationship must be customer or vendor.", "relationship")
    customer = relationship == "customer"
    me, them = (
        (Order.seller_entity_id, Order.buyer_entity_id) if customer else (Order.buyer_entity_id, Order.seller_entity_id)
    )
    other = aliased(Entity)
    stmt = (
        select(
            col(them),
            col(other.name),
            col(other.updated_at),
            func.count(col(Order.id)),
            func.max(col(Order.submitted_at)),
            func.max(col(Order.created_at)),
        )
        .join(other, col(other.id) == col(them))
        .where(col(me) == entity_id, col(Order.status) != "draft")
        .group_by(col(them), col(other.name), col(other.updated_at))
    )
    rel_me = TradeRelationship.seller_entity_id if customer else TradeRelationship.buyer_entity_id
    rel_them = TradeRelationship.buyer_entity_id if customer else TradeRelationship.seller_entity_id
    rels = select(TradeRelationship).where(col(rel_me) == entity_id)
    if only is not None:
        stmt, rels = stmt.where(col(them) == only), rels.where(col(rel_them) == only)
    out = {
        int(oid): Counterparty(
            int(oid), name, relationship, int(n), False, None, last, max(ent_at, created, last or created)
        )
        for oid, name, ent_at, n, last, created in session.execute(stmt).all()
    }
    relationships = list(session.execute(rels).scalars())
    unordered = {r.buyer_entity_id if customer else r.seller_entity_id for r in relationships} - out.keys()
    names = (
        {  # the counterparties with an account but no order yet, read in one query
            e.id: e for e in session.execute(select(Entity).where(col(Entity.id).in_(unordered))).scalars()
        }
        if unordered
        else {}
    )
    for rel in relationships:
        oid = rel.buyer_entity_id if customer else rel.seller_entity_id
        base = out.get(oid)
        if base is None:
            ent = names.get(oid)
            if ent is None:
                continue
            base = Counterparty(oid, ent.name, relationship, 0, False, None, None, ent.updated_at)
        out[oid] = replace(
            base,
            on_hold=bool(rel.on_hold),
            price_tier_id=rel.price_tier_id,
            updated_at=max(base.updated_at, rel.updated_at),
        )
    return list(out.values())


def counterparty_feed(
    session: Session,
    principal: Principal,
    relationship: str,
    *,
    updated_since: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Counterparty]:
    """Customers or vendors of the principal's business by (updated_at, id); `updated_since`: changed since."""
    entity_id = require_member(principal)
    authorize(principal, "order.view", entity_id)
    rows = _rows(session, entity_id, relationship)
    return page_in_memory(rows, lambda c: (c.updated_at, c.id), cursor, updated_since, limit)


def read_counterparty(session: Session, principal: Principal, relationship: str, other_id: int) -> Counterparty:
    """One customer or vendor of the principal's business; NotFound for any other business."""
    entity_id = require_member(principal)
    authorize(principal, "order.view", entity_id)
    rows = _rows(session, entity_id, relationship, only=other_id) if other_id != entity_id else []
    if not rows:
        raise NotFound(f"That {relationship} was not found.")
    return rows[0]


__all__ = ["Counterparty", "counterparty_feed", "read_counterparty"]
