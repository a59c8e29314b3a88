"""The calendar date in a license's state: licenses expire at the end of a local day, not a UTC one.

Minimal version for the pre-ship checks; another branch adds the shared helper of the same name
(the lead reconciles at merge).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from reup_app.models.types import utcnow

# State -> the IANA zone of (most of) its licensed premises. States split across zones use the
# zone of the state's most populous part; unknown states fall back to UTC.
STATE_ZONES: dict[str, str] = {
    "AK": "America/Anchorage",
    "AZ": "America/Phoenix",
    "CA": "America/Los_Angeles",
    "CO": "America/Denver",
    "IL": "America/Chicago",
    "MA": "America/New_York",
    "MD": "America/New_York",
    "MI": "America/Detroit",
    "MO": "America/Chicago",
    "MT": "America/Denver",
    "NJ": "America/New_York",
    "NV": "America/Los_Angeles",
    "NY": "America/New_York",
    "OH": "America/New_York",
    "OK": "America/Chicago",
    "OR": "America/Los_Angeles",
    "WA": "America/Los_Angeles",
}


def license_today(state: str | None, now: datetime | None = None) -> date:
    """Today's date in `state` (two-letter code) at `now` (tz-aware; default: the current time)."""
    moment = now or utcnow()
    if moment.tzinfo is None:
        raise ValueError("license_today needs a timezone-aware time.")
    zone = STATE_ZONES.get((state or "").strip().upper())
    return moment.astimezone(ZoneInfo(zone)).date() if zone else moment.date()
