"""The ship form's transport details (driver, vehicle, ETD/ETA), validated for the METRC manifest.

All fields are optional (METRC accepts a template without a transporter), but what is given must be
usable on a manifest: a phone number METRC can dial, a license number and plate without stray
characters, an arrival after the departure and neither absurdly far from now.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from reup_app.errors import ValidationError
from reup_app.models.types import utcnow
from reup_app.services.common import clean_text, parse_datetime
from reup_app.services.ordering.shipping import ShipmentDetails

SHIP_FIELDS = frozenset(
    {
        "driver_name",
        "driver_license_number",
        "driver_phone",
        "vehicle",
        "vehicle_make",
        "vehicle_model",
        "vehicle_plate",
        "etd",
        "eta",
        "note",
    }
)
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 \-]*$")
_PLATE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 \-]{0,9}$")
_PHONE_PUNCT = re.compile(r"[\s().\-]")
MAX_AHEAD = timedelta(days=30)
MAX_BEHIND = timedelta(days=1)


def _phone(value: Any) -> str | None:
    text = clean_text(value, "driver_phone", max_len=32, label="the driver's phone number")
    if text is None:
        return None
    digits = _PHONE_PUNCT.sub("", text)
    if digits.startswith("+"):
        digits = digits[1:]
    if not digits.isdigit() or not 7 <= len(digits) <= 15:
        raise ValidationError(
            f"The driver's phone number {text!r} is not valid: use 7 to 15 digits, e.g. (510) 555-0142.",
            "driver_phone",
        )
    return digits


def _matching(value: Any, field: str, label: str, max_len: int, pattern: re.Pattern[str], hint: str) -> str | None:
    text = clean_text(value, field, max_len=max_len, label=label)
    if text is not None and not pattern.match(text):
        raise ValidationError(f"{label[0].upper()}{label[1:]} {text!r} is not valid: {hint}.", field)
    return text


def _when(value: Any, field: str, label: str, now: datetime) -> datetime | None:
    at = parse_datetime(value, field)
    if at is not None and not (now - MAX_BEHIND <= at <= now + MAX_AHEAD):
        raise ValidationError(f"The {label} must be between yesterday and 30 days from now.", field)
    return at


def parse_shipment_details(data: Mapping[str, Any], package_labels: list[str]) -> ShipmentDetails:
    """The validated transport details of a ship request (unknown keys are refused by the caller)."""
    now = utcnow()
    etd = _when(data.get("etd"), "etd", "estimated departure", now)
    eta = _when(data.get("eta"), "eta", "estimated arrival", now)
    if etd and eta and eta <= etd:
        raise ValidationError("The estimated arrival must be after the estimated departure.", "eta")
    return ShipmentDetails(
        driver_name=clean_text(data.get("driver_name"), "driver_name", max_len=128, label="the driver's name"),
        driver_phone=_phone(data.get("driver_phone")),
        vehicle=clean_text(data.get("vehicle"), "vehicle", max_len=128),
        eta=eta,
        etd=etd,
        package_labels=package_labels,
        driver_license_number=_matching(
            data.get("driver_license_number"),
            "driver_license_number",
            "the driver's license number",
            32,
            _ID_RE,
            "use letters, digits, spaces and dashes",
        ),
        vehicle_make=clean_text(data.get("vehicle_make"), "vehicle_make", max_len=48, label="the vehicle make"),
        vehicle_model=clean_text(data.get("vehicle_model"), "vehicle_model", max_len=48, label="the vehicle model"),
        vehicle_plate=_matching(
            data.get("vehicle_plate"),
            "vehicle_plate",
            "the license plate",
            10,
            _PLATE_RE,
            "use up to 10 letters, digits, spaces and dashes",
        ),
    )
