"""Helpers for the METRC sandbox tests: demo license numbers, authenticated calls, a transfer template body."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from tests.sandboxes import MetrcSandbox

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


def make_metrc_connection(session, license_row, base_url: str, user_key: str, *, enabled: bool = True):
    """An IntegrationConnection of `license_row` to METRC (the user key encrypted as the app stores it)."""
    from reup_app.models import IntegrationConnection
    from reup_app.models.types import utcnow
    from reup_app.security.crypto import encrypt_credentials

    now = utcnow()
    conn = IntegrationConnection(
        entity_id=license_row.entity_id,
        license_id=license_row.id,
        provider="metrc",
        base_url=base_url,
        credentials_encrypted=encrypt_credentials(license_row.id, "metrc", {"user_key": user_key}),
        enabled=enabled,
        created_at=now,
        updated_at=now,
    )
    session.add(conn)
    session.commit()
    return conn


def bind_license_number(session, license_row, number: str) -> None:
    """Give a test license a sandbox facility's number (licenses are unique by state and number, so an
    earlier test's license holding it in this database is renamed first)."""
    import uuid

    from sqlalchemy import update

    from reup_app.models import License

    session.execute(
        update(License)
        .where(License.state == license_row.state, License.number == number, License.id != license_row.id)
        .values(number=f"X-{uuid.uuid4().hex[:12]}")
    )
    license_row.number = number
    session.add(license_row)
    session.commit()


# -- the package sync: a license of ours that IS a sandbox facility -------------------------------

BENCH_USER_KEY = "bench-user-key"  # the sandbox's user key for bulk (BENCH-*) facilities


def new_package_label() -> str:
    import uuid

    return f"1A4T{uuid.uuid4().hex[:20].upper()}"


def make_metrc_connection_for_sync(session, sb: MetrcSandbox, license_number: str, *, entity=None):
    """(entity, license, connection): a wholesaler whose license `license_number` is a sandbox facility
    reached with the bench user key, the connection's base URL being the sandbox. The license's state
    is random so several tests can hold the same sandbox facility number in one database."""
    import random
    import string
    import uuid

    from sqlalchemy import select

    from reup_app.models import IntegrationConnection, License
    from reup_app.security.crypto import encrypt_credentials
    from tests.factories import make_entity, make_license

    entity = entity or make_entity(session, "wholesaler")
    taken = set(session.execute(select(License.state).where(License.number == license_number)).scalars())
    rng = random.Random(uuid.uuid4().int)  # not the test's seeded global random
    state = rng.choice(sorted({a + b for a in string.ascii_uppercase for b in string.ascii_uppercase} - taken))
    lic = make_license(session, entity, number=license_number, state=state)
    conn = IntegrationConnection(
        entity_id=entity.id,
        license_id=lic.id,
        provider="metrc",
        base_url=sb.base_url,
        credentials_encrypted=encrypt_credentials(lic.id, "metrc", {"user_key": BENCH_USER_KEY}),
    )
    session.add(conn)
    session.commit()
    session.refresh(conn)
    return entity, lic, conn
