"""The Dutchie POS endpoints ReUp calls, with the spec's paths, casing and error bodies.

- Auth: HTTP Basic, username = the location key, password empty; anything else is 401. A key is
  one location: no call can reach another location's data.
- Casing: `/whoami` answers in PascalCase, everything else in camelCase. Query names are matched
  case-insensitively (ASP.NET model binding), so `Skip` and `skip` are the same.
- Rate limits per key and endpoint over a sliding minute; over it: 429 with Retry-After.
- 400s: `ValidationResult` on `/reporting/transactions` (its date filters are mutually exclusive),
  `BadRequestResponse` on the writes.
"""

from __future__ import annotations

import base64
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from reup_app.sandboxes.app import SandboxContext, VendorError
from reup_app.sandboxes.calllog import SlidingWindowLimiter
from reup_app.sandboxes.clock import parse_instant
from reup_app.sandboxes.dutchie.seed import iso, shape_sale, shape_stock
from reup_app.sandboxes.dutchie.store import DutchieStore, Location

RATE_LIMITS = {  # requests per minute per location key; the spec names /reporting/transactions' 600
    "/whoami": 60,
    "/reporting/inventory": 60,
    "/reporting/transactions": 600,
    "/products": 120,
    "/vendor/vendors": 120,
    "/purchase-order": 120,
    "/inventory/receiveinventory": 200,
    "/inventory/receivedinventory": 200,
}
UNAUTHORIZED = {"message": "Unauthorized - Invalid or missing API key"}


def validation_result(prop: str, message: str) -> dict:
    failure = {"propertyName": prop, "errorMessage": message, "attemptedValue": None, "customState": None,
               "severity": 0, "errorCode": "PredicateValidator", "formattedMessagePlaceholderValues": None}  # fmt: skip
    return {"isValid": False, "errors": [failure], "ruleSetsExecuted": ["default"]}


def bad_request(message: str, errors: list[dict] | None = None) -> VendorError:
    return VendorError(400, {"message": message, "propertyErrors": errors})


def basic_key(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        text = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    key, sep, password = text.partition(":")
    return (key, password) if sep else None


class DutchieApi:
    def __init__(self, ctx: SandboxContext, store: DutchieStore, limits: dict[str, int] | None = None) -> None:
        self.ctx, self.store = ctx, store
        self.set_limits(limits or {})

    def set_limits(self, limits: dict[str, int]) -> None:
        merged = {**RATE_LIMITS, **limits}
        self.limits = merged
        self.limiters = {path: SlidingWindowLimiter(n, window=60.0) for path, n in merged.items()}

    # -- plumbing ---------------------------------------------------------------------------------

    def location_of(self, request: Request) -> Location | None:
        creds = basic_key(request)
        if creds is None or creds[1] != "":  # the password must be empty
            return None
        return self.store.state.locations.get(creds[0])

    def _enter(self, request: Request, path: str) -> Location:
        loc = self.location_of(request)
        if loc is None:
            raise VendorError(401, UNAUTHORIZED)
        wait = self.limiters[path].hit(loc.key)
        if wait is not None:
            body = {"message": f"Rate limit exceeded: {self.limits[path]} requests per minute on {path}."}
            raise VendorError(429, body, {"Retry-After": str(wait)})
        return loc

    @staticmethod
    def _query(request: Request) -> dict[str, str]:
        return {k.lower(): v for k, v in request.query_params.items()}

    @staticmethod
    def _time(q: dict[str, str], name: str) -> datetime | None:
        raw = q.get(name.lower())
        if raw is None or raw == "":
            return None
        try:
            return parse_instant(raw if ("Z" in raw or "+" in raw[10:]) else raw + "Z")
        except ValueError:
            raise VendorError(400, validation_result(name, f"'{raw}' is not a valid date-time.")) from None

    @staticmethod
    def _int(q: dict[str, str], name: str, default: int | None = None) -> int | None:
        raw = q.get(name.lower())
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            raise VendorError(400, validation_result(name, f"The value '{raw}' is not valid.")) from None

    # -- reads ------------------------------------------------------------------------------------

    async def whoami(self, request: Request) -> Response:
        loc = self._enter(request, "/whoami")
        return JSONResponse({  # PascalCase: the one endpoint that answers so
            "LocationId": loc.location_id, "LspId": 1, "LocationName": loc.name, "LspName": loc.lsp_name,
            "Address": None, "Address2": None, "City": None, "State": loc.state, "PostalCode": None,
            "LicenseNumber": loc.license_number, "DoingBusinessAs": loc.name, "ShareCustomerProfiles": False,
            "GlobalId": f"g-{loc.location_id}", "LocationGlobalId": f"lg-{loc.location_id}", "LspGlobalId": "lsp-1",
            "Region": loc.state, "RegionId": loc.state,
        })  # fmt: skip

    async def inventory(self, request: Request) -> Response:
        loc = self._enter(request, "/reporting/inventory")
        q = self._query(request)
        skip = self._int(q, "Skip", 0) or 0
        take = self._int(q, "Take")
        with self.store.lock:
            rows = [s for s in loc.inventory if s.quantity > 0]
        if take is None:
            return JSONResponse([shape_stock(loc, s) for s in rows[skip:]])
        fault = self.ctx.faults.take_page_fault()
        if fault and fault[0] == "duplicate" and skip >= take:
            skip -= take  # the page repeats the previous one
        elif fault and fault[0] == "shift":
            skip = max(0, skip + fault[1])
        return JSONResponse([shape_stock(loc, s) for s in rows[skip : skip + max(0, take)]])

    async def products(self, request: Request) -> Response:
        loc = self._enter(request, "/products")
        q = self._query(request)
        since = self._time(q, "fromLastModifiedDateUTC")
        active = q.get("isactive")
        with self.store.lock:
            rows = list(loc.products.values())
        if since is not None:
            rows = [p for p in rows if parse_instant(p["lastModifiedDateUTC"]) >= since]
        if active in ("true", "false"):
            rows = [p for p in rows if p["isActive"] == (active == "true")]
        return JSONResponse(rows)

    async def transactions(self, request: Request) -> Response:
        loc = self._enter(request, "/reporting/transactions")
        q = self._query(request)
        groups = [
            g
            for g, names in (
                ("TransactionId", ("transactionid",)),
                ("LastModifiedDate", ("fromlastmodifieddateutc", "tolastmodifieddateutc")),
                ("TransactionDate", ("fromdateutc", "todateutc")),
            )
            if any(q.get(n) for n in names)
        ]
        if len(groups) != 1:
            message = "Provide exactly one of TransactionId, From/ToLastModifiedDateUTC or From/ToDateUTC."
            raise VendorError(400, validation_result(groups[0] if groups else "TransactionId", message))
        detail = q.get("includedetail", "false").lower() == "true"
        with self.store.lock:
            if groups[0] == "TransactionId":
                tid = self._int(q, "TransactionId")
                sales = [s for s in loc.sales if s.transaction_id == tid]
            elif groups[0] == "TransactionDate":
                start, end = self._time(q, "FromDateUTC"), self._time(q, "ToDateUTC")
                if start is None or end is None or end < start:
                    raise VendorError(400, validation_result("ToDateUTC", "Provide FromDateUTC <= ToDateUTC."))
                sales = loc.sales_between(start, end)
            else:
                start, end = self._time(q, "FromLastModifiedDateUTC"), self._time(q, "ToLastModifiedDateUTC")
                if start is None or end is None or end < start:
                    raise VendorError(400, validation_result("ToLastModifiedDateUTC", "Provide From <= To."))
                sales = [s for s in loc.sales if start <= s.modified < end]
        return JSONResponse([shape_sale(s, detail) for s in sales])

    async def vendors(self, request: Request) -> Response:
        loc = self._enter(request, "/vendor/vendors")
        q = self._query(request)
        vid, name = self._int(q, "vendorId"), (q.get("vendorname") or "").lower()
        rows = [v for v in loc.vendors if (vid is None or v["vendorId"] == vid) and name in v["vendorName"].lower()]
        return JSONResponse(rows)

    async def received(self, request: Request) -> Response:
        loc = self._enter(request, "/inventory/receivedinventory")
        q = self._query(request)
        start, end = self._time(q, "startDate"), self._time(q, "endDate")
        rows = [
            {k: v for k, v in r.items() if not k.startswith("_")}
            for r in loc.receives
            if (start is None or r["_added"] >= start) and (end is None or r["_added"] <= end)
        ]
        return JSONResponse(rows)

    async def purchase_orders(self, request: Request) -> Response:
        loc = self._enter(request, "/purchase-order")
        if request.method == "POST":
            return await self._save_purchase_orders(request, loc)
        q = self._query(request)
        start, end = self._time(q, "FromDateCreated"), self._time(q, "ToDateCreated")
        po_id = self._int(q, "PurchaseOrderId")
        number, size = self._int(q, "PageNumber", 0) or 0, self._int(q, "PageSize", 1000) or 1000
        rows = [
            p
            for p in loc.purchase_orders
            if (po_id is None or p["purchaseOrderId"] == po_id)
            and (start is None or parse_instant(p["dateCreated"]) >= start)
            and (end is None or parse_instant(p["dateCreated"]) <= end)
        ]
        return JSONResponse(rows[number * size : (number + 1) * size])

    # -- writes -----------------------------------------------------------------------------------

    async def _body(self, request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise bad_request("The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object.")
        return body

    def _vendor(self, loc: Location, vendor_id: Any, license_number: Any = None) -> dict | None:
        for v in loc.vendors:
            if vendor_id is not None and v["vendorId"] == vendor_id:
                return v
            if vendor_id is None and license_number and v["licenseNumber"] == license_number:
                return v
        return None

    async def _save_purchase_orders(self, request: Request, loc: Location) -> Response:
        body = await self._body(request)
        orders = body.get("purchaseOrders")
        if not isinstance(orders, list) or not orders:
            raise bad_request("purchaseOrders must hold at least one purchase order.")
        created = []
        with self.store.lock:
            for po in orders:
                if not isinstance(po, dict) or self._vendor(loc, po.get("vendorId")) is None:
                    raise bad_request("Vendor not found.", [{"propertyName": "VendorId", "errorMessage": "not found"}])
                new = {**po, "purchaseOrderId": self.store.state.next_id(), "dateCreated": iso(self.ctx.clock.now()),
                       "status": po.get("status") or "Draft"}  # fmt: skip
                loc.purchase_orders.append(new)
                created.append(new["purchaseOrderId"])
        return JSONResponse({"createdPurchaseOrderIds": created, "updatedPurchaseOrderIds": []})

    async def receive(self, request: Request) -> Response:
        loc = self._enter(request, "/inventory/receiveinventory")
        body = await self._body(request)
        items = body.get("items")
        if not isinstance(items, list) or not items:
            raise bad_request("Items are required.", [{"propertyName": "Items", "errorMessage": "required"}])
        if body.get("receiveIntoInventory") and not (body.get("userId") or body.get("userName")):
            raise bad_request("UserId or UserName is required when ReceiveIntoInventory is true.")
        for item in items:
            try:
                ok = isinstance(item, dict) and Decimal(str(item.get("quantity"))) > 0
            except (InvalidOperation, ValueError):
                ok = False
            if not ok:
                raise bad_request("Each item needs a positive quantity.")
        with self.store.lock:
            vendor = self._vendor(loc, body.get("vendorId"), body.get("vendorLicense"))
            if vendor is None:
                raise bad_request("Vendor not found or inactive.")
            external = body.get("externalId")
            if external and any(r["_externalId"] == external for r in loc.receives):
                raise bad_request(f"A receive with ExternalId '{external}' already exists.")
            now = self.ctx.clock.now()
            rid = self.store.state.next_id()
            loc.receives.append({
                "receiveInventoryHistoryId": rid, "title": body.get("orderTitle") or "",
                "status": "Received" if body.get("receiveIntoInventory") else "Draft", "failureMessage": None,
                "deliveredOn": body.get("deliveredOn"), "addedOn": iso(now), "vendor": vendor["vendorName"],
                "vendorLicense": body.get("vendorLicense") or vendor["licenseNumber"],
                "items": [{"productId": i.get("productId"), "quantity": i.get("quantity"), "unitCost": i.get("cost"),
                           "packageId": i.get("packageId"), "externalPackageId": i.get("externalPackageId"),
                           "product": i.get("productName")} for i in items],
                "_externalId": external, "_added": now, "_body": body,
            })  # fmt: skip
        return JSONResponse({"receiveInventoryHistoryId": rid})

    def routes(self) -> list[BaseRoute]:
        def where(request: Request) -> str | None:
            loc = self.location_of(request)
            return loc.license_number if loc else None

        r = self.ctx.vendor_route
        return [
            r("/whoami", self.whoami, ["GET"], where),
            r("/reporting/inventory", self.inventory, ["GET"], where),
            r("/products", self.products, ["GET"], where),
            r("/reporting/transactions", self.transactions, ["GET"], where),
            r("/vendor/vendors", self.vendors, ["GET"], where),
            r("/purchase-order", self.purchase_orders, ["GET", "POST"], where),
            r("/inventory/receiveinventory", self.receive, ["POST"], where),
            r("/inventory/receivedinventory", self.received, ["GET"], where),
        ]
