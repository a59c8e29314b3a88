"""Deliveries (Fleetbase) and compliance manifests (METRC transfers) for shipped orders."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from reup_app.models.types import opt_ts_field, str_field, text_field, ts_field


class Delivery(SQLModel, table=True):
    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("provider", "external_id", name="uq_deliveries_provider_ext"),)

    id: int = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    provider: str = str_field(16, default="fleetbase")
    external_id: str | None = str_field(64, default=None)
    tracking_number: str | None = str_field(64, default=None)
    status: str = str_field(16, default="pending")  # DeliveryStatus
    driver_name: str | None = str_field(128, default=None)
    driver_phone: str | None = str_field(32, default=None)
    vehicle: str | None = str_field(128, default=None)
    eta: datetime | None = opt_ts_field()
    delivered_at: datetime | None = opt_ts_field()
    last_error: str | None = text_field(default=None)
    created_at: datetime = ts_field()
    updated_at: datetime = ts_field()
    # Fleetbase (migration 0008): the vendor's own status (created/dispatched/started/enroute/
    # completed/canceled/failed), the status timeline, the route (pickup, dropoff, driver point,
    # progress), the proof of delivery, the scheduled window, and the buyer's problem report.
    vendor_status: str | None = str_field(16, default=None)
    scheduled_at: datetime | None = opt_ts_field()
    timeline: str | None = text_field(default=None)  # JSON [{"status", "at"}]
    route: str | None = text_field(default=None)  # JSON {"pickup": [lng, lat], "dropoff", "driver", "progress"}
    proof: str | None = text_field(default=None)  # JSON {"type", "data_url", "at", "remarks"}
    location_at: datetime | None = opt_ts_field()  # time of the driver point we hold (older ones are ignored)
    problem_report: str | None = text_field(default=None)
    problem_reported_at: datetime | None = opt_ts_field()
    # Migration 0014: the seller asked Fleetbase to cancel (why, and when); the outbox sends it.
    cancel_reason: str | None = text_field(default=None)
    cancel_requested_at: datetime | None = opt_ts_field()


class ComplianceManifest(SQLModel, table=True):
    __tablename__ = "compliance_manifests"
    __table_args__ = (UniqueConstraint("provider", "external_transfer_id", name="uq_manifests_provider_ext"),)

    id: int = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    license_id: int = Field(foreign_key="licenses.id")
    provider: str = str_field(16, default="metrc")
    external_transfer_id: str | None = str_field(64, default=None)
    manifest_number: str | None = str_field(64, default=None)
    template_id: str | None = str_field(64, default=None)  # the METRC outgoing template we created
    # JSON list of {"label", "state", "shipped", "received"} once the buyer received in METRC
    received_packages: str | None = text_field(default=None)
    status: str = str_field(16, default="pending")  # ManifestStatus
    last_error: str | None = text_field(default=None)
    submitted_at: datetime | None = opt_ts_field()
    created_at: datetime = ts_field()
    updated_at: datetime = ts_field()
