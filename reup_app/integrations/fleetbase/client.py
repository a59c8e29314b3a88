"""The Fleetbase v1 client: `Authorization: Bearer <api key>` (the JS SDK's form; Basic with the key as
user name is accepted too, domain.md 4.1), places found or created per licence premises, orders
created with pickup, dropoff, entities, schedule and meta, updated (meta, driver, vehicle), then
dispatched, cancelled, read back (order, tracker, ETA, proofs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from reup_app.integrations.errors import Rejected
from reup_app.integrations.fleetbase import records as r
from reup_app.integrations.http.ratelimit import limiter_for
from reup_app.integrations.http.requestor import Requestor
from reup_app.integrations.http.transport import RetryPolicy, Transport, TransportConfig

RECONCILE_PAGE = 100  # orders listed (newest first) when looking an order up by its internal id


class FleetbaseClient:
    """Typed Fleetbase calls for one API key (one company / one seller licence's connection)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        redis_url: str | None = None,
        limiter: Any = None,
        retry: RetryPolicy | None = None,
        timeout: float = 20.0,
    ) -> None:
        if not api_key:
            raise ValueError("Fleetbase needs an API key")
        config = TransportConfig("fleetbase", base_url, timeout=timeout, retry=retry or RetryPolicy())
        transport = Transport(config, secrets=(api_key,))
        self.requestor = Requestor(
            transport, limiter=limiter or limiter_for(redis_url), headers={"Authorization": f"Bearer {api_key}"}
        )

    @classmethod
    def from_settings(cls, settings, api_key: str, *, base_url: str | None = None, timeout: float | None = None):
        return cls(
            base_url or settings.fleetbase_base_url,
            api_key,
            redis_url=settings.redis_url,
            timeout=timeout if timeout is not None else settings.fleetbase_timeout_seconds,
        )

    def _call(
        self, method: str, path: str, *, params: dict | None = None, body: Any = None, idempotent: bool | None = None
    ) -> Any:
        return self.requestor.request(method, path, params=params, json_body=body, idempotent=idempotent)

    # -- places -----------------------------------------------------------------------------------

    def search_places(self, query: str, limit: int = 10) -> list[r.Place]:
        rows = self._call("GET", "/places/search", params={"query": query, "limit": limit}) or []
        return [r.Place.parse(p) for p in rows]

    def create_place(self, **fields: Any) -> r.Place:
        return r.Place.parse(self._call("POST", "/places", body=fields))

    def find_or_create_place(
        self,
        *,
        name: str,
        street1: str,
        city: str | None,
        postal_code: str | None,
        province: str | None,
        phone: str | None = None,
        license_number: str,
    ) -> r.Place:
        """The place of one licence's premises: found by address and our licence number in its meta, else created."""
        for place in self.search_places(street1):
            if place.meta.get("license_number") == license_number:
                return place
        return self.create_place(
            name=name,
            street1=street1,
            city=city,
            province=province,
            postal_code=postal_code,
            country="US",
            phone=phone,
            type="licensed_premises",
            meta={"license_number": license_number},
        )

    # -- drivers and vehicles ---------------------------------------------------------------------

    def drivers(self, query: str) -> list[r.Driver]:
        rows = self._call("GET", "/drivers", params={"query": query}) or []
        return [d for d in (r.Driver.parse(x) for x in rows) if d is not None]

    def create_driver(self, *, name: str, phone: str | None = None) -> r.Driver:
        driver = r.Driver.parse(self._call("POST", "/drivers", body={"name": name, "phone": phone}))
        if driver is None:
            raise Rejected("Fleetbase answered the driver create without an id")
        return driver

    def vehicles(self, query: str) -> list[r.Vehicle]:
        rows = self._call("GET", "/vehicles", params={"query": query}) or []
        return [v for v in (r.Vehicle.parse(x) for x in rows) if v is not None]

    def create_vehicle(self, *, plate_number: str, make: str | None = None, model: str | None = None) -> r.Vehicle:
        body = {"plate_number": plate_number, "make": make, "model": model}
        vehicle = r.Vehicle.parse(self._call("POST", "/vehicles", body=body))
        if vehicle is None:
            raise Rejected("Fleetbase answered the vehicle create without an id")
        return vehicle

    # -- orders -----------------------------------------------------------------------------------

    def create_order(self, body: dict[str, Any]) -> r.Order:
        return r.Order.parse(self._call("POST", "/orders", body=body))

    def get_order(self, order_id: str) -> r.Order:
        return r.Order.parse(self._call("GET", f"/orders/{order_id}"))

    def find_order(self, internal_id: str, *, since: datetime | None = None) -> r.Order | None:
        """The order we created with this internal id (newest first; reconciles a maybe-sent create)."""
        rows = self._call("GET", "/orders", params={"limit": RECONCILE_PAGE, "sort": "-created_at"}) or []
        if isinstance(rows, dict):
            rows = rows.get("data") or []
        for raw in rows:
            if raw.get("internal_id") == internal_id:
                return r.Order.parse(raw)
        return None

    def update_order(self, order_id: str, fields: dict[str, Any]) -> r.Order:
        """PUT /orders/{id}: the fields sent replace the order's (send the whole `meta`, not a part).
        Not replayed after a timeout or 5xx (`AmbiguousWrite`): the fields were decided on the order as
        it was read, and a blind replay could undo what the dispatcher changed meanwhile (a driver
        reassigned after the start); the caller reads the order again and decides again."""
        return r.Order.parse(self._call("PUT", f"/orders/{order_id}", body=fields, idempotent=False))

    def dispatch_order(self, order_id: str) -> r.Order:
        return r.Order.parse(self._call("POST", f"/orders/{order_id}/dispatch"))

    def cancel_order(self, order_id: str) -> r.Order:
        return r.Order.parse(self._call("DELETE", f"/orders/{order_id}/cancel"))

    def tracker(self, order_id: str) -> r.Tracker:
        return r.Tracker.parse(self._call("GET", f"/orders/{order_id}/tracker") or {})

    def eta(self, order_id: str) -> dict[str, float]:
        """Seconds to each remaining stop, keyed by waypoint/place id (GET /orders/{id}/eta)."""
        raw = self._call("GET", f"/orders/{order_id}/eta") or {}
        if not isinstance(raw, dict):
            raise Rejected("Fleetbase answered the ETA with something that is not an object")
        return {str(k): float(v) for k, v in raw.items() if isinstance(v, int | float)}

    def proofs(self, order_id: str) -> list[r.Proof]:
        return [r.Proof.parse(p) for p in (self._call("GET", f"/orders/{order_id}/proofs") or [])]
