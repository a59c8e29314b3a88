"""The calendar a license lives by: "today" is the date in the issuing state, not in UTC.

A license (or a lot held under it) expiring on 2026-03-10 in California is valid until midnight
Pacific time: at 23:30 PT it is still 2026-03-10 in CA although UTC already says 2026-03-11.
Every license-expiry, lot-sellability and buyer-license check asks `license_today(state, now)`.

States spanning several zones are mapped to the zone most of their people live in (noted below);
a licensee in the minority zone sees expiry switch at most an hour off its local midnight.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from reup_app.models.types import utcnow

_EASTERN, _CENTRAL, _MOUNTAIN, _PACIFIC = "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"

STATE_ZONES: dict[str, str] = {
    "AL": _CENTRAL,
    "AK": "America/Anchorage",  # multi-zone: the Aleutians west of 169.5 W use Hawaii-Aleutian time
    "AZ": "America/Phoenix",  # no daylight saving (the Navajo Nation's own DST is not modeled)
    "AR": _CENTRAL,
    "CA": _PACIFIC,
    "CO": _MOUNTAIN,
    "CT": _EASTERN,
    "DE": _EASTERN,
    "DC": _EASTERN,
    "FL": _EASTERN,  # multi-zone: the western Panhandle is Central
    "GA": _EASTERN,
    "HI": "Pacific/Honolulu",
    "ID": "America/Boise",  # multi-zone: the northern Panhandle is Pacific
    "IL": _CENTRAL,
    "IN": "America/Indiana/Indianapolis",  # multi-zone: NW and SW corners are Central
    "IA": _CENTRAL,
    "KS": _CENTRAL,  # multi-zone: four western counties are Mountain
    "KY": "America/Kentucky/Louisville",  # multi-zone: the western half is Central
    "LA": _CENTRAL,
    "ME": _EASTERN,
    "MD": _EASTERN,
    "MA": _EASTERN,
    "MI": "America/Detroit",  # multi-zone: four Upper Peninsula counties are Central
    "MN": _CENTRAL,
    "MS": _CENTRAL,
    "MO": _CENTRAL,
    "MT": _MOUNTAIN,
    "NE": _CENTRAL,  # multi-zone: the western Panhandle is Mountain
    "NV": _PACIFIC,  # multi-zone: West Wendover is Mountain
    "NH": _EASTERN,
    "NJ": _EASTERN,
    "NM": _MOUNTAIN,
    "NY": _EASTERN,
    "NC": _EASTERN,
    "ND": _CENTRAL,  # multi-zone: the southwest is Mountain
    "OH": _EASTERN,
    "OK": _CENTRAL,
    "OR": _PACIFIC,  # multi-zone: most of Malheur County is Mountain
    "PA": _EASTERN,
    "RI": _EASTERN,
    "SC": _EASTERN,
    "SD": _CENTRAL,  # multi-zone: the western half is Mountain
    "TN": _CENTRAL,  # multi-zone: East Tennessee is Eastern (Middle+West Tennessee hold more people)
    "TX": _CENTRAL,  # multi-zone: El Paso and Hudspeth counties are Mountain
    "UT": _MOUNTAIN,
    "VT": _EASTERN,
    "VA": _EASTERN,
    "WA": _PACIFIC,
    "WV": _EASTERN,
    "WI": _CENTRAL,
    "WY": _MOUNTAIN,
    # territories accepted at sign-up
    "PR": "America/Puerto_Rico",
    "VI": "America/St_Thomas",
    "GU": "Pacific/Guam",
    "MP": "Pacific/Saipan",
    "AS": "Pacific/Pago_Pago",
}


class UnknownLicenseState(ValueError):
    """The state code is not one ReUp licenses come from."""


def state_zone(state: str | None) -> ZoneInfo:
    """The IANA zone whose calendar the state's licenses follow."""
    try:
        return ZoneInfo(STATE_ZONES[(state or "").strip().upper()])
    except KeyError:
        raise UnknownLicenseState(f"No license calendar for state {state!r}.") from None


def license_today(state: str | None, now: datetime | None = None) -> date:
    """Today's date in `state` at instant `now` (default: the current time)."""
    now = now or utcnow()
    if now.tzinfo is None:
        raise ValueError("`now` must be timezone-aware.")
    return now.astimezone(state_zone(state)).date()


def is_current(expires_on: date | None, state: str, now: datetime | None = None) -> bool:
    """Valid through its expiry date in its state's calendar (no date: no expiry)."""
    return expires_on is None or expires_on >= license_today(state, now)
