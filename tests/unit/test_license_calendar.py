""" "Today" for a license is the date in its state, not in UTC (reup_app.services.compliance.license_calendar)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from reup_app.services.compliance.license_calendar import (
    STATE_ZONES,
    UnknownLicenseState,
    is_current,
    license_today,
    state_zone,
)
from reup_app.services.identity.signup import US_STATES

# 2026-03-10 23:30 Pacific (PDT, UTC-7) is 2026-03-11 06:30 UTC; in winter (PST) 23:30 PT is 07:30 UTC.
PT_2330_SUMMER = datetime(2026, 3, 11, 6, 30, tzinfo=UTC)
PT_2330_WINTER = datetime(2026, 1, 11, 7, 30, tzinfo=UTC)


def test_every_state_dc_and_territory_accepted_at_sign_up_has_a_zone():
    assert set(STATE_ZONES) == set(US_STATES)
    for state in STATE_ZONES:
        assert state_zone(state).key == STATE_ZONES[state]  # every name is a real IANA zone


@pytest.mark.parametrize("now", [PT_2330_SUMMER, PT_2330_WINTER])
def test_a_ca_license_expiring_today_is_valid_at_2330_pacific(now):
    ca_today = (now - timedelta(days=1)).date()
    assert now.date() == ca_today + timedelta(days=1)  # UTC already says tomorrow
    assert license_today("CA", now) == ca_today
    assert is_current(ca_today, "CA", now)
    assert not is_current(ca_today - timedelta(days=1), "CA", now)
    # one hour later it is midnight in California: the license has expired
    assert not is_current(ca_today, "CA", now + timedelta(minutes=31))


def test_the_same_instant_is_already_tomorrow_in_new_york():
    assert license_today("NY", PT_2330_WINTER) == date(2026, 1, 11)
    assert not is_current(date(2026, 1, 10), "NY", PT_2330_WINTER)
    assert is_current(date(2026, 1, 10), "CA", PT_2330_WINTER)


def test_guam_runs_ahead_of_utc_and_hawaii_behind():
    now = datetime(2026, 6, 1, 15, 0, tzinfo=UTC)
    assert license_today("GU", now) == date(2026, 6, 2)
    assert license_today("HI", now) == date(2026, 6, 1)
    assert license_today("HI", datetime(2026, 6, 2, 9, 59, tzinfo=UTC)) == date(2026, 6, 1)


def test_any_aware_instant_works_and_naive_or_unknown_state_is_refused():
    plus2 = timezone(timedelta(hours=2))
    assert license_today("ca", datetime(2026, 3, 11, 8, 30, tzinfo=plus2)) == date(2026, 3, 10)
    with pytest.raises(ValueError, match="timezone-aware"):
        license_today("CA", datetime(2026, 3, 11, 6, 30))
    with pytest.raises(UnknownLicenseState, match="'XX'"):
        license_today("XX", PT_2330_SUMMER)


def test_no_expiry_date_is_always_current():
    assert is_current(None, "CA", PT_2330_SUMMER)
