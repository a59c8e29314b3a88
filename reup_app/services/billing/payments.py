"""Payments against invoices (recorded by the seller) and credit holds on buyers.

A hold ("pay your prior balance first", after Nabis) lives on the seller's TradeRelationship
with the buyer; while it is on, checkout refuses that seller's items for that buyer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from reup_app.errors import Conflict, NotFound, ValidationError
from reup_app.events import emit
from reup_app.models import Entity, Invoice, Order, Payment, TradeRelationship
from reup_app.models.enums import InvoiceStatus, PaymentMethod
from reup_app.models.types import utcnow
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services.billing.invoices import (
    InvoiceDTO,
    PaymentDTO,
    balance_of,
    invoice_detail,
    load_invoice,
)
from reup_app.services.common import (
    begin_read_committed,
    clean_text,
    get_row,
    money_str,
    parse_datetime,
    parse_int,
    parse_money,
    require_member,
)

METHODS = tuple(str(m) for m in PaymentMethod)
CLOCK_SKEW = timedelta(minutes=10)


def record_payment(
    session: Session,
    principal: Principal,
    invoice_number: str,
    amount: Decimal | str,
    method: str,
    reference: str | None = None,
    received_at: datetime | str | None = None,
    *,
    note: str | None = None,
) -> InvoiceDTO:
    """Record money the seller received against one of its invoices; returns the updated invoice.

    amount > 0 and at most the balance; method one of cash/check/ach/wire; received_at defaults
    to now and can't be in the future. The invoice turns "paid" when its balance reaches zero.
    A second payment with the same method and reference on the same invoice is refused as a
    duplicate (protects against double submission).
    """
    begin_read_committed(session)
    invoice = load_invoice(session, principal, invoice_number, "payment.record", lock=True)
    value = parse_money(amount)
    how = (method or "").strip().lower() if isinstance(method, str) else ""
    if how not in METHODS:
        raise ValidationError(f"Payment method must be one of {', '.join(METHODS)}.", "method")
    ref = clean_text(reference, "reference", max_len=128)
    memo = clean_text(note, "note", max_len=2000)
    when = parse_datetime(received_at, "received_at") or utcnow()
    if when > utcnow() + CLOCK_SKEW:
        raise ValidationError("The payment date can't be in the future.", "received_at")
    _check_payable(session, invoice, value, how, ref)
    session.add(
        Payment(
            invoice_id=invoice.id,
            amount=value,
            method=how,
            reference=ref,
            note=memo,
            received_at=when,
            recorded_by_user_id=principal.user_id if principal.is_authenticated else None,
        )
    )
    invoice.amount_paid = invoice.amount_paid + value
    if balance_of(invoice) == 0:
        invoice.status = str(InvoiceStatus.PAID)
    session.add(invoice)
    session.flush()
    _emit_payment_recorded(session, invoice, value)
    return invoice_detail(session, invoice)


def _check_payable(session: Session, invoice: Invoice, value: Decimal, how: str, ref: str | None) -> None:
    """Refuse a payment on a void or paid invoice, over the balance, or repeating a recorded reference."""
    if invoice.status == InvoiceStatus.VOID:
        raise Conflict(f"Invoice {invoice.number} is void.")
    balance = balance_of(invoice)
    if balance <= 0:
        raise Conflict(f"Invoice {invoice.number} is already paid in full.")
    if value > balance:
        raise ValidationError(f"That is more than the ${money_str(balance)} still due on {invoice.number}.", "amount")
    if (
        ref
        and session.execute(
            select(col(Payment.id)).where(
                col(Payment.invoice_id) == invoice.id, col(Payment.method) == how, col(Payment.reference) == ref
            )
        ).first()
        is not None
    ):
        raise Conflict(f"A {how} payment with reference {ref} is already recorded on {invoice.number}.")


def _emit_payment_recorded(session: Session, invoice: Invoice, value: Decimal) -> None:
    order = get_row(session, Order, invoice.order_id)
    emit(
        session,
        "invoice.payment_recorded",
        entity_ids=[invoice.seller_entity_id, invoice.buyer_entity_id],
        payload={
            "invoice_number": invoice.number,
            "order_number": order.number,
            "amount": str(value),
            "amount_paid": str(invoice.amount_paid),
            "balance": str(balance_of(invoice)),
            "status": invoice.status,
        },
    )


@dataclass(frozen=True)
class BuyerHold:
    seller_entity_id: int
    buyer_entity_id: int
    buyer_name: str
    on_hold: bool
    reason: str | None
    updated_at: datetime


def _customer(session: Session, seller_id: int, buyer_entity_id: int) -> Entity:
    """A buyer the seller trades with (has an order or an account with); NotFound otherwise."""
    buyer = session.get(Entity, buyer_entity_id)
    known = (
        buyer is not None
        and buyer.id != seller_id
        and (
            session.execute(
                select(col(Order.id))
                .where(col(Order.seller_entity_id) == seller_id, col(Order.buyer_entity_id) == buyer.id)
                .limit(1)
            ).first()
            is not None
            or session.execute(
                select(col(TradeRelationship.id)).where(
                    col(TradeRelationship.seller_entity_id) == seller_id,
                    col(TradeRelationship.buyer_entity_id) == buyer.id,
                )
            ).first()
            is not None
        )
    )
    if buyer is None or not known:
        raise NotFound("That customer was not found.")
    return buyer


def set_buyer_hold(
    session: Session, principal: Principal, buyer_entity_id: int, on_hold: bool, reason: str | None = None
) -> BuyerHold:
    """Put a customer on (or take them off) credit hold with the principal's business."""
    begin_read_committed(session)
    seller_id = require_member(principal)
    authorize(principal, "customer.hold", seller_id)
    if not isinstance(on_hold, bool):
        raise ValidationError("on_hold must be true or false.", "on_hold")
    why = clean_text(reason, "reason", max_len=255)
    if on_hold and not why:
        why = "Overdue balance"
    buyer = _customer(session, seller_id, parse_int(buyer_entity_id, "buyer_entity_id"))
    now = utcnow()
    rel = _locked_relationship(session, seller_id, buyer.id, now)
    changed = rel.on_hold != on_hold or (on_hold and rel.hold_reason != why)
    rel.on_hold = on_hold
    rel.hold_reason = why if on_hold else None
    rel.updated_at = now
    session.add(rel)
    session.flush()
    if changed:
        emit(
            session,
            "customer.hold_changed",
            entity_ids=[seller_id, buyer.id],
            payload={
                "seller_entity_id": seller_id,
                "buyer_entity_id": buyer.id,
                "on_hold": on_hold,
                "reason": rel.hold_reason,
            },
        )
    return BuyerHold(
        seller_entity_id=seller_id,
        buyer_entity_id=buyer.id,
        buyer_name=buyer.name,
        on_hold=rel.on_hold,
        reason=rel.hold_reason,
        updated_at=rel.updated_at,
    )


def _locked_relationship(session: Session, seller_id: int, buyer_entity_id: int, now: datetime) -> TradeRelationship:
    """The seller-buyer trade relationship row, locked FOR UPDATE; created if missing."""
    pair = (
        col(TradeRelationship.seller_entity_id) == seller_id,
        col(TradeRelationship.buyer_entity_id) == buyer_entity_id,
    )
    rel = (
        session.execute(
            select(TradeRelationship).where(*pair).with_for_update().execution_options(populate_existing=True)
        )
        .scalars()
        .first()
    )
    if rel is None:
        rel = TradeRelationship(
            seller_entity_id=seller_id, buyer_entity_id=buyer_entity_id, created_at=now, updated_at=now
        )
        try:
            with session.begin_nested():
                session.add(rel)
                session.flush()
        except IntegrityError:  # created concurrently
            rel = (
                session.execute(
                    select(TradeRelationship).where(*pair).with_for_update().execution_options(populate_existing=True)
                )
                .scalars()
                .one()
            )
    return rel


def list_payments(session: Session, principal: Principal, invoice_number: str) -> list[PaymentDTO]:
    """Payments on an invoice either party can see (oldest first)."""
    return invoice_detail(session, load_invoice(session, principal, invoice_number)).payments


__all__ = ["BuyerHold", "get_buyer_hold", "list_payments", "record_payment", "set_buyer_hold"]


def get_buyer_hold(session: Session, principal: Principal, buyer_entity_id: int) -> BuyerHold:
    """Whether a customer is on credit hold with the principal's business (the seller's view)."""
    seller_id = require_member(principal)
    authorize(principal, "order.view", seller_id)
    buyer = _customer(session, seller_id, parse_int(buyer_entity_id, "buyer_entity_id"))
    rel = (
        session.execute(
            select(TradeRelationship).where(
                col(TradeRelationship.seller_entity_id) == seller_id, col(TradeRelationship.buyer_entity_id) == buyer.id
            )
        )
        .scalars()
        .first()
    )
    return BuyerHold(
        seller_entity_id=seller_id,
        buyer_entity_id=buyer.id,
        buyer_name=buyer.name,
        on_hold=bool(rel and rel.on_hold),
        reason=rel.hold_reason if rel else None,
        updated_at=rel.updated_at if rel else utcnow(),
    )
