"""Deliveries back into the store's Dutchie POS, and opt-in sell-through for brands.

- delivered -> one draft received-inventory (receiveIntoInventory=false) with the METRC package
  labels, costs and the vendor licence, exactly once whatever fault hits the POST;
- a store that chose purchase orders gets one at acceptance instead, and no receive;
- the buyer's order page status; sellers never see the buyer's POS;
- sell-through: a brand sees only stores that opted in (enforced in the service)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import select, update
from sqlmodel import Session

from reup_app.jobs import dutchie_pushes  # noqa: F401  registers the outbox handlers
from reup_app.models import IntegrationConnection, OrderLineAllocation, OutboxMessage
from reup_app.services.pos import connections, pushes, sell_through
from reup_app.settings import reset_settings_cache
from tests.dutchie_kit import connect_store_row, sync_all
from tests.integration.metrc_transfer_kit import drain, fence
from tests.integration.orderkit import advance, call, make_buyer, make_seller, order_row, place_one, stock


@pytest.fixture
def dutchie_env(engine, dutchie_sandbox):
    mp = pytest.MonkeyPatch()
    mp.setenv("REUP_DUTCHIE_TIMEOUT_SECONDS", "2")
    reset_settings_cache()
    yield dutchie_sandbox
    mp.undo()
    reset_settings_cache()
    with Session(engine) as s:
        s.execute(
            update(IntegrationConnection)
            .where(IntegrationConnection.base_url == dutchie_sandbox.base_url)
            .values(enabled=False)
        )
        s.commit()


class Trade:
    def __init__(self, session, engine, sb, *, mode: str = "receive"):
        self.seller = make_seller(session)
        self.buyer = make_buyer(session)
        self.product, self.lots = stock(session, self.seller, qty="50", price="12.50")
        self.key = f"t-{self.buyer.license.number.lower()}"
        vendor = {"vendorId": 77, "vendorName": self.seller.entity.name, "licenseNumber": self.seller.license.number}
        products = [{"productId": 5, "sku": self.product.sku, "productName": "Store copy"}]
        sb.new_location(self.key, "Store", self.buyer.license.number, products, [], [vendor])
        self.conn = connect_store_row(session, self.buyer.license, sb.base_url, self.key)
        sync_all(engine, self.conn)  # the store's product 5 is matched to ours by SKU
        call(engine, self.buyer.owner, connections.update_settings, self.buyer.license.id, push_mode=mode)
        self.number = place_one(engine, self.buyer, self.product, "4")


@pytest.mark.parametrize(
    "faults, first",
    [
        ({}, "sent"),
        ({"error_next": 1}, "failed"),  # a 500 after sending: ambiguous, the retry looks first
        ({"storm_next": 2, "retry_after": 1}, "sent"),
        ({"stall_after_write": 1, "stall_seconds": 5}, "failed"),  # applied, then the answer times out
    ],
    ids=["clean", "500", "429-storm", "timeout-after-write"],
)
def test_delivered_order_becomes_exactly_one_draft_receive(session, engine, dutchie_env, faults, first):
    sb = dutchie_env
    t = Trade(session, engine, sb)
    advance(engine, t.seller, t.number, "accept", "fulfill", "ship", "deliver")
    advance_again = order_row(engine, t.number)
    assert advance_again.status == "delivered"
    if faults:
        sb.fault(path_prefix="/inventory/receiveinventory", **faults)
    reference = f"dutchie.receive:{t.number}"
    outcomes = drain(engine, fence(), reference)
    assert outcomes[0] == first and outcomes[-1] == "sent", outcomes
    [receive] = sb.receives(t.key)  # exactly one
    body = receive["_body"]
    assert body["receiveIntoInventory"] is False and receive["status"] == "Draft"
    assert body["vendorId"] == 77 and body["vendorLicense"] == t.seller.license.number
    with Session(engine) as s:
        labels = set(s.execute(select(OrderLineAllocation.package_label)).scalars())
        row = s.execute(select(OutboxMessage).where(OutboxMessage.reference == reference)).scalar_one()
    [item] = body["items"]
    assert item["externalPackageId"] in labels and item["packageId"] == item["externalPackageId"]
    assert D(item["quantity"]) == 4 and D(item["cost"]) == D("12.50") and item["productId"] == 5
    result = json.loads(row.result)
    assert result["receiveInventoryHistoryId"] == receive["receiveInventoryHistoryId"]
    if "stall_after_write" in faults:
        assert result["adopted"] is True  # found by its title, not posted again
    status = call(engine, t.buyer.owner, pushes.push_status, t.number)
    assert status.status == "sent" and status.kind == "Draft receive in Dutchie"
    assert call(engine, t.seller.owner, pushes.push_status, t.number) is None


def test_purchase_order_at_acceptance_instead(session, engine, dutchie_env):
    sb = dutchie_env
    t = Trade(session, engine, sb, mode="purchase_order")
    advance(engine, t.seller, t.number, "accept")
    assert drain(engine, fence(), f"dutchie.po:{t.number}") == ["sent"]
    [po] = sb.purchase_orders(t.key)
    assert po["purchaseOrderNumber"] == t.number and po["vendorId"] == 77
    assert po["purchaseOrderItems"][0]["productId"] == 5
    advance(engine, t.seller, t.number, "fulfill", "ship", "deliver")
    assert drain(engine, fence(), f"dutchie.receive:{t.number}") == []  # no receive in this mode
    assert sb.receives(t.key) == []


def test_sell_through_only_from_stores_that_opted_in(session, engine, dutchie_env):
    sb = dutchie_env
    seller = make_seller(session)
    product, _ = stock(session, seller, qty="50")
    stores = []
    for _ in range(2):
        buyer = make_buyer(session)
        key = f"t-{buyer.license.number.lower()}"
        sb.new_location(key, "S", buyer.license.number, [{"productId": 1, "sku": product.sku}], [])
        day = datetime.now(UTC) - timedelta(days=2)
        sb.sale(key, 1, 3, at=day.isoformat())
        sync_all(engine, connect_store_row(session, buyer.license, sb.base_url, key))
        stores.append(buyer)
    assert call(engine, seller.owner, sell_through.sell_through) == []  # nobody opted in
    call(engine, stores[0].owner, connections.update_settings, stores[0].license.id, share_sell_through=True)
    [row] = call(engine, seller.owner, sell_through.sell_through)
    assert row.license_id == stores[0].license.id and row.total == 3 and row.weekly_units[-1] == 3
    call(engine, stores[0].owner, connections.update_settings, stores[0].license.id, share_sell_through=False)
    assert call(engine, seller.owner, sell_through.sell_through) == []
    other = make_seller(session)  # another brand sees nothing of ours even with the opt-in
    call(engine, stores[1].owner, connections.update_settings, stores[1].license.id, share_sell_through=True)
    assert call(engine, other.owner, sell_through.sell_through) == []
