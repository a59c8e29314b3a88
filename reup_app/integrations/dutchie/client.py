"""The Dutchie POS client: HTTP Basic with the location key and an empty password (one key is one
store), each endpoint kept within its own documented budget (shared through Redis), 429s honoured
by the transport's Retry-After waits.

Budgets (per location key, per minute): the spec documents 600/min for `/reporting/transactions`;
for the others it says nothing or "standard", so we use the limits integrators report
(reporting 60, inventory 200, standard 120). We pace at `headroom` with a burst of a tenth of the
budget, so no sliding minute ever holds more than the budget.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from reup_app.integrations.dutchie import records as r
from reup_app.integrations.errors import Rejected
from reup_app.integrations.http.ratelimit import Limit, limiter_for
from reup_app.integrations.http.requestor import Requestor
from reup_app.integrations.http.transport import RetryPolicy, Transport, TransportConfig

PRODUCTS_OVERLAP = timedelta(seconds=60)  # fromLastModifiedDateUTC goes back this far past the cursor
INVENTORY_PAGE = 5000  # Take of one /reporting/inventory page (the reporting budget is 60 a minute)
Progress = Callable[[int, int], None]

DEFAULT_PER_MINUTE: dict[str, int] = {
    "/whoami": 60,
    "/reporting/inventory": 60,
    "/reporting/transactions": 600,  # the spec: "Rate limited to 600 requests per minute"
    "/products": 120,
    "/vendor/vendors": 120,
    "/purchase-order": 120,
    "/inventory/receiveinventory": 200,
    "/inventory/receivedinventory": 200,
}


def iso(value: datetime) -> str:
    """A tz-aware instant as Dutchie's query strings take it: UTC, whole seconds, 'Z'."""
    if value.tzinfo is None:
        raise ValueError("Dutchie times must be tz-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class DutchieLimits:
    per_minute: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PER_MINUTE))
    headroom: float = 0.9

    def limit(self, tag: str, path: str) -> Limit:
        budget = self.per_minute.get(path, 120)
        return Limit(f"dutchie:{tag}:{path}", budget * self.headroom / 60.0, burst=max(1, budget // 10))


class DutchieClient:
    """Typed calls for one Dutchie location (one location key)."""

    def __init__(
        self,
        base_url: str,
        location_key: str,
        *,
        limits: DutchieLimits | None = None,
        redis_url: str | None = None,
        limiter: Any = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
    ) -> None:
        if not location_key:
            raise ValueError("Dutchie needs the location's API key")
        self.limits = limits or DutchieLimits()
        config = TransportConfig("dutchie", base_url, timeout=timeout, retry=retry or RetryPolicy())
        self._tag = hashlib.sha256(location_key.encode()).hexdigest()[:16]
        self._requestors: dict[str, Requestor] = {}
        self._make = lambda path: Requestor(
            Transport(config, secrets=(location_key,)),
            limiter=limiter or limiter_for(redis_url),
            auth=(location_key, ""),  # HTTP Basic: the location key and an empty password
            limits_for=lambda method, params: [self.limits.limit(self._tag, path)],
        )

    def _call(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None) -> Any:
        requestor = self._requestors.get(path)
        if requestor is None:
            requestor = self._requestors[path] = self._make(path)
        return requestor.request(method, path, params=params, json_body=body)

    # -- reads ------------------------------------------------------------------------------------

    def whoami(self) -> r.LocationIdentity:
        return r.LocationIdentity.parse(self._call("GET", "/whoami"))

    def inventory(self, *, take: int = INVENTORY_PAGE, on_page: Progress | None = None) -> Iterator[r.InventoryItem]:
        """The whole on-hand snapshot, Skip/Take pages until a short page; a row seen on an earlier
        page (the list shifted under us) is yielded once."""
        seen: set[int] = set()
        skip, page = 0, 0
        while True:
            rows = self._call("GET", "/reporting/inventory", params={"Skip": skip, "Take": take}) or []
            page += 1
            for row in rows:
                item = r.InventoryItem.parse(row)
                if item.inventory_id not in seen:
                    seen.add(item.inventory_id)
                    yield item
            if on_page:
                on_page(page, page + (len(rows) >= take))
            if len(rows) < take:
                return
            skip += take

    def products(self, since: datetime | None) -> list[r.ProductDetail]:
        """Products modified after `since` minus PRODUCTS_OVERLAP (all of them when None)."""
        params = {"fromLastModifiedDateUTC": iso(since - PRODUCTS_OVERLAP)} if since else {}
        return [r.ProductDetail.parse(row) for row in self._call("GET", "/products", params=params) or []]

    def transactions(self, start: datetime, end: datetime) -> list[r.Transaction]:
        """Transactions dated in [start, end) with their items (one date filter only: the spec's
        filters are mutually exclusive)."""
        params = {"FromDateUTC": iso(start), "ToDateUTC": iso(end), "IncludeDetail": "true"}
        return [r.Transaction.parse(row) for row in self._call("GET", "/reporting/transactions", params=params) or []]

    def vendors(self, name: str | None = None) -> list[r.Vendor]:
        return [r.Vendor.parse(v) for v in self._call("GET", "/vendor/vendors", params={"vendorName": name}) or []]

    def vendor_by_license(self, license_number: str) -> r.Vendor | None:
        wanted = license_number.strip().upper()
        return next((v for v in self.vendors() if v.license_number.strip().upper() == wanted), None)

    def received_inventory(self, start: datetime, end: datetime) -> list[r.ReceivedInventory]:
        params = {"startDate": iso(start), "endDate": iso(end)}
        rows = self._call("GET", "/inventory/receivedinventory", params=params) or []
        return [r.ReceivedInventory.parse(row) for row in rows]

    def purchase_orders(self, start: datetime, end: datetime) -> list[r.PurchaseOrder]:
        params = {"FromDateCreated": iso(start), "ToDateCreated": iso(end), "PageSize": 1000}
        return [r.PurchaseOrder.parse(row) for row in self._call("GET", "/purchase-order", params=params) or []]

    # -- writes -----------------------------------------------------------------------------------

    def receive_inventory(self, body: dict[str, Any]) -> int:
        """POST a ReceiveInventorySave; returns receiveInventoryHistoryId."""
        answer = self._call("POST", "/inventory/receiveinventory", body=body) or {}
        if answer.get("receiveInventoryHistoryId") is None:
            raise Rejected(f"Dutchie answered the receive without an id: {answer}")
        return int(answer["receiveInventoryHistoryId"])

    def save_purchase_order(self, order: dict[str, Any]) -> int:
        """Create (purchaseOrderId null) one purchase order; returns its id."""
        answer = self._call("POST", "/purchase-order", body={"purchaseOrders": [order]}) or {}
        ids = (answer.get("createdPurchaseOrderIds") or []) + (answer.get("updatedPurchaseOrderIds") or [])
        if not ids:
            raise Rejected(f"Dutchie answered the purchase order without an id: {answer}")
        return int(ids[0])
