"""The METRC sandbox over a real socket: template -> transfer -> ManifestNumber -> receive, the demo seed,
benchmark data, the call log, the `reup sandbox` command and the state file."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import httpx

from tests.metrc_kit import EC_DIST, GREENLEAF, PB_DIST, PB_KITCHEN, get, post, shippable, template
from tests.sandboxes import MetrcSandbox, SandboxProcess

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
    # per facility, counted on this path: the sandbox is shared by the worker's tests, and a call another
    # test's background job makes to another path after the reset must not count here
    active = Counter()
    for row in calls["rows"]:
        if (row["method"], row["path"]) == ("GET", "/packages/v2/active"):
            active[row["facility"]] += row["count"]
    assert active == {PB_DIST: 3, PB_KITCHEN: 1}
    assert calls["by_facility"][PB_KITCHEN] >= 1 and calls["by_facility"][PB_DIST] >= 3


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
