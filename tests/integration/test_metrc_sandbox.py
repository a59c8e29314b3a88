"""The METRC sandbox over a real socket with plain httpx: auth, licenses, paging, windows, limits and faults.

The transfer flow, the demo seed and the process options are in test_metrc_sandbox_flow.py.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.metrc_kit import EC_DIST, PB_DIST, PB_KITCHEN, get, iso, post, sandbox_now, shippable, template

# -- auth and licenses -------------------------------------------------------------------------


def test_auth_failures_answer_401_with_a_vendor_message(metrc_sandbox):
    url = metrc_sandbox.base_url + "/facilities/v2"
    for auth in (None, ("wrong-vendor", "demo-user-pacificbloom"), (metrc_sandbox.VENDOR_KEY, "no-such-user")):
        r = httpx.get(url, auth=auth)
        assert r.status_code == 401
        assert r.json() == {"Message": "Authorization has been denied for this request."}


def test_facilities_list_only_the_user_keys_licenses(metrc_sandbox):
    r = get(metrc_sandbox, "/facilities/v2")
    assert r.status_code == 200
    assert sorted(f["License"]["Number"] for f in r.json()) == sorted([PB_DIST, PB_KITCHEN])


def test_license_number_is_required_and_checked(metrc_sandbox):
    missing = get(metrc_sandbox, "/packages/v2/active")
    assert missing.status_code == 400 and "licenseNumber" in missing.json()["Message"]
    foreign = get(metrc_sandbox, "/packages/v2/active", licenseNumber=EC_DIST)
    assert foreign.status_code == 403
    assert EC_DIST in foreign.json()["Message"]
    assert get(metrc_sandbox, "/packages/v2/active", "emeraldcoast", licenseNumber=EC_DIST).status_code == 200


# -- paging, windows, limits -------------------------------------------------------------------


def test_paging_wrapper_walks_every_package_once(metrc_sandbox):
    everything = get(metrc_sandbox, "/packages/v2/active", licenseNumber=PB_DIST).json()
    total = everything["Total"]
    assert total == len(everything["Data"]) > 20
    seen, page = [], 1
    while True:
        body = get(metrc_sandbox, "/packages/v2/active", licenseNumber=PB_DIST, pageNumber=page, pageSize=20).json()
        assert set(body) == {
            "Data",
            "Total",
            "TotalRecords",
            "PageSize",
            "RecordsOnPage",
            "Page",
            "CurrentPage",
            "TotalPages",
        }
        assert (body["Total"], body["TotalRecords"], body["PageSize"]) == (total, total, 20)
        assert body["Page"] == body["CurrentPage"] == page and body["RecordsOnPage"] == len(body["Data"])
        seen += [p["Label"] for p in body["Data"]]
        if page >= body["TotalPages"]:
            break
        page += 1
    assert len(seen) == len(set(seen)) == total


def test_page_size_above_20_is_refused(metrc_sandbox):
    r = get(metrc_sandbox, "/packages/v2/active", licenseNumber=PB_DIST, pageSize=21)
    assert r.status_code == 400 and "pageSize" in r.json()["Message"]


def test_last_modified_window_longer_than_24_hours_is_refused(metrc_sandbox):
    end = sandbox_now(metrc_sandbox)
    long = get(
        metrc_sandbox,
        "/packages/v2/active",
        licenseNumber=PB_DIST,
        lastModifiedStart=iso(end - timedelta(hours=24, seconds=1)),
        lastModifiedEnd=iso(end),
    )
    assert long.status_code == 400 and "24 hours" in long.json()["Message"]
    ok = get(
        metrc_sandbox,
        "/packages/v2/active",
        licenseNumber=PB_DIST,
        lastModifiedStart=iso(end - timedelta(hours=24)),
        lastModifiedEnd=iso(end),
    )
    assert ok.status_code == 200
    half = get(metrc_sandbox, "/packages/v2/active", licenseNumber=PB_DIST, lastModifiedStart=iso(end))
    assert half.status_code == 400


def test_clock_moves_last_modified_into_a_later_window(metrc_sandbox):
    label = shippable(metrc_sandbox, 1)[0]["Label"]
    metrc_sandbox.advance_clock(3 * 86400)
    metrc_sandbox.set_package(PB_DIST, label, on_hold=True)
    end = sandbox_now(metrc_sandbox) + timedelta(seconds=1)
    window = {"lastModifiedStart": iso(end - timedelta(hours=1)), "lastModifiedEnd": iso(end)}
    changed = get(metrc_sandbox, "/packages/v2/active", licenseNumber=PB_DIST, **window).json()["Data"]
    assert [p["Label"] for p in changed] == [label]
    assert changed[0]["IsOnHold"] is True
    assert datetime.fromisoformat(changed[0]["LastModified"]) > datetime.now(UTC) + timedelta(days=2)
    onhold = get(metrc_sandbox, "/packages/v2/onhold", licenseNumber=PB_DIST).json()["Data"]
    assert [p["Label"] for p in onhold] == [label]


def test_write_above_10_objects_is_413(metrc_sandbox):
    labels = [p["Label"] for p in shippable(metrc_sandbox, 1)]
    body = [template(f"T{i}", labels) for i in range(11)]
    r = post(metrc_sandbox, "/transfers/v2/templates/outgoing", body, licenseNumber=PB_DIST)
    assert r.status_code == 413 and "10" in r.json()["Message"]
    assert metrc_sandbox.templates() == []


def test_validation_errors_are_row_message_arrays(metrc_sandbox):
    good = shippable(metrc_sandbox, 1)[0]["Label"]
    metrc_sandbox.set_package(PB_DIST, good, on_hold=True)
    body = [template("ok-name", ["1A4000000000000000000000"]), template("held", [good])]
    r = post(metrc_sandbox, "/transfers/v2/templates/outgoing", body, licenseNumber=PB_DIST)
    assert r.status_code == 400
    errors = r.json()
    assert [e["row"] for e in errors] == [0, 1]
    assert "1A4000000000000000000000" in errors[0]["message"] and "on hold" in errors[1]["message"]
    assert metrc_sandbox.templates() == []  # nothing stored when one object fails


def test_get_rate_limit_per_facility_answers_429_with_retry_after(metrc_sandbox):
    # a 30 s window, so that 12 calls fall inside it however slow the machine is
    metrc_sandbox.settings(facility_gets_per_second=5, vendor_gets_per_second=1000, rate_window_seconds=30)
    codes = [get(metrc_sandbox, "/transfers/v2/types", licenseNumber=PB_DIST) for _ in range(12)]
    limited = [r for r in codes if r.status_code == 429]
    assert [r.status_code for r in codes] == [200] * 5 + [429] * 7
    assert int(limited[0].headers["Retry-After"]) >= 1
    assert PB_DIST in limited[0].json()["Message"]
    # another facility has its own budget
    assert get(metrc_sandbox, "/transfers/v2/types", licenseNumber=PB_KITCHEN).status_code == 200
    calls = metrc_sandbox.calls()
    assert calls["by_status"]["429"] == len(limited)
    assert calls["peak_gets_per_second_by_facility"][PB_DIST] <= 5
    assert 1 <= int(limited[0].headers["Retry-After"]) <= 30


def test_get_rate_limit_per_vendor_key_spans_facilities(metrc_sandbox):
    metrc_sandbox.settings(facility_gets_per_second=1000, vendor_gets_per_second=6, rate_window_seconds=30)
    results = [
        get(metrc_sandbox, "/transfers/v2/types", licenseNumber=lic).status_code for lic in [PB_DIST, PB_KITCHEN] * 6
    ]
    assert results == [200] * 6 + [429] * 6


def test_default_limits_are_50_per_facility_and_150_per_vendor_key(metrc_sandbox):
    with httpx.Client(base_url=metrc_sandbox.base_url, auth=metrc_sandbox.auth()) as client:
        codes = [client.get("/transfers/v2/types", params={"licenseNumber": PB_DIST}).status_code for _ in range(60)]
    if codes.count(429) == 0:  # the machine was too slow to make 51 calls inside one second
        pytest.skip("could not issue 51 GETs within one second on this machine")
    assert codes[:50].count(429) == 0


# -- faults ------------------------------------------------------------------------------------


def test_fault_latency(metrc_sandbox):
    metrc_sandbox.fault(latency_ms=400)
    start = time.monotonic()
    assert get(metrc_sandbox, "/transfers/v2/types", licenseNumber=PB_DIST).status_code == 200
    assert time.monotonic() - start >= 0.4


def test_fault_next_n_500s_then_recovery(metrc_sandbox):
    metrc_sandbox.fault(error_next=2)
    codes = [get(metrc_sandbox, "/transfers/v2/types", licenseNumber=PB_DIST).status_code for _ in range(3)]
    assert codes == [500, 500, 200]
    metrc_sandbox.fault(error_rate=1.0)
    r = get(metrc_sandbox, "/facilities/v2")
    assert r.status_code == 500 and "Message" in r.json()


def test_faults_can_target_one_path_prefix(metrc_sandbox):
    metrc_sandbox.fault(error_rate=1.0, path_prefix="/transfers/")
    assert get(metrc_sandbox, "/transfers/v2/types", licenseNumber=PB_DIST).status_code == 500
    assert get(metrc_sandbox, "/packages/v2/active", licenseNumber=PB_DIST, pageSize=1).status_code == 200


def test_fault_429_storm_with_retry_after(metrc_sandbox):
    metrc_sandbox.fault(storm_next=2, retry_after=3)
    first = get(metrc_sandbox, "/facilities/v2")
    assert first.status_code == 429 and first.headers["Retry-After"] == "3"
    assert get(metrc_sandbox, "/facilities/v2").status_code == 429
    assert get(metrc_sandbox, "/facilities/v2").status_code == 200
    metrc_sandbox.fault(storm_seconds=2.0, retry_after=1)
    assert get(metrc_sandbox, "/facilities/v2").status_code == 429
    time.sleep(2.2)
    assert get(metrc_sandbox, "/facilities/v2").status_code == 200


def test_fault_timeout_after_the_write_was_applied(metrc_sandbox):
    labels = [p["Label"] for p in shippable(metrc_sandbox, 1)]
    metrc_sandbox.fault(stall_after_write=1, stall_seconds=5)
    with pytest.raises(httpx.ReadTimeout):
        post(
            metrc_sandbox,
            "/transfers/v2/templates/outgoing",
            [template("RU-100777", labels)],
            timeout=0.5,
            licenseNumber=PB_DIST,
        )
    listed = get(metrc_sandbox, "/transfers/v2/templates/outgoing", licenseNumber=PB_DIST).json()["Data"]
    assert [t["Name"] for t in listed] == ["RU-100777"]  # the client can find it by name before posting again


def test_fault_duplicate_and_shifted_pages(metrc_sandbox):
    def page(n):
        body = get(metrc_sandbox, "/packages/v2/active", licenseNumber=PB_DIST, pageNumber=n, pageSize=5).json()
        return [p["Label"] for p in body["Data"]]

    one, two = page(1), page(2)
    metrc_sandbox.fault(page_fault="duplicate", page_fault_next=1)
    assert page(2) == one
    assert page(2) == two  # used up
    metrc_sandbox.fault(page_fault="shift", page_fault_next=1, shift=-1)
    assert page(2) == [one[-1], *two[:-1]]
    bad = metrc_sandbox.control.post("/_sandbox/faults", json={"page_fault": "sideways"})
    assert bad.status_code == 400 and "page_fault" in bad.json()["error"]
