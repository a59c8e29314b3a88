"""The METRC sandbox over a real socket with plain httpx: auth, licenses, paging, windows, limits, faults, flow."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.sandboxes import MetrcSandbox, SandboxProcess

PB_DIST = "C11-0000347-LIC"  # Pacific Bloom distributor (demo seed)
PB_KITCHEN = "CDPH-10003412"
EC_DIST = "C11-0001172-LIC"  # Emerald Coast
GREENLEAF = "C10-0000712-LIC"  # retailer


def get(sb: MetrcSandbox, path: str, company: str = "pacificbloom", **params) -> httpx.Response:
    return httpx.get(sb.base_url + path, params=params, auth=sb.auth(company), timeout=30)


def post(sb: MetrcSandbox, path: str, body, company: str = "pacificbloom", timeout: float = 30, **params):
    return httpx.post(sb.base_url + path, params=params, json=body, auth=sb.auth(company), timeout=timeout)


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sandbox_now(sb: MetrcSandbox) -> datetime:
    return datetime.fromisoformat(sb.now())


def shippable(sb: MetrcSandbox, n: int = 2) -> list[dict]:
    """Passed, not-on-hold packages of Pacific Bloom that Greenleaf has never received."""
    rows = get(sb, "/packages/v2/active", licenseNumber=PB_DIST).json()["Data"]
    held = {p["Label"] for p in get(sb, "/packages/v2/active", "greenleaf", licenseNumber=GREENLEAF).json()["Data"]}
    ok = [
        p
        for p in rows
        if p["LabTestingState"] == "TestPassed" and not p["IsOnHold"] and p["Quantity"] > 0 and p["Label"] not in held
    ]
    assert len(ok) >= n
    return ok[:n]


def template(name: str, labels: list[str], recipient: str = GREENLEAF) -> dict:
    return {
        "Name": name,
        "TransporterFacilityLicenseNumber": PB_DIST,
        "DriverName": "Dana Driver",
        "DriverOccupationalLicenseNumber": "D-100",
        "DriverLicenseNumber": "CA-D1234567",
        "PhoneNumberForQuestions": "15105550142",
        "VehicleMake": "Ford",
        "VehicleModel": "Transit",
        "VehicleLicensePlateNumber": "8ABC123",
        "Destinations": [
            {
                "RecipientLicenseNumber": recipient,
                "TransferTypeName": "Wholesale",
                "PlannedRoute": "I-80 W to US-101 S",
                "EstimatedDepartureDateTime": "2026-11-30T09:00:00.000",
                "EstimatedArrivalDateTime": "2026-11-30T11:00:00.000",
                "Packages": [{"PackageLabel": label, "WholesalePrice": 100.5} for label in labels],
            }
        ],
    }


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


# -- template -> transfer -> receive ------------------------------------------------------------


def test_template_registration_manifest_and_receiving(metrc_sandbox):
    sb = metrc_sandbox
    accepted, rejected = shippable(sb, 2)
    labels = [accepted["Label"], rejected["Label"]]
    r = post(sb, "/transfers/v2/templates/outgoing", [template("RU-100900", labels)], licenseNumber=PB_DIST)
    assert r.status_code == 200
    ids = r.json()["Ids"]
    assert r.json()["Warnings"] is None and len(ids) == 1
    listed = get(sb, "/transfers/v2/templates/outgoing", licenseNumber=PB_DIST).json()["Data"]
    assert listed[0]["Id"] == ids[0] and listed[0]["ManifestNumber"] is None
    before = {t["ManifestNumber"] for t in get(sb, "/transfers/v2/outgoing", licenseNumber=PB_DIST).json()["Data"]}

    manifest = sb.register_template(ids[0])["ManifestNumber"]
    assert len(manifest) == 10 and manifest.isdigit()
    out = get(sb, "/transfers/v2/outgoing", licenseNumber=PB_DIST).json()["Data"]
    assert {t["ManifestNumber"] for t in out} == before | {manifest}
    out = [t for t in out if t["ManifestNumber"] == manifest]
    assert out[0]["RecipientFacilityLicenseNumber"] == GREENLEAF and out[0]["PackageCount"] == 2
    incoming = get(sb, "/transfers/v2/incoming", "greenleaf", licenseNumber=GREENLEAF).json()["Data"]
    assert manifest in [t["ManifestNumber"] for t in incoming]
    active = {p["Label"] for p in get(sb, "/packages/v2/active", licenseNumber=PB_DIST).json()["Data"]}
    assert not active & set(labels)  # in transit: out of the shipper's active inventory

    deliveries = get(sb, f"/transfers/v2/{out[0]['Id']}/deliveries").json()["Data"]
    delivery_id = deliveries[0]["Id"]
    assert delivery_id == out[0]["DeliveryId"]
    lines = get(sb, f"/transfers/v2/deliveries/{delivery_id}/packages").json()["Data"]
    assert {x["ShipmentPackageState"] for x in lines} == {"Shipped"}

    received_qty = accepted["Quantity"] - 1
    sb.receive(
        manifest,
        [
            {"label": accepted["Label"], "received_quantity": received_qty},
            {"label": rejected["Label"], "accepted": False},
        ],
    )
    lines = {x["PackageLabel"]: x for x in get(sb, f"/transfers/v2/deliveries/{delivery_id}/packages").json()["Data"]}
    assert lines[accepted["Label"]]["ShipmentPackageState"] == "Accepted"
    assert lines[accepted["Label"]]["ReceivedQuantity"] == received_qty
    assert lines[rejected["Label"]]["ShipmentPackageState"] == "Rejected"
    assert lines[rejected["Label"]]["ReceivedQuantity"] is None
    prices = get(sb, f"/transfers/v2/deliveries/{delivery_id}/packages/wholesale", "greenleaf").json()["Data"]
    assert {p["ShipperWholesalePrice"] for p in prices} == {100.5}

    shipper_active = {p["Label"] for p in get(sb, "/packages/v2/active", licenseNumber=PB_DIST).json()["Data"]}
    shipper_inactive = {p["Label"] for p in get(sb, "/packages/v2/inactive", licenseNumber=PB_DIST).json()["Data"]}
    assert rejected["Label"] in shipper_active and accepted["Label"] in shipper_inactive
    mine = get(sb, f"/packages/v2/{accepted['Label']}", "greenleaf", licenseNumber=GREENLEAF).json()
    assert mine["Quantity"] == received_qty and mine["ReceivedFromManifestNumber"] == manifest
    assert get(sb, f"/packages/v2/{accepted['Label']}", "greenleaf").json()["Quantity"] == received_qty
    done = get(sb, "/transfers/v2/outgoing", licenseNumber=PB_DIST).json()["Data"]
    done = next(t for t in done if t["ManifestNumber"] == manifest)
    assert done["ReceivedDeliveryCount"] == 1 and done["ReceivedDateTime"] is not None


def test_template_registers_itself_after_the_configured_delay(metrc_sandbox):
    metrc_sandbox.settings(register_after_seconds=600)
    labels = [p["Label"] for p in shippable(metrc_sandbox, 1)]
    before = get(metrc_sandbox, "/transfers/v2/outgoing", licenseNumber=PB_DIST).json()["Total"]
    post(metrc_sandbox, "/transfers/v2/templates/outgoing", [template("RU-100901", labels)], licenseNumber=PB_DIST)
    assert get(metrc_sandbox, "/transfers/v2/outgoing", licenseNumber=PB_DIST).json()["Total"] == before
    metrc_sandbox.advance_clock(601)
    out = get(metrc_sandbox, "/transfers/v2/outgoing", licenseNumber=PB_DIST).json()["Data"]
    assert len(out) == before + 1 and out[-1]["ManifestNumber"]  # oldest LastModified first
    assert [t["Id"] for t in metrc_sandbox.templates() if t["Name"] == "RU-100901"] and out[-1]["Name"] is None


def test_delete_template(metrc_sandbox):
    labels = [p["Label"] for p in shippable(metrc_sandbox, 1)]
    ids = post(
        metrc_sandbox, "/transfers/v2/templates/outgoing", [template("gone", labels)], licenseNumber=PB_DIST
    ).json()["Ids"]
    url = f"{metrc_sandbox.base_url}/transfers/v2/templates/outgoing/{ids[0]}"
    assert httpx.delete(url, params={"licenseNumber": PB_DIST}, auth=metrc_sandbox.auth()).status_code == 200
    assert get(metrc_sandbox, "/transfers/v2/templates/outgoing", licenseNumber=PB_DIST).json()["Total"] == 0
    again = httpx.delete(url, params={"licenseNumber": PB_DIST}, auth=metrc_sandbox.auth())
    assert again.status_code == 400 and again.json()[0]["row"] == 0


def test_package_by_label_and_lab_state_mutation(metrc_sandbox):
    label = shippable(metrc_sandbox, 1)[0]["Label"]
    metrc_sandbox.set_package(PB_DIST, label, lab_state="TestFailed", quantity=3)
    p = get(metrc_sandbox, f"/packages/v2/{label}", licenseNumber=PB_DIST).json()
    assert (p["LabTestingState"], p["Quantity"]) == ("TestFailed", 3.0)
    assert get(metrc_sandbox, f"/packages/v2/{label}", "greenleaf").status_code == 404
    bad = metrc_sandbox.control.post(
        f"/_sandbox/metrc/packages/{label}", json={"license_number": PB_DIST, "lab_state": "Great"}
    )
    assert bad.status_code == 400


# -- seed and benchmark data -------------------------------------------------------------------


def test_demo_seed_packages_match_reup_seed(metrc_sandbox):
    from sqlmodel import Session, SQLModel, create_engine, select

    import reup_app.models as m
    from reup_app.seed import seed_demo

    engine = create_engine("sqlite://")
    SQLModel.metadata.create_all(engine)
    with Session(engine) as s:
        seed_demo(s, now=datetime.now(UTC), password_hash="x")
        licenses = {lic.id: lic.number for lic in s.exec(select(m.License)).all()}
        expected = {
            (licenses[lot.license_id], lot.package_label): (float(lot.quantity_on_hand), lot.lab_test_state)
            for lot in s.exec(select(m.InventoryLot)).all()
        }
        manifests = {man.manifest_number for man in s.exec(select(m.ComplianceManifest)).all() if man.manifest_number}
    states = {"passed": "TestPassed", "failed": "TestFailed", "submitted": "SubmittedForTesting"}
    got = {}
    for company, lics in (("pacificbloom", [PB_DIST, PB_KITCHEN]), ("emeraldcoast", [EC_DIST])):
        for lic in lics:
            for p in get(metrc_sandbox, "/packages/v2/active", company, licenseNumber=lic).json()["Data"]:
                got[(lic, p["Label"])] = (p["Quantity"], p["LabTestingState"])
    assert len(expected) > 100
    assert got == {k: (q, states[s]) for k, (q, s) in expected.items()}
    # the demo's received manifests exist in METRC as received transfers the buyers can see
    incoming = set()
    for company, lic in (("greenleaf", GREENLEAF), ("canopy", "C10-0001456-LIC"), ("canopy", "C10-0002089-LIC")):
        for t in get(metrc_sandbox, "/transfers/v2/incoming", company, licenseNumber=lic).json()["Data"]:
            assert t["ReceivedDateTime"] is not None
            incoming.add(t["ManifestNumber"])
    assert manifests and incoming == manifests


def test_bulk_packages_for_the_benchmark(metrc_sandbox):
    made = metrc_sandbox.bulk(facilities=5, packages=2000, days=2)
    assert len(made["facilities"]) == 5
    auth = (metrc_sandbox.VENDOR_KEY, made["user_key"])
    r = httpx.get(
        metrc_sandbox.base_url + "/packages/v2/active",
        params={"licenseNumber": made["facilities"][0], "pageSize": 20},
        auth=auth,
    )
    assert r.json()["Total"] == 400
    metrc_sandbox.reset()
    assert httpx.get(metrc_sandbox.base_url + "/facilities/v2", auth=auth).status_code == 401


def test_call_log_counts_per_path_and_facility(metrc_sandbox):
    for _ in range(3):
        get(metrc_sandbox, "/packages/v2/active", licenseNumber=PB_DIST, pageSize=1)
    get(metrc_sandbox, "/packages/v2/active", licenseNumber=PB_KITCHEN, pageSize=1)
    calls = metrc_sandbox.calls()
    assert calls["by_path"]["GET /packages/v2/active"] == 4
    assert calls["by_facility"][PB_DIST] == 3 and calls["by_facility"][PB_KITCHEN] == 1


def test_reup_cli_serves_the_sandbox_and_rejects_a_bad_port():
    from reup_app.cli import build_parser, main

    args = build_parser().parse_args(["sandbox", "metrc", "--port", "8101", "--seed", "empty"])
    assert (args.vendor, args.port, args.seed) == ("metrc", 8101, "empty")
    assert main(["sandbox", "metrc", "--port", "70000"]) == 1
    process = SandboxProcess("metrc", "--seed", "empty", module="reup_app.cli", extra_first=["sandbox"])
    try:
        assert httpx.get(process.base_url + "/_sandbox/health").json()["vendor"] == "metrc"
    finally:
        process.stop()


def test_state_file_survives_a_restart(tmp_path):
    state = tmp_path / "metrc.state"
    for attempt in range(2):
        process = SandboxProcess("metrc", "--seed", "empty", "--state-file", str(state))
        sb = MetrcSandbox(process)
        try:
            if attempt == 0:
                sb.bulk(facilities=1, packages=3, days=1)
            auth = (sb.VENDOR_KEY, "bench-user-key")
            r = httpx.get(sb.base_url + "/packages/v2/active", params={"licenseNumber": "BENCH-00001-LIC"}, auth=auth)
            assert r.json()["Total"] == 3
        finally:
            sb.close()
            process.stop()
