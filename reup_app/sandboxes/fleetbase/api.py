"""The Fleetbase v1 routes of the sandbox (paths under /v1, as `{{base_url}}/{{namespace}}` in the
collection) and the transport flow that also drives the webhooks."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from reup_app.sandboxes.app import SandboxContext, VendorError
from reup_app.sandboxes.fleetbase.store import (
    FLOW,
    TERMINAL,
    Driver,
    FleetbaseStore,
    Order,
    Place,
    Vehicle,
    geocode,
    iso,
    public_id,
    signature_svg,
)
from reup_app.sandboxes.fleetbase.webhooks import WebhookSender

DEFAULT_API_KEY = "flb_test_reup_sandbox"
PLACE_FIELDS = ("name", "street1", "street2", "city", "province", "postal_code", "country", "phone", "type", "meta")


def errors(status: int, *messages: str) -> VendorError:
    return VendorError(status, {"errors": list(messages)})


async def body_of(request: Request) -> dict:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise errors(400, "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise errors(400, "The request body must be a JSON object.")
    return body


@dataclass
class Scenarios:
    """Switchable dispatcher behaviour (`POST /_sandbox/fleetbase/scenarios`), off by default:
    {"swap_driver_on": "dispatched"|"started"|"enroute"|null}  when an order reaches that step the
        dispatcher hands it to another driver (once per order), as Fleetbase's dispatcher may at any
        time before the order ends: `order.driver_assigned` follows the step's own event
    {"swap_driver_name": "Riley Relief", "swap_driver_phone": "+15105550199"}  who takes over
    """

    swap_driver_on: str | None = None
    swap_driver_name: str = "Riley Relief"
    swap_driver_phone: str | None = "+15105550199"
    swapped: set[str] = field(default_factory=set)  # order ids already handed over

    def configure(self, body: dict) -> dict:
        known = {"swap_driver_on", "swap_driver_name", "swap_driver_phone"}
        unknown = sorted(set(body) - known)
        if unknown:
            raise ValueError(f"unknown scenario setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        if "swap_driver_on" in body:
            step = body["swap_driver_on"]
            if step is not None and step not in FLOW[1:-1]:
                raise ValueError(f"swap_driver_on must be one of {FLOW[1:-1]} or null, not {step!r}")
            self.swap_driver_on = step
        if "swap_driver_name" in body:
            name = str(body["swap_driver_name"] or "").strip()
            if not name:
                raise ValueError("swap_driver_name must not be empty")
            self.swap_driver_name = name
        if "swap_driver_phone" in body:
            self.swap_driver_phone = body["swap_driver_phone"] or None
        return self.describe()

    def describe(self) -> dict:
        return {
            "swap_driver_on": self.swap_driver_on,
            "swap_driver_name": self.swap_driver_name,
            "swap_driver_phone": self.swap_driver_phone,
            "swapped": sorted(self.swapped),
        }


class FleetbaseApi:
    def __init__(self, ctx: SandboxContext, store: FleetbaseStore, sender: WebhookSender, api_keys: set[str]) -> None:
        self.ctx, self.store, self.sender, self.api_keys = ctx, store, sender, api_keys
        self.scenarios = Scenarios()

    # -- helpers ----------------------------------------------------------------------------------

    def _auth(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        key = ""
        if header.lower().startswith("bearer "):
            key = header[7:].strip()
        elif header.lower().startswith("basic "):
            try:
                key = base64.b64decode(header[6:]).decode().split(":", 1)[0]
            except ValueError:
                key = ""
        if key not in self.api_keys:
            raise errors(401, "Authentication failed, invalid API key.")

    def _order(self, request: Request) -> Order:
        order = self.store.state.orders.get(request.path_params["id"])
        if order is None:
            raise errors(404, "Order resource not found.")
        return order

    def now(self) -> datetime:
        return self.ctx.clock.now()

    def emit(self, event: str, data: dict) -> str:
        return self.sender.emit(event, data, iso(self.now()) or "")

    def _place(self, value: Any) -> Place:
        if isinstance(value, str) and value in self.store.state.places:
            return self.store.state.places[value]
        if isinstance(value, str) and value.strip():
            value = {"name": value, "street1": value}
        if not isinstance(value, dict) or not (value.get("street1") or value.get("address") or value.get("name")):
            raise errors(422, "A place needs a name, street1, address or an existing place id.")
        fields = {k: value.get(k) for k in PLACE_FIELDS if value.get(k) is not None}
        fields.setdefault("street1", value.get("address") or value.get("name"))
        loc = value.get("location")
        coords = loc.get("coordinates") if isinstance(loc, dict) else None
        where = tuple(coords) if coords else geocode(" ".join(str(fields.get(k) or "") for k in PLACE_FIELDS[1:6]))
        place = Place(public_id("place"), fields, (float(where[0]), float(where[1])), self.now())
        self.store.state.places[place.id] = place
        return place

    # -- the transport flow -----------------------------------------------------------------------

    def advance(self, o: Order, target: str, pod: str | None = None) -> None:
        """Move `o` forward through the flow to `target` (each step stamped and announced)."""
        if o.status in TERMINAL:
            raise errors(400, f"Order is already {o.status}.")
        if target in ("canceled", "failed"):
            o.status = target
            o.stamps[target] = o.updated_at = self.now()
            self.emit("order.canceled" if target == "canceled" else "order.failed", self.store.order_resource(o))
            return
        if target not in FLOW or FLOW.index(target) <= FLOW.index(o.status):
            raise errors(400, f"Order is {o.status}; it cannot move to {target}.")
        for step in FLOW[FLOW.index(o.status) + 1 : FLOW.index(target) + 1]:
            self._step(o, step, pod)

    def _step(self, o: Order, step: str, pod: str | None) -> None:
        now = self.now()
        if step == "dispatched":
            self.store.assign_driver(o)
            o.status, o.updated_at = step, now
            o.stamps[step] = now
            self.emit("order.driver_assigned", self.store.order_resource(o))
            self.emit("order.dispatched", self.store.order_resource(o))
            self._maybe_swap(o, step)
            return
        if step == "completed":
            method = pod or o.pod_method or "signature"
            if o.pod_required or pod:
                self._capture(o, method)
        o.status, o.updated_at = step, now
        o.stamps[step] = now
        driver = self.store.state.drivers.get(o.driver_id or "")
        if driver is not None:
            driver.location = self.store.driver_point(o, now)
        self.emit("order.completed" if step == "completed" else "order.updated", self.store.order_resource(o))
        self._maybe_swap(o, step)

    def _maybe_swap(self, o: Order, step: str) -> None:
        sc = self.scenarios
        if sc.swap_driver_on == step and o.id not in sc.swapped:
            sc.swapped.add(o.id)
            self.reassign(o, sc.swap_driver_name, sc.swap_driver_phone)

    def reassign(self, o: Order, name: str, phone: str | None = None) -> bool:
        """The dispatcher hands the order to the driver called `name` (found, else created); the new
        driver takes over where the van is. Announced as `order.driver_assigned`; False if unchanged."""
        if o.status in TERMINAL:
            raise errors(400, f"Order is already {o.status}.")
        s = self.store.state
        driver = next((d for d in s.drivers.values() if d.name == name), None)
        if driver is None:
            driver = Driver(public_id("driver"), name, phone)
            s.drivers[driver.id] = driver
        if driver.id == o.driver_id:
            return False
        now = self.now()
        previous = s.drivers.get(o.driver_id or "")
        driver.location = previous.location if previous is not None else None
        o.driver_id, o.updated_at = driver.id, now
        self.emit("order.driver_assigned", self.store.order_resource(o))
        return True

    def _capture(self, o: Order, method: str) -> dict:
        driver = self.store.state.drivers.get(o.driver_id or "")
        name = "Received by the buyer" if driver is None else f"Signed for; driver {driver.name}"
        data = signature_svg(name) if method == "signature" else signature_svg("photo: boxes at the door")
        proof = {
            "id": public_id("proof"),
            "type": method,
            "subject_uuid": o.id,
            "remarks": "Verified by " + method.title(),
            "raw_data": data,
            "created_at": iso(self.now()),
        }
        o.proofs.append(proof)
        return proof

    def tick(self, auto_complete: bool = True) -> dict:
        """Every enroute order: the driver's new point (driver.location_changed); arrived ones complete."""
        now, moved, completed = self.now(), 0, 0
        with self.store.lock:
            for o in list(self.store.state.orders.values()):
                if o.status != "enroute" or o.driver_id is None:
                    continue
                driver = self.store.state.drivers[o.driver_id]
                driver.location = self.store.driver_point(o, now)
                data = {**driver.resource(), "current_job": {"id": o.id, "status": o.status}}
                data["tracker"] = self.store.tracker(o, now)
                self.emit("driver.location_changed", data)
                moved += 1
                if auto_complete and self.store.progress(o, now) >= 1.0:
                    self._step(o, "completed", o.pod_method or "signature")
                    completed += 1
        return {"moved": moved, "completed": completed}

    # -- routes -------------------------------------------------------------------------------------

    async def create_place(self, request: Request) -> Response:
        self._auth(request)
        body = await body_of(request)
        with self.store.lock:
            return JSONResponse(self._place(body).resource())

    async def search_places(self, request: Request) -> Response:
        self._auth(request)
        query = (request.query_params.get("query") or "").strip().lower()
        if not query:
            raise errors(422, "The query field is required.")
        limit = int(request.query_params.get("limit") or 10)
        rows = [
            p.resource()
            for p in self.store.state.places.values()
            if query in str(p.fields.get("street1") or "").lower() or query in str(p.fields.get("name") or "").lower()
        ]
        return JSONResponse(rows[:limit])

    async def get_place(self, request: Request) -> Response:
        self._auth(request)
        place = self.store.state.places.get(request.path_params["id"])
        if place is None:
            raise errors(404, "Place resource not found.")
        return JSONResponse(place.resource())

    async def drivers(self, request: Request) -> Response:
        self._auth(request)
        s = self.store.state
        if request.method == "POST":
            body = await body_of(request)
            if not body.get("name"):
                raise errors(422, "The name field is required.")
            with self.store.lock:
                d = Driver(public_id("driver"), str(body["name"]), body.get("phone"))
                s.drivers[d.id] = d
            return JSONResponse(d.resource())
        q = (request.query_params.get("query") or "").lower()
        return JSONResponse([d.resource() for d in s.drivers.values() if q in d.name.lower() or q in (d.phone or "")])

    async def vehicles(self, request: Request) -> Response:
        self._auth(request)
        s = self.store.state
        if request.method == "POST":
            body = await body_of(request)
            if not body.get("plate_number"):
                raise errors(422, "The plate number field is required.")
            with self.store.lock:
                v = Vehicle(public_id("vehicle"), str(body["plate_number"]), body.get("make"), body.get("model"))
                s.vehicles[v.id] = v
            return JSONResponse(v.resource())
        q = (request.query_params.get("query") or "").lower()
        return JSONResponse([v.resource() for v in s.vehicles.values() if q in v.plate_number.lower()])

    async def create_order(self, request: Request) -> Response:
        self._auth(request)
        body = await body_of(request)
        payload: dict[str, Any] = body["payload"] if isinstance(body.get("payload"), dict) else {}
        pickup, dropoff = payload.get("pickup") or body.get("pickup"), payload.get("dropoff") or body.get("dropoff")
        if not pickup or not dropoff:
            raise errors(422, "A payload with a pickup and a dropoff (or waypoints) is required.")
        s = self.store.state
        for ref, table in (("driver", s.drivers), ("vehicle", s.vehicles)):
            if body.get(ref) and body[ref] not in table:
                raise errors(422, f"The selected {ref} is invalid.")
        if body.get("pod_method") not in (None, "scan", "signature", "photo"):
            raise errors(422, "The selected pod method is invalid.")
        with self.store.lock:
            now = self.now()
            o = Order(
                id=public_id("order"),
                internal_id=body.get("internal_id"),
                payload_id=public_id("payload"),
                pickup_id=self._place(pickup).id,
                dropoff_id=self._place(dropoff).id,
                entities=[
                    {"id": public_id("entity"), **e} for e in payload.get("entities") or [] if isinstance(e, dict)
                ],
                meta=dict(body.get("meta") or {}),
                notes=body.get("notes"),
                scheduled_at=body.get("scheduled_at"),
                pod_required=bool(body.get("pod_required")),
                pod_method=body.get("pod_method"),
                driver_id=body.get("driver"),
                vehicle_id=body.get("vehicle"),
                tracking_number=f"FB-{len(s.orders) + 1001}",
                created_at=now,
                updated_at=now,
            )
            s.orders[o.id] = o
            self.emit("order.created", self.store.order_resource(o))
            if body.get("dispatch"):
                self.advance(o, "dispatched")
            return JSONResponse(self.store.order_resource(o))

    async def list_orders(self, request: Request) -> Response:
        self._auth(request)
        rows = list(self.store.state.orders.values())
        if request.query_params.get("status"):
            rows = [o for o in rows if o.status == request.query_params["status"]]
        rows.sort(key=lambda o: o.created_at, reverse=request.query_params.get("sort", "-created_at").startswith("-"))
        offset, limit = int(request.query_params.get("offset") or 0), int(request.query_params.get("limit") or 10)
        return JSONResponse([self.store.order_resource(o) for o in rows[offset : offset + limit]])

    async def get_order(self, request: Request) -> Response:
        self._auth(request)
        return JSONResponse(self.store.order_resource(self._order(request)))

    async def update_order(self, request: Request) -> Response:
        """PUT /orders/{id}: the given fields replace the order's (meta as a whole, as Fleetbase's
        update does); driver/vehicle must exist; a finished order takes only meta and notes."""
        self._auth(request)
        body = await body_of(request)
        s = self.store.state
        for ref, table in (("driver", s.drivers), ("vehicle", s.vehicles)):
            if body.get(ref) and body[ref] not in table:
                raise errors(422, f"The selected {ref} is invalid.")
        if "meta" in body and not isinstance(body["meta"], dict | None):
            raise errors(422, "The meta must be an object.")
        if body.get("pod_method") not in (None, "scan", "signature", "photo"):
            raise errors(422, "The selected pod method is invalid.")
        with self.store.lock:
            o = self._order(request)
            if o.status in TERMINAL and set(body) - {"meta", "notes"}:
                raise errors(400, f"Order is already {o.status}.")
            if "meta" in body:
                o.meta = dict(body["meta"] or {})
            for key in ("notes", "scheduled_at", "internal_id", "pod_method"):
                if key in body:
                    setattr(o, key, body[key])
            if "pod_required" in body:
                o.pod_required = bool(body["pod_required"])
            reassigned = bool(body.get("driver")) and body["driver"] != o.driver_id
            if body.get("driver"):
                o.driver_id = body["driver"]
            if body.get("vehicle"):
                o.vehicle_id = body["vehicle"]
            o.updated_at = self.now()
            self.emit("order.updated", self.store.order_resource(o))
            if reassigned:
                self.emit("order.driver_assigned", self.store.order_resource(o))
            if body.get("dispatch") and o.status == "created":
                self.advance(o, "dispatched")
            return JSONResponse(self.store.order_resource(o))

    async def lifecycle(self, request: Request) -> Response:
        """dispatch / start / update-activity / complete (POST or PATCH) and cancel (DELETE)."""
        self._auth(request)
        action = request.url.path.rstrip("/").rsplit("/", 1)[-1]
        with self.store.lock:
            o = self._order(request)
            if action == "update-activity":
                if o.status in TERMINAL or o.status == FLOW[-1]:
                    raise errors(400, f"Order is already {o.status}.")
                target = FLOW[FLOW.index(o.status) + 1]
            else:
                target = {"dispatch": "dispatched", "start": "started", "complete": "completed", "cancel": "canceled"}[
                    action
                ]
            if action == "start" and o.status == "created":
                raise errors(400, "Order must be dispatched before it can be started.")
            self.advance(o, target)
            return JSONResponse(self.store.order_resource(o))

    async def tracker(self, request: Request) -> Response:
        self._auth(request)
        return JSONResponse(self.store.tracker(self._order(request), self.now()))

    async def eta(self, request: Request) -> Response:
        self._auth(request)
        o = self._order(request)
        return JSONResponse({o.dropoff_id: self.store.tracker(o, self.now())["completion_eta"]})

    async def proofs(self, request: Request) -> Response:
        self._auth(request)
        return JSONResponse(self._order(request).proofs)

    async def capture(self, request: Request) -> Response:
        self._auth(request)
        method = "signature" if "capture-signature" in request.url.path else "photo"
        with self.store.lock:
            return JSONResponse(self._capture(self._order(request), method))

    def routes(self) -> list[BaseRoute]:
        v = self.ctx.vendor_route
        rw = ["POST", "PATCH"]
        return [
            v("/v1/places", self.create_place, ["POST"]),
            v("/v1/places/search", self.search_places, ["GET"]),
            v("/v1/places/{id}", self.get_place, ["GET"]),
            v("/v1/drivers", self.drivers, ["GET", "POST"]),
            v("/v1/vehicles", self.vehicles, ["GET", "POST"]),
            v("/v1/orders", self.create_order, ["POST"]),
            v("/v1/orders", self.list_orders, ["GET"]),
            v("/v1/orders/{id}", self.get_order, ["GET"]),
            v("/v1/orders/{id}", self.update_order, ["PUT"]),
            v("/v1/orders/{id}/dispatch", self.lifecycle, rw),
            v("/v1/orders/{id}/start", self.lifecycle, ["POST"]),
            v("/v1/orders/{id}/update-activity", self.lifecycle, rw),
            v("/v1/orders/{id}/complete", self.lifecycle, ["POST"]),
            v("/v1/orders/{id}/cancel", self.lifecycle, ["DELETE"]),
            v("/v1/orders/{id}/tracker", self.tracker, ["GET"]),
            v("/v1/orders/{id}/eta", self.eta, ["GET"]),
            v("/v1/orders/{id}/proofs", self.proofs, ["GET"]),
            v("/v1/orders/{id}/capture-signature", self.capture, ["POST"]),
            v("/v1/orders/{id}/capture-photo", self.capture, ["POST"]),
        ]
