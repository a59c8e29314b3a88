"""Keyset lists of the public API beyond orders and products: invoices and their payments,
licences, METRC manifests and deliveries (customers and vendors: `counterparties`; price tiers:
`pricing_feeds`). Same rules as the pages: a party's own rows only, authorized with the same
actions (invoice.view, order.view)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlmodel import Session, col

from reup_app.models import ComplianceManifest, Delivery, Invoice, License, Order, Payment
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services.billing.invoices import load_invoice
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
    """The business's invoices (issued as seller, received as buyer) with their order numbers, by
    (updated_at, id): a payment or a status change (paid, void) moves an invoice to the end, so
    `updated_since` returns it again."""
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
    stmt = _keyset(stmt, col(Invoice.updated_at), col(Invoice.id), cursor, updated_since).limit(limit + 1)
    rows, nxt = _page(list(session.execute(stmt).all()), limit, lambda r: (r[0].updated_at, r[0].id))
    return Page([(inv, number) for inv, number in rows], nxt)


def license_feed(
    session: Session,
    principal: Principal,
    *,
    updated_since: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[License]:
    """The business's own licences by (updated_at, id)."""
    entity_id = require_member(principal)
    authorize(principal, "order.view", entity_id)
    limit = _limit(limit)
    stmt = select(License).where(col(License.entity_id) == entity_id)
    stmt = _keyset(stmt, col(License.updated_at), col(License.id), cursor, updated_since).limit(limit + 1)
    rows, nxt = _page(list(session.execute(stmt).scalars().all()), limit, lambda r: (r.updated_at, r.id))
    return Page(rows, nxt)


def payment_feed(
    session: Session,
    principal: Principal,
    invoice_number: str,
    *,
    updated_since: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Payment]:
    """Payments on an invoice either party can see, by (recorded at, id). A payment is never edited
    or deleted once recorded, so its recording time is its change time (`updated_since`)."""
    invoice = load_invoice(session, principal, invoice_number)
    limit = _limit(limit)
    stmt = select(Payment).where(col(Payment.invoice_id) == invoice.id)
    stmt = _keyset(stmt, col(Payment.created_at), col(Payment.id), cursor, updated_since).limit(limit + 1)
    rows, nxt = _page(list(session.execute(stmt).scalars().all()), limit, lambda r: (r.created_at, r.id))
    return Page(rows, nxt)


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


__all__ = ["delivery_feed", "invoice_feed", "license_feed", "manifest_feed", "payment_feed"]
