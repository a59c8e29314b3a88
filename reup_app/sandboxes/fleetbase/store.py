"""The Fleetbase sandbox's state: places, drivers, vehicles and orders, and how an order moves through
the default Transport flow (created -> dispatched -> started -> enroute -> completed, or canceled /
failed) on the sandbox clock. Shapes follow the collection's examples (public ids like `order_...`)."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

FLOW = ("created", "dispatched", "started", "enroute", "completed")
TERMINAL = frozenset({"completed", "canceled", "failed"})
DEFAULT_TRIP_SECONDS = 1800.0  # enroute -> arrival at the dropoff, in sandbox seconds
POOL_DRIVERS = (("Alex Driver", "+15105550100"), ("Sam Carter", "+15105550101"))


def public_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(5)}"


def iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if value else None


def geocode(text: str) -> tuple[float, float]:
    """A stable (lng, lat) in the Bay Area for an address (the sandbox has no geocoder)."""
    digest = hashlib.sha256(text.lower().encode()).digest()
    lat = 37.2 + digest[0] / 255 * 1.4
    lng = -122.6 + digest[1] / 255 * 1.3
    return round(lng, 6), round(lat, 6)


def signature_svg(name: str) -> str:
    """A small signature picture as a data: URL (what capture-signature stores)."""
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="240" height="80"><path d="M10 60 C 40 10, 70 90, 100 40'
        ' S 160 20, 230 50" stroke="#123" fill="none" stroke-width="3"/><text x="10" y="76" font-size="10">'
        f"{name}</text></svg>"
    )
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


@dataclass
class Place:
    id: str
    fields: dict[str, Any]
    location: tuple[float, float]
    created_at: datetime

    def resource(self) -> dict:
        lng, lat = self.location
        out = {"id": self.id, **self.fields, "location": {"type": "Point", "coordinates": [lng, lat]}}
        out.setdefault("meta", {})
        out["created_at"] = iso(self.created_at)
        return out


@dataclass
class Driver:
    id: str
    name: str
    phone: str | None
    location: tuple[float, float] | None = None

    def resource(self) -> dict:
        loc = {"type": "Point", "coordinates": list(self.location)} if self.location else None
        return {"id": self.id, "name": self.name, "phone": self.phone, "location": loc, "online": True}


@dataclass
class Vehicle:
    id: str
    plate_number: str
    make: str | None
    model: str | None

    def resource(self) -> dict:
        return {"id": self.id, "plate_number": self.plate_number, "make": self.make, "model": self.model}


@dataclass
class Order:
    id: str
    internal_id: str | None
    payload_id: str
    pickup_id: str
    dropoff_id: str
    entities: list[dict]
    meta: dict
    notes: str | None
    scheduled_at: str | None
    pod_required: bool
    pod_method: str | None
    driver_id: str | None
    vehicle_id: str | None
    tracking_number: str
    created_at: datetime
    updated_at: datetime
    status: str = "created"
    stamps: dict[str, datetime] = field(default_factory=dict)
    proofs: list[dict] = field(default_factory=list)
    trip_seconds: float = DEFAULT_TRIP_SECONDS


@dataclass
class FleetbaseState:
    places: dict[str, Place] = field(default_factory=dict)
    drivers: dict[str, Driver] = field(default_factory=dict)
    vehicles: dict[str, Vehicle] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)


class FleetbaseStore:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.state = FleetbaseState()

    def reset(self) -> None:
        with self.lock:
            self.state = FleetbaseState()

    # -- resources ----------------------------------------------------------------------------

    def order_resource(self, o: Order) -> dict:
        s = self.state
        driver, vehicle = s.drivers.get(o.driver_id or ""), s.vehicles.get(o.vehicle_id or "")
        pickup, dropoff = s.places[o.pickup_id], s.places[o.dropoff_id]
        return {
            "id": o.id,
            "internal_id": o.internal_id,
            "payload": {
                "id": o.payload_id,
                "pickup": pickup.resource(),
                "dropoff": dropoff.resource(),
                "return": None,
                "waypoints": [],
                "entities": o.entities,
                "meta": {},
            },
            "driver_assigned": driver.resource() if driver else None,
            "vehicle_assigned": vehicle.resource() if vehicle else None,
            "tracking_number": {
                "id": f"tracking_{o.tracking_number}",
                "tracking_number": o.tracking_number,
                "status": o.status,
                "status_code": o.status,
                "type": "order",
            },
            "tracking_statuses": [],
            "files": [],
            "purchase_rate": None,
            "type": "transport",
            "status": o.status,
            "pod_required": o.pod_required,
            "pod_method": o.pod_method,
            "dispatched": "dispatched" in o.stamps,
            "started": "started" in o.stamps,
            "adhoc": False,
            "adhoc_distance": 0,
            "distance": round(self.distance_m(o)),
            "time": round(o.trip_seconds),
            "meta": o.meta,
            "notes": o.notes,
            "dispatched_at": iso(o.stamps.get("dispatched")),
            "started_at": iso(o.stamps.get("started")),
            "scheduled_at": o.scheduled_at,
            "updated_at": iso(o.updated_at),
            "created_at": iso(o.created_at),
        }

    def distance_m(self, o: Order) -> float:
        (x1, y1), (x2, y2) = self.state.places[o.pickup_id].location, self.state.places[o.dropoff_id].location
        return (((x2 - x1) * 88_000) ** 2 + ((y2 - y1) * 111_000) ** 2) ** 0.5

    def progress(self, o: Order, now: datetime) -> float:
        """0..1 along the route: 0 until enroute, then by sandbox time, 1 when completed."""
        if o.status == "completed":
            return 1.0
        started = o.stamps.get("enroute")
        if started is None or o.status != "enroute":
            return 0.0
        return max(0.0, min(1.0, (now - started).total_seconds() / o.trip_seconds))

    def driver_point(self, o: Order, now: datetime) -> tuple[float, float]:
        (x1, y1), (x2, y2) = self.state.places[o.pickup_id].location, self.state.places[o.dropoff_id].location
        f = self.progress(o, now)
        return round(x1 + (x2 - x1) * f, 6), round(y1 + (y2 - y1) * f, 6)

    def tracker(self, o: Order, now: datetime) -> dict:
        f = self.progress(o, now)
        lng, lat = self.driver_point(o, now)
        total = self.distance_m(o)
        remaining = 0.0 if o.status == "completed" else o.trip_seconds * (1 - f)
        eta = None if o.status in TERMINAL else now.timestamp() + remaining
        dropoff = self.state.places[o.dropoff_id]
        return {
            "driver_current_location": {"latitude": lat, "longitude": lng},
            "progress_percentage": round(f * 100, 1),
            "total_distance": round(total),
            "completed_distance": round(total * f),
            "current_destination_eta": round(remaining),
            "completion_eta": round(remaining),
            "estimated_completion_time": iso(datetime.fromtimestamp(eta, now.tzinfo)) if eta else None,
            "start_time": iso(o.stamps.get("started")),
            "completion_time": iso(o.stamps.get("completed")),
            "current_destination": {"id": dropoff.id, "name": dropoff.fields.get("name")},
            "next_destination": None,
            "first_waypoint_completed": o.status in ("enroute", "completed"),
            "last_waypoint_completed": o.status == "completed",
        }

    def assign_driver(self, o: Order) -> None:
        if o.driver_id is None:
            name, phone = POOL_DRIVERS[len(self.state.orders) % len(POOL_DRIVERS)]
            found = next((d for d in self.state.drivers.values() if d.name == name), None)
            if found is None:
                found = Driver(public_id("driver"), name, phone)
                self.state.drivers[found.id] = found
            o.driver_id = found.id
        if o.vehicle_id is None:
            v = Vehicle(public_id("vehicle"), "7SBX" + secrets.token_hex(2).upper(), "Ford", "Transit")
            self.state.vehicles[v.id] = v
            o.vehicle_id = v.id
