"""Pure helpers of the integration layers: redaction, Retry-After parsing, records parsing, the
local lease."""

from __future__ import annotations

from decimal import Decimal

import pytest

from reup_app.integrations.http.transport import parse_retry_after, redact
from reup_app.integrations.metrc.records import Facility, Package, Transfer, WriteResult
from reup_app.jobs.lease import LocalLease


def test_redact_replaces_every_secret_and_ignores_empty_ones():
    assert redact("a=KEY1234&b=USER5678&c=KEY1234", ["KEY1234", "USER5678", None, ""]) == "a=***&b=***&c=***"


@pytest.mark.parametrize(
    ("raw", "seconds"), [("3", 3.0), (" 1.5 ", 1.5), ("-2", 0.0), ("Wed, 21 Oct 2026 07:28:00 GMT", None), (None, None)]
)
def test_parse_retry_after(raw, seconds):
    assert parse_retry_after(raw) == seconds


def test_records_parse_any_casing_and_missing_fields():
    pkg = Package.parse({"label": "1A4", "quantity": 2.5, "isOnHold": True, "item": {"strainName": "Haze"}})
    assert pkg.quantity == Decimal("2.5") and pkg.is_on_hold and pkg.item.strain_name == "Haze" and pkg.id is None
    with pytest.raises(ValueError):
        Package.parse({"Quantity": 1})
    assert Facility.parse({"Name": "X", "License": {"Number": "L-1"}}).license_number == "L-1"
    t = Transfer.parse({"Id": "7", "ManifestNumber": "0000123", "LastModified": "2026-11-20T10:00:00Z"})
    assert t.id == 7 and t.manifest_number == "0000123" and t.last_modified.tzinfo is not None
    assert WriteResult.parse({"Ids": [1, 2], "Warnings": None}) == WriteResult([1, 2], [])
    assert WriteResult.parse(None) == WriteResult()


def test_local_lease_always_leads_with_clock_tokens():
    a, b = LocalLease(), LocalLease()
    first = a.try_acquire()
    assert a.renew() and b.try_acquire() >= first
    a.release()
    assert not a.renew()
