"""Deliveries back into the store's POS. The order state machine calls these in its transaction:

- `order_delivered`: a store whose mode is `receive` gets a draft received-inventory in Dutchie
  (`receiveIntoInventory=false`) with the METRC package labels, costs and the vendor licence;
- `order_accepted`: a store whose mode is `purchase_order` gets a purchase order instead.

Each enqueues ONE outbox row (reference `dutchie.receive:<order>` / `dutchie.po:<order>`; a second
call finds the same row); the sender job delivers it after the commit, exactly once under faults
(jobs/dutchie_pushes.py reconciles before any resend). The body is built here, at the transition,
so a retry sends exactly what the delivery was."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from reup_app.errors import NotFound
from reup_app.models import License, Order, OrderLine, OrderLineAllocation, OutboxMessage, PosProduct
from reup_app.models.enums import Provider
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services.integrations.outbox import enqueue
from reup_app.services.integrations.vendor_access import connection_for_license
from reup_app.services.pos.connections import store_settings

RECEIVE, PURCHASE_ORDER = "dutchie.receive", "dutchie.purchase_order"


def receive_reference(order: Order) -> str:
    return f"dutchie.receive:{order.number}"


def po_reference(order: Order) -> str:
    return f"dutchie.po:{order.number}"


def _pos_ids(session: Session, license_id: int, product_ids: set[int]) -> dict[int, int]:
    """Marketplace product -> the store's POS productId matched to it."""
    if not product_ids:
        return {}
    rows = session.exec(
        select(PosProduct.matched_product_id, PosProduct.pos_product_id).where(
            PosProduct.license_id == license_id, col(PosProduct.matched_product_id).in_(sorted(product_ids))
        )
    ).all()
    return {m: p for m, p in rows if m is not None}


def _items(session: Session, order: Order) -> list[dict[str, Any]]:
    lines = session.exec(select(OrderLine).where(OrderLine.order_id == order.id).order_by(col(OrderLine.id))).all()
    pos = _pos_ids(session, order.buyer_license_id, {ln.product_id for ln in lines})
    allocs: dict[int, list[OrderLineAllocation]] = {}
    ids = [ln.id for ln in lines]
    if ids:
        for a in session.exec(
            select(OrderLineAllocation)
            .where(col(OrderLineAllocation.order_line_id).in_(ids))
            .order_by(col(OrderLineAllocation.id))
        ).all():
            allocs.setdefault(a.order_line_id, []).append(a)
    items = []
    for ln in lines:
        picks: list[OrderLineAllocation | None] = []
        picks.extend(allocs.get(ln.id, []))
        if not picks:
            picks.append(None)  # not allocated to packages (no labels to send)
        for pick in picks:
            qty = pick.quantity if pick is not None else ln.quantity
            items.append({
                "productId": pos.get(ln.product_id), "productName": ln.product_name, "quantity": str(qty),
                "unitType": "Qty", "cost": str(ln.unit_price), "totalPackageCost": str(ln.unit_price * qty),
                "packageId": pick.package_label if pick else None,
                "externalPackageId": pick.package_label if pick else None,
            })  # fmt: skip
    return items


def _store_push(session: Session, order: Order, mode: str) -> Any:
    conn = connection_for_license(session, order.buyer_license_id, str(Provider.DUTCHIE))
    if conn is None or not conn.credentials_encrypted:
        return None
    if store_settings(session, order.buyer_license_id).push_mode != mode:
        return None
    return conn


def order_delivered(session: Session, order: Order) -> OutboxMessage | None:
    conn = _store_push(session, order, "receive")
    if conn is None:
        return None
    seller = session.get(License, order.seller_license_id)
    body = {
        "vendorLicense": seller.number if seller else None, "deliveredOn": (order.delivered_at or datetime.now()).isoformat(),
        "orderTitle": f"ReUp order {order.number}", "externalId": f"reup-{order.number}", "transactionId": order.number,
        "note": f"Delivered through ReUp (order {order.number}).", "receiveIntoInventory": False,
        "items": _items(session, order),
    }  # fmt: skip
    payload = {"connection_id": conn.id, "order_id": order.id, "order_number": order.number, "body": body}
    return enqueue(session, RECEIVE, target_table="orders", target_id=order.id, payload=payload,
                   reference=receive_reference(order))  # fmt: skip


def order_accepted(session: Session, order: Order) -> OutboxMessage | None:
    conn = _store_push(session, order, "purchase_order")
    if conn is None:
        return None
    seller = session.get(License, order.seller_license_id)
    items = [
        {"productId": i["productId"], "quantity": i["quantity"], "subtotal": i["totalPackageCost"], "tax": "0"}
        for i in _items(session, order)
    ]
    po = {
        "purchaseOrderId": None, "title": f"ReUp order {order.number}", "purchaseOrderNumber": order.number,
        "status": "Submitted", "vendorLicense": seller.number if seller else None, "purchaseOrderItems": items,
        "expectedArrivalDate": order.requested_delivery_start.isoformat() if order.requested_delivery_start else None,
    }  # fmt: skip
    payload = {"connection_id": conn.id, "order_id": order.id, "order_number": order.number, "body": po}
    return enqueue(session, PURCHASE_ORDER, target_table="orders", target_id=order.id, payload=payload,
                   reference=po_reference(order))  # fmt: skip


@dataclass(frozen=True)
class PushStatus:
    kind: str  # "Draft receive" or "Purchase order"
    status: str  # pending, sending, sent, failed, ...
    detail: str


def push_status(session: Session, principal: Principal, order_number: str) -> PushStatus | None:
    """What was pushed to the buyer's POS for this order (the buyer's side only)."""
    order = session.exec(select(Order).where(Order.number == str(order_number)[:32])).first()
    if order is None:
        raise NotFound("That order does not exist.")
    if principal.entity_id != order.buyer_entity_id and not principal.is_platform_admin:
        return None  # the store's POS is the buyer's business
    authorize(principal, "order.view", order.buyer_entity_id)
    rows = session.exec(
        select(OutboxMessage).where(col(OutboxMessage.reference).in_([receive_reference(order), po_reference(order)]))
    ).all()
    if not rows:
        return None
    row = rows[0]
    kind = "Draft receive in Dutchie" if row.kind == RECEIVE else "Purchase order in Dutchie"
    detail = row.result or row.last_error or ""
    return PushStatus(kind, row.status, detail[:300])
