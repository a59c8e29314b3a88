"""Invoices: created when an order ships, read by both parties, rendered as PDF.

Due date from the order's payment terms: cod and prepay are due on the ship date, net_N N days
after it. When an invoice is overdue is decided in `overdue.py` (from the day after its due date
in its seller license's calendar, while it still has a balance).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from reup_app.errors import ValidationError
from reup_app.events.orders import emit_order_event
from reup_app.models import Entity, Invoice, License, Order, OrderLine, Payment, User
from reup_app.models.enums import InvoiceStatus
from reup_app.models.types import utcnow
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services.billing import invoice_pdf, overdue
from reup_app.services.common import (
    ZERO,
    authorize_party,
    clean_text,
    get_row,
    q2,
    require_member,
)

NET_TERMS_RE = re.compile(r"^net_?(\d{1,3})$")
INVOICE_PREFIX = "INV-"


def due_date_for(terms: str, shipped_at: datetime) -> datetime:
    """cod / prepay (and anything unknown) -> the ship date; net_N -> ship date + N days."""
    m = NET_TERMS_RE.match((terms or "").lower())
    return shipped_at + timedelta(days=int(m.group(1))) if m else shipped_at


def invoice_number_for(order: Order) -> str:
    """INV- plus the order number's digits: unique because order numbers are, and traceable."""
    return INVOICE_PREFIX + order.number.split("-", 1)[-1]


def balance_of(invoice: Invoice) -> Decimal:
    if invoice.status == InvoiceStatus.VOID:
        return q2(ZERO)
    return q2(max(ZERO, invoice.total - invoice.amount_paid))


def is_overdue(invoice: Invoice, state: str, now: datetime | None = None) -> bool:
    """Past its due date in the calendar of `state` (its seller license's) with a balance open."""
    return overdue.days_overdue(invoice.due_at, balance_of(invoice), state, now) > 0


def create_invoice_for_order(session: Session, order: Order) -> Invoice:
    """The invoice for a shipping order (called by the state machine; idempotent per order)."""
    existing = session.execute(select(Invoice).where(col(Invoice.order_id) == order.id)).scalars().first()
    if existing is not None:
        return existing
    issued = order.shipped_at or utcnow()
    invoice = Invoice(
        number=invoice_number_for(order),
        order_id=order.id,
        seller_entity_id=order.seller_entity_id,
        buyer_entity_id=order.buyer_entity_id,
        status=str(InvoiceStatus.OPEN),
        subtotal=order.subtotal,
        tax=order.tax,
        total=order.total,
        amount_paid=ZERO,
        issued_at=issued,
        due_at=due_date_for(order.payment_terms, issued),
        created_at=utcnow(),
    )
    session.add(invoice)
    session.flush()
    emit_order_event(
        session, "invoice.created", order, invoice_number=invoice.number, due_at=invoice.due_at.isoformat()
    )
    return invoice


# --------------------------------------------------------------------------------------------
# DTOs and reads
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvoiceLineDTO:
    sku: str
    product_name: str
    quantity: Decimal
    unit_price: Decimal
    line_total: Decimal


@dataclass(frozen=True)
class PaymentDTO:
    id: int
    amount: Decimal
    method: str
    reference: str | None
    note: str | None
    received_at: datetime
    recorded_by_user_id: int | None
    recorded_by_name: str | None


@dataclass(frozen=True)
class InvoiceSummary:
    number: str
    order_number: str
    seller_entity_id: int
    seller_name: str
    buyer_entity_id: int
    buyer_name: str
    status: str  # open / paid / void
    total: Decimal
    amount_paid: Decimal
    balance: Decimal
    issued_at: datetime
    due_at: datetime
    is_overdue: bool
    days_overdue: int


@dataclass(frozen=True)
class InvoiceDTO(InvoiceSummary):
    currency: str = "USD"
    subtotal: Decimal = ZERO
    tax: Decimal = ZERO
    payment_terms: str = ""
    seller_address: list[str] = field(default_factory=list)
    seller_license_number: str = ""
    buyer_address: list[str] = field(default_factory=list)
    buyer_license_number: str = ""
    lines: list[InvoiceLineDTO] = field(default_factory=list)
    payments: list[PaymentDTO] = field(default_factory=list)
    updated_at: datetime | None = None


@dataclass(frozen=True)
class InvoicePage:
    items: list[InvoiceSummary]
    page: int
    page_size: int
    total: int


def _summary(
    invoice: Invoice, order_number: str, seller_name: str, buyer_name: str, now: datetime, state: str
) -> InvoiceSummary:
    late = overdue.days_overdue(invoice.due_at, balance_of(invoice), state, now)
    return InvoiceSummary(
        number=invoice.number,
        order_number=order_number,
        seller_entity_id=invoice.seller_entity_id,
        seller_name=seller_name,
        buyer_entity_id=invoice.buyer_entity_id,
        buyer_name=buyer_name,
        status=invoice.status,
        total=invoice.total,
        amount_paid=invoice.amount_paid,
        balance=balance_of(invoice),
        issued_at=invoice.issued_at,
        due_at=invoice.due_at,
        is_overdue=late > 0,
        days_overdue=late,
    )


def load_invoice(
    session: Session, principal: Principal, invoice_number: str, action: str = "invoice.view", *, lock: bool = False
) -> Invoice:
    """An invoice the principal's entity is party to (NotFound for anyone else).

    Acting on an invoice (any action but invoice.view) is the seller's business. With lock=True
    the row is locked FOR UPDATE by the first statement, so later reads see current payments.
    """
    number = clean_text(invoice_number, "invoice_number", max_len=32, required=True, label="an invoice number")
    stmt = select(Invoice).where(col(Invoice.number) == number)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    invoice = session.execute(stmt).scalars().first()
    parties = [invoice.seller_entity_id, invoice.buyer_entity_id] if invoice else []
    authorize_party(principal, "invoice.view", parties, f"Invoice {number} was not found.")
    assert invoice is not None  # authorize_party raised NotFound for a missing invoice
    if action != "invoice.view":
        authorize(principal, action, invoice.seller_entity_id)
    return invoice


def _address(entity: Entity, license: License | None) -> list[str]:
    lines = [entity.legal_name or entity.name]
    if license and license.premises_address:
        lines.append(license.premises_address)
        city = ", ".join(x for x in [license.premises_city, license.state] if x)
        lines.append(" ".join(x for x in [city, license.premises_postal_code] if x))
    elif entity.address_line1:
        lines.append(entity.address_line1)
        city = ", ".join(x for x in [entity.city, entity.state] if x)
        lines.append(" ".join(x for x in [city, entity.postal_code] if x))
    return [ln for ln in lines if ln]


def invoice_detail(session: Session, invoice: Invoice) -> InvoiceDTO:
    now = utcnow()
    order = get_row(session, Order, invoice.order_id)
    seller, buyer = (
        get_row(session, Entity, invoice.seller_entity_id),
        get_row(session, Entity, invoice.buyer_entity_id),
    )
    seller_lic, buyer_lic = session.get(License, order.seller_license_id), session.get(License, order.buyer_license_id)
    lines = session.execute(
        select(OrderLine).where(col(OrderLine.order_id) == order.id).order_by(col(OrderLine.id))
    ).scalars()
    payments = session.execute(
        select(Payment, col(User.full_name))
        .outerjoin(User, col(User.id) == col(Payment.recorded_by_user_id))
        .where(col(Payment.invoice_id) == invoice.id)
        .order_by(col(Payment.received_at), col(Payment.id))
    ).all()
    state = seller_lic.state if seller_lic is not None else (seller.state or "CA")
    base = _summary(invoice, order.number, seller.name, buyer.name, now, state)
    return InvoiceDTO(
        **base.__dict__,
        currency=invoice.currency,
        subtotal=invoice.subtotal,
        tax=invoice.tax,
        payment_terms=order.payment_terms,
        updated_at=invoice.updated_at,
        seller_address=_address(seller, seller_lic),
        seller_license_number=f"{seller_lic.state} {seller_lic.number}" if seller_lic else "",
        buyer_address=_address(buyer, buyer_lic),
        buyer_license_number=f"{buyer_lic.state} {buyer_lic.number}" if buyer_lic else "",
        lines=[
            InvoiceLineDTO(
                sku=ln.sku,
                product_name=ln.product_name,
                quantity=ln.quantity,
                unit_price=ln.unit_price,
                line_total=ln.line_total,
            )
            for ln in lines
        ],
        payments=[
            PaymentDTO(
                id=p.id,
                amount=p.amount,
                method=p.method,
                reference=p.reference,
                note=p.note,
                received_at=p.received_at,
                recorded_by_user_id=p.recorded_by_user_id,
                recorded_by_name=name,
            )
            for p, name in payments
        ],
    )


def get_invoice(session: Session, principal: Principal, invoice_number: str) -> InvoiceDTO:
    return invoice_detail(session, load_invoice(session, principal, invoice_number))


INVOICE_FILTERS = ("open", "paid", "void", "overdue")


def list_invoices(
    session: Session,
    principal: Principal,
    *,
    side: str | None = None,
    status: str | None = None,
    page: int = 1,
    page_size: int = 25,
) -> InvoicePage:
    """The principal's entity's invoices: side "seller" (receivables), "buyer" (payables) or both.

    status: "open", "paid", "void" or "overdue" (open, past due, with a balance). Newest first.
    """
    entity_id = require_member(principal)
    authorize(principal, "invoice.view", entity_id)
    if side not in (None, "buyer", "seller"):
        raise ValidationError("Side must be buyer or seller.", "side")
    if status not in (None, *INVOICE_FILTERS):
        raise ValidationError(f"Unknown invoice status {status!r}.", "status")
    page, page_size = max(1, int(page)), min(100, max(1, int(page_size)))
    now = utcnow()
    seller, buyer = aliased(Entity), aliased(Entity)
    conds = []
    if side == "seller":
        conds.append(col(Invoice.seller_entity_id) == entity_id)
    elif side == "buyer":
        conds.append(col(Invoice.buyer_entity_id) == entity_id)
    else:
        conds.append(or_(col(Invoice.seller_entity_id) == entity_id, col(Invoice.buyer_entity_id) == entity_id))
    if status == "overdue":
        conds += [
            col(Invoice.status) == InvoiceStatus.OPEN,
            overdue.overdue_clause(now),
            col(Invoice.total) > col(Invoice.amount_paid),
        ]
    elif status:
        conds.append(col(Invoice.status) == status)
    total = session.execute(select(func.count(col(Invoice.id))).where(*conds)).scalar_one()
    rows = session.execute(
        select(Invoice, col(Order.number), col(seller.name), col(buyer.name), col(License.state))
        .join(Order, col(Order.id) == col(Invoice.order_id))
        .join(License, col(License.id) == col(Order.seller_license_id))
        .join(seller, col(seller.id) == col(Invoice.seller_entity_id))
        .join(buyer, col(buyer.id) == col(Invoice.buyer_entity_id))
        .where(*conds)
        .order_by(col(Invoice.issued_at).desc(), col(Invoice.id).desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return InvoicePage(
        items=[_summary(inv, num, s, b, now, st) for inv, num, s, b, st in rows],
        page=page,
        page_size=page_size,
        total=int(total),
    )


def render_invoice_pdf(session: Session, principal: Principal, invoice_number: str) -> bytes:
    """The invoice as a PDF document (bytes starting with %PDF)."""
    return invoice_pdf.render(get_invoice(session, principal, invoice_number))
