"""Outbox handlers that push a delivered (or accepted) order into the store's Dutchie POS.

Exactly once: the receive carries `externalId` reup-<order> and the title "ReUp order <n>"; when an
earlier try may have reached Dutchie (`msg.maybe_sent`: a timeout or 5xx after sending) the handler
first lists the store's received inventory (or purchase orders) since the row was created and
adopts the one with that title instead of sending again. Dutchie also refuses a second receive
with the same externalId; that answer is adopted the same way."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session

from reup_app.db import get_engine
from reup_app.integrations.dutchie.client import DutchieClient
from reup_app.integrations.errors import Rejected
from reup_app.jobs.outbox_sender import OutboxDelivery, outbox_handler
from reup_app.models import IntegrationConnection
from reup_app.models.types import utcnow
from reup_app.services.integrations.vendor_access import dutchie_client
from reup_app.services.pos.pushes import PURCHASE_ORDER, RECEIVE

LOOKBACK = timedelta(hours=1)
LOOKAHEAD = timedelta(minutes=10)


def _client(msg: OutboxDelivery) -> DutchieClient:
    with Session(get_engine(), expire_on_commit=False) as session:
        conn = session.get(IntegrationConnection, msg.payload["connection_id"])
    if conn is None or not conn.enabled or not conn.credentials_encrypted:
        raise Rejected(f"The store was disconnected from Dutchie before order {msg.payload['order_number']} was sent.")
    return dutchie_client(conn)


def _vendor_id(client: DutchieClient, license_number: str | None) -> int:
    vendor = client.vendor_by_license(license_number or "")
    if vendor is None:
        raise Rejected(
            f"Dutchie has no vendor with licence {license_number}; add the wholesaler as a vendor in Dutchie."
        )
    return vendor.vendor_id


def _find_receive(client: DutchieClient, msg: OutboxDelivery) -> int | None:
    title = msg.payload["body"]["orderTitle"]
    found = client.received_inventory(msg.created_at - LOOKBACK, utcnow() + LOOKAHEAD)
    return next((r.receive_inventory_history_id for r in found if r.title == title), None)


@outbox_handler(RECEIVE)
def send_receive(msg: OutboxDelivery) -> dict[str, Any]:
    client = _client(msg)
    if msg.maybe_sent:
        found = _find_receive(client, msg)
        if found is not None:
            return {"receiveInventoryHistoryId": found, "adopted": True}
    body = dict(msg.payload["body"])
    body["vendorId"] = _vendor_id(client, body.get("vendorLicense"))
    try:
        rid = client.receive_inventory(body)
    except Rejected as err:
        if "ExternalId" in str(err):  # Dutchie already holds it: an earlier send got through
            found = _find_receive(client, msg)
            if found is not None:
                return {"receiveInventoryHistoryId": found, "adopted": True}
        raise
    return {"receiveInventoryHistoryId": rid, "adopted": False}


@outbox_handler(PURCHASE_ORDER)
def send_purchase_order(msg: OutboxDelivery) -> dict[str, Any]:
    client = _client(msg)
    number = msg.payload["order_number"]
    if msg.maybe_sent:
        found = client.purchase_orders(msg.created_at - LOOKBACK, utcnow() + LOOKAHEAD)
        match = next((p for p in found if p.purchase_order_number == number), None)
        if match is not None:
            return {"purchaseOrderId": match.purchase_order_id, "adopted": True}
    body = dict(msg.payload["body"])
    body["vendorId"] = _vendor_id(client, body.pop("vendorLicense", None))
    return {"purchaseOrderId": client.save_purchase_order(body), "adopted": False}
