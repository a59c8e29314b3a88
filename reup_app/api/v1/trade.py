"""/api/v1 invoices and payments, customers and vendors, licences, price tiers, manifests, deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field
from sqlmodel import Session
from starlette.responses import JSONResponse

from reup_app.api.v1.deps import IdempotencyKey, Identity, idempotent_post, read
from reup_app.api.v1.schemas import (
    CounterpartyOut,
    DecimalStr,
    DeliveryOut,
    InvoiceOut,
    LicenseOut,
    ListOf,
    ManifestOut,
    PaymentIn,
    PaymentOut,
    PriceTierOut,
    Strict,
    TierPriceOut,
    dec,
)
from reup_app.models import Invoice, Payment
from reup_app.security.principal import Principal
from reup_app.services.billing import invoices as billing_invoices
from reup_app.services.billing import payments as billing_payments
from reup_app.services.billing.invoices import InvoiceDTO, PaymentDTO
from reup_app.services.catalog import price_tiers
from reup_app.services.public_api import counterparties, pricing_feeds, trade_feeds

router = APIRouter(tags=["trade"])
Number = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9\-]+$")]
Cursor = Annotated[str | None, Query(max_length=200)]
Limit = Annotated[int, Query(ge=1, le=200)]


def payment_out(p: PaymentDTO | Payment) -> dict[str, Any]:
    return PaymentOut(
        id=p.id, amount=dec(p.amount) or "0", method=p.method, reference=p.reference, received_at=p.received_at
    ).model_dump(mode="json")


def invoice_row_out(inv: Invoice, order_number: str) -> dict[str, Any]:
    return InvoiceOut(
        number=inv.number,
        order_number=order_number,
        seller_id=inv.seller_entity_id,
        buyer_id=inv.buyer_entity_id,
        status=inv.status,
        currency=inv.currency,
        subtotal=dec(inv.subtotal) or "0",
        tax=dec(inv.tax) or "0",
        total=dec(inv.total) or "0",
        amount_paid=dec(inv.amount_paid) or "0",
        balance=dec(inv.total - inv.amount_paid) or "0",
        issued_at=inv.issued_at,
        due_at=inv.due_at,
        updated_at=inv.updated_at,
    ).model_dump(mode="json")


def invoice_out(d: InvoiceDTO) -> dict[str, Any]:
    assert d.updated_at is not None  # invoice_detail always sets it
    return InvoiceOut(
        number=d.number,
        order_number=d.order_number,
        seller_id=d.seller_entity_id,
        buyer_id=d.buyer_entity_id,
        status=d.status,
        currency=d.currency,
        subtotal=dec(d.subtotal) or "0",
        tax=dec(d.tax) or "0",
        total=dec(d.total) or "0",
        amount_paid=dec(d.amount_paid) or "0",
        balance=dec(d.balance) or "0",
        issued_at=d.issued_at,
        due_at=d.due_at,
        updated_at=d.updated_at,
        payments=[PaymentOut.model_validate(payment_out(p)) for p in d.payments],
    ).model_dump(mode="json")


@router.get("/invoices", response_model=ListOf[InvoiceOut], summary="List invoices")
def list_invoices(
    identity: Identity,
    side: Annotated[str | None, Query(pattern="^(buyer|seller)$")] = None,
    status: Annotated[str | None, Query(pattern="^(open|paid|void)$")] = None,
    updated_since: datetime | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    """Invoices the business issued (side=seller) or received (side=buyer), by (updated_at, id).
    `updated_since`: issued, paid into, paid or voided since then."""
    page = read(
        identity,
        trade_feeds.invoice_feed,
        side=side,
        status=status,
        updated_since=updated_since,
        cursor=cursor,
        limit=limit,
    )
    return {"data": [invoice_row_out(inv, n) for inv, n in page.items], "next_cursor": page.next_cursor}


@router.get("/invoices/{number}", response_model=InvoiceOut, summary="Read an invoice with its payments")
def get_invoice(identity: Identity, number: Number) -> Any:
    return invoice_out(read(identity, billing_invoices.get_invoice, number))


@router.post(
    "/invoices/{number}/payments", status_code=201, response_model=InvoiceOut, summary="Record a payment (sellers)"
)
def record_payment(
    request: Request, identity: Identity, number: Number, body: PaymentIn, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    def effect(session: Session, principal: Principal) -> tuple[int, Any]:
        d = billing_payments.record_payment(
            session, principal, number, body.amount, body.method, body.reference, body.received_at, note=body.note
        )
        return 201, invoice_out(d)

    return idempotent_post(request, identity, idempotency_key, body, effect)


@router.get("/invoices/{number}/payments", response_model=ListOf[PaymentOut], summary="List an invoice's payments")
def list_payments(
    identity: Identity, number: Number, updated_since: datetime | None = None, cursor: Cursor = None, limit: Limit = 50
) -> Any:
    """By (recorded at, id). Payments are never edited or deleted, so `updated_since` returns those
    recorded since then."""
    page = read(identity, trade_feeds.payment_feed, number, updated_since=updated_since, cursor=cursor, limit=limit)
    return {"data": [payment_out(p) for p in page.items], "next_cursor": page.next_cursor}


def _party_out(c: counterparties.Counterparty) -> dict[str, Any]:
    return CounterpartyOut(**c.__dict__).model_dump(mode="json")


def _parties(
    identity: Identity, relationship: str, updated_since: datetime | None, cursor: str | None, limit: int
) -> dict[str, Any]:
    page = read(
        identity,
        counterparties.counterparty_feed,
        relationship,
        updated_since=updated_since,
        cursor=cursor,
        limit=limit,
    )
    return {"data": [_party_out(c) for c in page.items], "next_cursor": page.next_cursor}


PARTIES_DOC = """By (updated_at, id). `updated_at` (and so `updated_since`) is the latest of the business's own
update, your relationship's (hold, price tier) and the last order between you."""
EntityId = Annotated[int, Path(ge=1)]


@router.get(
    "/customers",
    response_model=ListOf[CounterpartyOut],
    summary="Businesses that buy from this one",
    description=PARTIES_DOC,
)
def list_customers(
    identity: Identity, updated_since: datetime | None = None, cursor: Cursor = None, limit: Limit = 50
) -> Any:
    return _parties(identity, "customer", updated_since, cursor, limit)


@router.get("/customers/{entity_id}", response_model=CounterpartyOut, summary="Read a customer")
def get_customer(identity: Identity, entity_id: EntityId) -> Any:
    """A business that buys from this one; 404 for any other business."""
    return _party_out(read(identity, counterparties.read_counterparty, "customer", entity_id))


@router.get(
    "/vendors",
    response_model=ListOf[CounterpartyOut],
    summary="Businesses this one buys from",
    description=PARTIES_DOC,
)
def list_vendors(
    identity: Identity, updated_since: datetime | None = None, cursor: Cursor = None, limit: Limit = 50
) -> Any:
    return _parties(identity, "vendor", updated_since, cursor, limit)


@router.get("/vendors/{entity_id}", response_model=CounterpartyOut, summary="Read a vendor")
def get_vendor(identity: Identity, entity_id: EntityId) -> Any:
    """A business this one buys from; 404 for any other business."""
    return _party_out(read(identity, counterparties.read_counterparty, "vendor", entity_id))


@router.get("/licenses", response_model=ListOf[LicenseOut], summary="The business's licences")
def list_licenses(
    identity: Identity, updated_since: datetime | None = None, cursor: Cursor = None, limit: Limit = 50
) -> Any:
    """By (updated_at, id)."""
    page = read(identity, trade_feeds.license_feed, updated_since=updated_since, cursor=cursor, limit=limit)
    data = [
        LicenseOut(
            id=lic.id,
            state=lic.state,
            number=lic.number,
            license_type=lic.license_type,
            status=lic.status,
            expires_on=lic.expires_on,
            premises_name=lic.premises_name,
            updated_at=lic.updated_at,
        ).model_dump(mode="json")
        for lic in page.items
    ]
    return {"data": data, "next_cursor": page.next_cursor}


NO_SINCE = " Tiers and tier prices record no change time, so there is no `updated_since`: re-read the list to sync."


@router.get(
    "/price-tiers",
    response_model=ListOf[PriceTierOut],
    summary="Price tiers (sellers)",
    description="By (created, id)." + NO_SINCE,
)
def list_tiers(identity: Identity, cursor: Cursor = None, limit: Limit = 50) -> Any:
    page = read(identity, pricing_feeds.tier_feed, cursor=cursor, limit=limit)
    return {
        "data": [PriceTierOut(**r.__dict__).model_dump(mode="json") for r in page.items],
        "next_cursor": page.next_cursor,
    }


@router.get(
    "/price-tiers/{tier_id}/prices",
    response_model=ListOf[TierPriceOut],
    summary="A tier's prices",
    description="Every product of the seller with its price in the tier (null: list price), by (product created, id)."
    + NO_SINCE,
)
def list_tier_prices(identity: Identity, tier_id: int, cursor: Cursor = None, limit: Limit = 50) -> Any:
    page = read(identity, pricing_feeds.tier_price_feed, tier_id, cursor=cursor, limit=limit)
    data = [
        TierPriceOut(
            product_id=r.product_id,
            sku=r.sku,
            name=r.name,
            list_price=dec(r.list_price) or "0",
            tier_price=dec(r.tier_price),
        ).model_dump(mode="json")
        for r in page.items
    ]
    return {"data": data, "next_cursor": page.next_cursor}


class TierPriceIn(Strict):
    product_id: int = Field(ge=1)
    unit_price: DecimalStr | None = Field(default=None, description="null removes the product's tier price")


class TierPriceSet(BaseModel):
    product_id: int
    tier_price: DecimalStr | None


@router.post("/price-tiers/{tier_id}/prices", response_model=TierPriceSet, summary="Set a product's tier price")
def set_tier_price(
    request: Request, identity: Identity, tier_id: int, body: TierPriceIn, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    def effect(session: Session, principal: Principal) -> tuple[int, Any]:
        price = price_tiers.set_tier_price(session, principal, tier_id, body.product_id, body.unit_price)
        return 200, {"product_id": body.product_id, "tier_price": dec(price)}

    return idempotent_post(request, identity, idempotency_key, body, effect)


@router.get("/manifests", response_model=ListOf[ManifestOut], summary="METRC manifests of the business's orders")
def list_manifests(
    identity: Identity, updated_since: datetime | None = None, cursor: Cursor = None, limit: Limit = 50
) -> Any:
    page = read(identity, trade_feeds.manifest_feed, updated_since=updated_since, cursor=cursor, limit=limit)
    data = [
        ManifestOut(
            id=m.id,
            order_number=n,
            provider=m.provider,
            status=m.status,
            manifest_number=m.manifest_number,
            last_error=m.last_error,
            submitted_at=m.submitted_at,
            created_at=m.created_at,
            updated_at=m.updated_at,
        ).model_dump(mode="json")
        for m, n in page.items
    ]
    return {"data": data, "next_cursor": page.next_cursor}


@router.get("/deliveries", response_model=ListOf[DeliveryOut], summary="Deliveries of the business's orders")
def list_deliveries(
    identity: Identity, updated_since: datetime | None = None, cursor: Cursor = None, limit: Limit = 50
) -> Any:
    page = read(identity, trade_feeds.delivery_feed, updated_since=updated_since, cursor=cursor, limit=limit)
    data = [
        DeliveryOut(
            id=d.id,
            order_number=n,
            provider=d.provider,
            status=d.status,
            tracking_number=d.tracking_number,
            eta=d.eta,
            delivered_at=d.delivered_at,
            created_at=d.created_at,
            updated_at=d.updated_at,
        ).model_dump(mode="json")
        for d, n in page.items
    ]
    return {"data": data, "next_cursor": page.next_cursor}
