"""/api/v1/orders: list (filters, cursor), read, lines, create (buyers), transitions, messages."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import TypeAdapter
from sqlmodel import Session
from starlette.responses import JSONResponse

from reup_app.api.v1.deps import IdempotencyKey, Identity, idempotent_post, read, service_key, typed_json
from reup_app.api.v1.schemas import (
    ListOf,
    MessageIn,
    MessageOut,
    OrderCreateIn,
    OrderLineOut,
    OrderOut,
    OrdersCreatedOut,
    OrderSummaryOut,
    ShipIn,
    TransitionIn,
    TransitionOut,
    dec,
)
from reup_app.security.principal import Principal
from reup_app.services.ordering import messages as order_messages
from reup_app.services.ordering import order_views, orders
from reup_app.services.ordering.records import MessageDTO, OrderDetail, OrderLineDTO, OrderSummary
from reup_app.services.public_api import feeds, order_create

router = APIRouter(prefix="/orders", tags=["orders"])
Number = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9\-]+$")]


def summary_fields(o: OrderSummary) -> dict[str, Any]:
    """An order summary's OrderSummaryOut fields (not yet validated)."""
    return {
        "number": o.number,
        "status": o.status,
        "buyer_id": o.buyer_entity_id,
        "buyer_name": o.buyer_name,
        "seller_id": o.seller_entity_id,
        "seller_name": o.seller_name,
        "payment_terms": o.payment_terms,
        "subtotal": dec(o.subtotal) or "0",
        "tax": dec(o.tax) or "0",
        "total": dec(o.total) or "0",
        "line_count": o.line_count,
        "created_at": o.created_at,
        "submitted_at": o.submitted_at,
        "updated_at": o.updated_at,
    }


def summary_out(o: OrderSummary) -> dict[str, Any]:
    return OrderSummaryOut(**summary_fields(o)).model_dump(mode="json")


_ORDER_LIST = TypeAdapter(ListOf[OrderSummaryOut])


def line_out(ln: OrderLineDTO) -> OrderLineOut:
    return OrderLineOut(
        id=ln.id,
        product_id=ln.product_id,
        sku=ln.sku,
        product_name=ln.product_name,
        quantity=dec(ln.quantity) or "0",
        unit_price=dec(ln.unit_price) or "0",
        line_total=dec(ln.line_total) or "0",
    )


def detail_out(d: OrderDetail) -> dict[str, Any]:
    lines = [line_out(ln) for ln in d.lines]
    return OrderOut(
        number=d.number,
        status=d.status,
        side=d.side,
        buyer_id=d.buyer_entity_id,
        buyer_name=d.buyer_name,
        buyer_license_number=d.buyer_license_number,
        seller_id=d.seller_entity_id,
        seller_name=d.seller_name,
        seller_license_number=d.seller_license_number,
        payment_terms=d.payment_terms,
        subtotal=dec(d.subtotal) or "0",
        tax=dec(d.tax) or "0",
        total=dec(d.total) or "0",
        line_count=len(d.lines),
        notes=d.notes,
        created_at=d.created_at,
        submitted_at=d.submitted_at,
        accepted_at=d.accepted_at,
        fulfilled_at=d.fulfilled_at,
        shipped_at=d.shipped_at,
        delivered_at=d.delivered_at,
        completed_at=d.completed_at,
        cancelled_at=d.cancelled_at,
        updated_at=d.updated_at,
        available_actions=list(d.available_actions),
        lines=lines,
    ).model_dump(mode="json")


def message_out(m: MessageDTO) -> dict[str, Any]:
    return MessageOut(
        id=m.id,
        order_number=m.order_number,
        author_name=m.author_name,
        author_business_id=m.author_entity_id,
        body=m.body,
        created_at=m.created_at,
    ).model_dump(mode="json")


@router.get("", response_model=ListOf[OrderSummaryOut], summary="List orders")
def list_orders(
    identity: Identity,
    status: Annotated[list[str] | None, Query(description="One or more statuses (repeat the parameter).")] = None,
    side: Annotated[str | None, Query(pattern="^(buyer|seller)$")] = None,
    counterparty_id: Annotated[int | None, Query(ge=1)] = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    updated_since: datetime | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Any:
    """Orders the key's business placed or received, oldest change first (stable: updated_at, then id)."""
    page = read(
        identity,
        feeds.order_feed,
        side=side,
        status=status,
        counterparty_id=counterparty_id,
        created_from=created_from,
        created_to=created_to,
        updated_since=updated_since,
        cursor=cursor,
        limit=limit,
    )
    return typed_json(_ORDER_LIST, {"data": [summary_fields(o) for o in page.items], "next_cursor": page.next_cursor})


@router.get("/{number}", response_model=OrderOut, summary="Read an order")
def get_order(identity: Identity, number: Number) -> Any:
    return detail_out(read(identity, order_views.get_order, number))


@router.get("/{number}/lines", response_model=ListOf[OrderLineOut], summary="An order's lines")
def list_lines(identity: Identity, number: Number) -> Any:
    """The order's lines as in its detail (either party; 404 for anyone else). One page: an order's
    lines come whole."""
    lines = read(identity, order_views.order_lines, number)
    return {"data": [line_out(ln).model_dump(mode="json") for ln in lines], "next_cursor": None}


@router.post("", status_code=201, response_model=OrdersCreatedOut, summary="Place an order from lines (buyers)")
def create_order(
    request: Request, identity: Identity, body: OrderCreateIn, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """One submitted order per seller of the lines' products, with the cart and checkout rules."""
    checkout_key = service_key(identity, idempotency_key) or uuid.uuid4().hex

    def effect(session: Session, principal: Principal) -> tuple[int, Any]:
        choices = {c.seller_id: c.model_dump(exclude={"seller_id"}, exclude_none=True) for c in body.sellers}
        result = order_create.create_order(
            session,
            principal,
            buyer_license_id=body.buyer_license_id,
            lines=[{"product_id": ln.product_id, "quantity": ln.quantity} for ln in body.lines],
            choices=choices,
            idempotency_key=checkout_key,
        )
        return 201, {"data": [summary_out(o) for o in result.orders]}

    return idempotent_post(request, identity, idempotency_key, body, effect)


def _transition(
    request: Request, identity: Identity, number: str, action: str, key: str | None, body: Any, data: dict[str, Any]
) -> JSONResponse:
    transition_key = service_key(identity, key)

    def effect(session: Session, principal: Principal) -> tuple[int, Any]:
        result = orders.transition(session, principal, number, action, idempotency_key=transition_key, **data)
        out = TransitionOut(
            number=result.number, status=result.status, previous_status=result.from_status, applied=result.applied
        )
        return 200, out.model_dump(mode="json")

    return idempotent_post(request, identity, key, body, effect)


def _fields(body: Any, *keep: str) -> dict[str, Any]:
    """The body's given fields (only `keep` ones when named)."""
    given = body.model_dump(exclude_none=True) if body is not None else {}
    return {k: v for k, v in given.items() if k in keep} if keep else given


@router.post("/{number}/accept", summary="Accept (sellers)", response_model=TransitionOut)
def accept(
    request: Request,
    identity: Identity,
    number: Number,
    body: TransitionIn | None = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    data = _fields(body, "note")
    return _transition(request, identity, number, "accept", idempotency_key, body, data)


@router.post("/{number}/reject", summary="Reject (sellers)", response_model=TransitionOut)
def reject(
    request: Request,
    identity: Identity,
    number: Number,
    body: TransitionIn | None = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    data = _fields(body, "reason")
    return _transition(request, identity, number, "reject", idempotency_key, body, data)


@router.post(
    "/{number}/fulfill", summary="Fulfil (sellers; packages auto-picked first-expiring)", response_model=TransitionOut
)
def fulfill(
    request: Request,
    identity: Identity,
    number: Number,
    body: TransitionIn | None = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    data = _fields(body, "note")
    return _transition(request, identity, number, "fulfill", idempotency_key, body, data)


@router.post("/{number}/ship", summary="Ship (sellers; runs the compliance checks)", response_model=TransitionOut)
def ship(
    request: Request,
    identity: Identity,
    number: Number,
    body: ShipIn | None = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    return _transition(request, identity, number, "ship", idempotency_key, body, _fields(body))


@router.post(
    "/{number}/cancel", summary="Cancel (either party, where the state machine allows)", response_model=TransitionOut
)
def cancel(
    request: Request,
    identity: Identity,
    number: Number,
    body: TransitionIn | None = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    data = _fields(body, "reason")
    return _transition(request, identity, number, "cancel", idempotency_key, body, data)


@router.get("/{number}/messages", response_model=ListOf[MessageOut], summary="An order's messages")
def list_messages(
    identity: Identity,
    number: Number,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Any:
    """Oldest first, cursor-paginated (either party; 404 for anyone else)."""
    page = read(identity, feeds.message_feed, number, cursor=cursor, limit=limit)
    return {"data": [message_out(m) for m in page.items], "next_cursor": page.next_cursor}


@router.post("/{number}/messages", status_code=201, response_model=MessageOut, summary="Post a message")
def post_message(
    request: Request, identity: Identity, number: Number, body: MessageIn, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    def effect(session: Session, principal: Principal) -> tuple[int, Any]:
        return 201, message_out(order_messages.post_message(session, principal, number, body.body))

    return idempotent_post(request, identity, idempotency_key, body, effect)
