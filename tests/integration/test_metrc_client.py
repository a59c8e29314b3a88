"""The METRC v2 client against a small METRC-like server in the test (real sockets): Basic auth,
licenseNumber on every call, pageSize <= 20 and the Data wrapper (or a bare list), 24-hour windows
oldest first with look-back, chunked writes, and the reconcile-first template lookup.
(Tests against the full METRC sandbox come with it.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reup_app.integrations.errors import AuthFailed, Rejected
from reup_app.integrations.http.ratelimit import MemoryRateLimiter
from reup_app.integrations.http.transport import RetryPolicy, close_all_clients
from reup_app.integrations.metrc import MetrcClient, MetrcCredentials
from reup_app.integrations.metrc.paging import Window, chunks, unwrap, windows
from tests.fake_metrc import CREDS, LIC, T0, FakeMetrc
from tests.vendor_server import VendorServer


@pytest.fixture(autouse=True)
def _close():
    yield
    close_all_clients()


def client(url: str) -> MetrcClient:
    return MetrcClient(url, CREDS, limiter=MemoryRateLimiter(), retry=RetryPolicy(attempts=2, base=0.01, cap=0.02))


@pytest.mark.parametrize(("camel", "no_totals"), [(False, False), (True, False), (False, True)])
def test_package_windows_walk_oldest_first_with_paging(camel, no_totals):
    fake = FakeMetrc(camel=camel)
    fake.no_totals = no_totals
    with VendorServer(fake) as server:
        c = client(server.url)
        since, until = T0 + timedelta(hours=2), T0 + timedelta(hours=61)
        walked = list(c.package_windows("active", LIC, since, until))
    starts = [w.start for w, _ in walked]
    assert starts == sorted(starts) and starts[0] == since - timedelta(minutes=65)
    assert all(w.end - w.start <= timedelta(hours=24) for w, _ in walked) and walked[-1][0].end == until
    labels = [p.label for _, batch in walked for p in batch]
    assert len(labels) == len(set(labels)) == 60  # ids 1..60: hour 1 is inside the 65 min look-back
    reqs = server.requests("GET", "/packages/v2/active")
    assert all(r.query["licenseNumber"] == LIC and r.query["pageSize"] == "20" for r in reqs)
    assert {r.query["pageNumber"] for r in reqs} == {"1", "2"}  # 24 records in a full window: two pages
    assert all(r.query["lastModifiedStart"].endswith("Z") for r in reqs)
    pkg = walked[0][1][0]
    assert pkg.item.strain_name == "OG Kush" and str(pkg.quantity) == "10.5" and pkg.lab_testing_state == "TestPassed"


def test_bare_list_and_facilities_and_label_lookup():
    with VendorServer(FakeMetrc()) as server:
        c = client(server.url)
        assert [t.name for t in c.transfer_types(LIC)] == ["Wholesale Manifest"]
        facilities = c.facilities()
        assert facilities[0].license_number == LIC and facilities[0].name == "Greenleaf Wholesale"
        assert "licenseNumber" not in server.requests("GET", "/facilities/v2")[0].query  # the spec has none
        assert c.package_by_label(LIC, "1A4000000000000000000003").id == 3
        assert c.package_by_label(LIC, "1A4000000000000000999999") is None


def test_writes_are_chunked_by_ten_and_found_by_name():
    fake = FakeMetrc()
    with VendorServer(fake) as server:
        c = client(server.url)
        result = c.create_outgoing_templates(LIC, [{"Name": f"ReUp ORD-{i}"} for i in range(23)])
        assert len(result.ids) == 23 and [len(r.body) for r in server.requests("POST")] == [10, 10, 3]
        now = datetime.now(UTC)
        found = c.find_outgoing_template(LIC, "ReUp ORD-22", now - timedelta(hours=30), now + timedelta(minutes=1))
        assert found is not None and found.id == result.ids[22]
        assert c.find_outgoing_template(LIC, "ReUp ORD-99", now - timedelta(hours=1), now) is None


def test_typed_errors_and_guards():
    with VendorServer(FakeMetrc()) as server:
        bad = MetrcClient(
            server.url, MetrcCredentials("vendor-key-1234", "wrong-key-0000"), limiter=MemoryRateLimiter()
        )
        with pytest.raises(AuthFailed):
            bad.facilities()
        with pytest.raises(Rejected) as err:
            client(server.url).packages("active", LIC, Window(T0, T0 + timedelta(hours=30)))
        assert "24 hours" in err.value.vendor_message
        with pytest.raises(ValueError):
            client(server.url).packages("sold", LIC, Window(T0, T0 + timedelta(hours=1)))
    with pytest.raises(ValueError):
        MetrcClient("http://x", MetrcCredentials("", "k"))
    assert "1234" not in repr(CREDS)


def test_paging_helpers():
    assert unwrap([{"Id": 1}]).records == [{"Id": 1}]
    assert unwrap({"data": [1, 2], "totalPages": "3", "currentPage": 2}).total_pages == 3
    with pytest.raises(ValueError):
        unwrap({"Items": []})
    w = windows(T0, T0 + timedelta(hours=50), lookback=timedelta(0))
    assert [x.end - x.start for x in w] == [timedelta(hours=24), timedelta(hours=24), timedelta(hours=2)]
    assert w[0].params() == {"lastModifiedStart": "2026-11-20T00:00:00Z", "lastModifiedEnd": "2026-11-21T00:00:00Z"}
    assert [len(c) for c in chunks(list(range(21)))] == [10, 10, 1]
    with pytest.raises(ValueError):
        list(chunks([1], 11))
    with pytest.raises(ValueError):
        windows(T0, T0 + timedelta(hours=1), size=timedelta(hours=25))


def test_from_settings_uses_the_vendor_key_and_limits(monkeypatch):
    from reup_app.settings import load_settings

    monkeypatch.setenv("REUP_METRC_FACILITY_GETS_PER_SECOND", "40")
    monkeypatch.delenv("REUP_METRC_VENDOR_KEY", raising=False)
    monkeypatch.delenv("REUP_REDIS_URL", raising=False)
    with pytest.raises(ValueError, match="REUP_METRC_VENDOR_KEY"):
        MetrcClient.from_settings(load_settings(), "user-key")
    monkeypatch.setenv("REUP_METRC_VENDOR_KEY", CREDS.vendor_key)
    with VendorServer(FakeMetrc()) as server:
        c = MetrcClient.from_settings(load_settings(), CREDS.user_key, base_url=server.url)
        assert c.limits.facility_gets_per_second == 40 and c.facilities()[0].license_number == LIC
