"""Typed Fleetbase v1 objects, parsed from the JSON the API answers (fields we use; the rest ignored)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# The default "Transport" order config's flow, in order (domain.md 4.4); terminal ones rank highest.
FLOW = ("created", "dispatched", "started", "enroute", "completed")
TERMINAL = frozenset({"completed", "canceled", "failed"})


def parse_time(value: Any) -> datetime | None:
    """Fleetbase's `2026-05-07T08:50:00.000000Z` (or any ISO instant) as tz-aware UTC; None if absent."""
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def point(value: Any) -> tuple[float, float] | None:
    """A GeoJSON Point {"type": "Point", "coordinates": [lng, lat]} or {"latitude", "longitude"} as (lng, lat)."""
    if isinstance(value, dict):
        coords = value.get("coordinates")
        if isinstance(coords, list | tuple) and len(coords) == 2:
            return float(coords[0]), float(coords[1])
        if "latitude" in value and "longitude" in value:
            return float(value["longitude"]), float(value["latitude"])
    return None


@dataclass(frozen=True)
class Place:
    id: str
    name: str | None
    street1: str | None
    location: tuple[float, float] | None  # (lng, lat)
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Place:
        return cls(
            str(raw["id"]), raw.get("name"), raw.get("street1"), point(raw.get("location")), dict(raw.get("meta") or {})
        )


@dataclass(frozen=True)
class Driver:
    id: str
    name: str | None
    phone: str | None
    location: tuple[float, float] | None

    @classmethod
    def parse(cls, raw: dict[str, Any] | None) -> Driver | None:
        if not isinstance(raw, dict) or not raw.get("id"):
            return None
        return cls(str(raw["id"]), raw.get("name"), raw.get("phone"), point(raw.get("location")))


@dataclass(frozen=True)
class Vehicle:
    id: str
    plate_number: str | None
    make: str | None
    model: str | None

    @property
    def text(self) -> str | None:
        parts = " ".join(p for p in (self.make, self.model) if p)
        if self.plate_number:
            return f"{parts}, plate {self.plate_number}" if parts else f"plate {self.plate_number}"
        return parts or None

    @classmethod
    def parse(cls, raw: dict[str, Any] | None) -> Vehicle | None:
        if not isinstance(raw, dict) or not raw.get("id"):
            return None
        return cls(str(raw["id"]), raw.get("plate_number"), raw.get("make"), raw.get("model"))


@dataclass(frozen=True)
class Order:
    id: str
    status: str
    internal_id: str | None
    tracking_number: str | None
    driver: Driver | None
    vehicle: Vehicle | None
    pickup: Place | None
    dropoff: Place | None
    meta: dict[str, Any]
    scheduled_at: datetime | None
    updated_at: datetime | None
    entities: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Order:
        payload: dict[str, Any] = raw["payload"] if isinstance(raw.get("payload"), dict) else {}
        tracking = raw.get("tracking_number")
        number = tracking.get("tracking_number") if isinstance(tracking, dict) else tracking
        pickup, dropoff = payload.get("pickup"), payload.get("dropoff")
        return cls(
            id=str(raw["id"]),
            status=str(raw.get("status") or "created"),
            internal_id=raw.get("internal_id"),
            tracking_number=str(number) if number else None,
            driver=Driver.parse(raw.get("driver_assigned")),
            vehicle=Vehicle.parse(raw.get("vehicle_assigned")),
            pickup=Place.parse(pickup) if isinstance(pickup, dict) else None,
            dropoff=Place.parse(dropoff) if isinstance(dropoff, dict) else None,
            meta=dict(raw.get("meta") or {}),
            scheduled_at=parse_time(raw.get("scheduled_at")),
            updated_at=parse_time(raw.get("updated_at")),
            entities=list(payload.get("entities") or []),
        )


@dataclass(frozen=True)
class Tracker:
    driver_location: tuple[float, float] | None
    progress_percentage: float | None
    estimated_completion_time: datetime | None
    completion_time: datetime | None

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Tracker:
        pct = raw.get("progress_percentage")
        return cls(
            point(raw.get("driver_current_location")),
            float(pct) if isinstance(pct, int | float) else None,
            parse_time(raw.get("estimated_completion_time")),
            parse_time(raw.get("completion_time")),
        )


@dataclass(frozen=True)
class Proof:
    id: str
    type: str | None  # signature | photo | qr
    remarks: str | None
    raw_data: str | None  # a data: URL (signature or photo)
    created_at: datetime | None

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Proof:
        return cls(
            str(raw.get("id") or ""),
            raw.get("type"),
            raw.get("remarks"),
            raw.get("raw_data") or raw.get("url"),
            parse_time(raw.get("created_at")),
        )
