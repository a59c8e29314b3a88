"""A small METRC-like server handler for client and outbox tests (the full sandbox is
reup_app/sandboxes/metrc): Basic auth, licenseNumber, the paging wrapper, 24 h windows, 10-object
writes, and `slow_posts` (answer the next N template POSTs late, after applying them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reup_app.integrations.metrc import MetrcCredentials
from tests.vendor_server import Reply

CREDS = MetrcCredentials("vendor-key-1234", "user-key-5678")
LIC = "403R-00001"
T0 = datetime(2026, 11, 20, tzinfo=UTC)


def _t(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


class FakeMetrc:
    """Just enough METRC for the client: packages by lastModified, templates, transfer types."""

    def __init__(self, *, camel: bool = False, bare_types: bool = True) -> None:
        self.packages = [
            {"Id": i, "Label": f"1A4000000000000000{i:06d}", "Quantity": "10.5", "LabTestingState": "TestPassed",
             "IsOnHold": i % 7 == 0, "LastModified": (T0 + timedelta(hours=i)).isoformat(),
             "Item": {"Id": 9, "Name": "OG Kush 3.5g", "StrainName": "OG Kush"}}
            for i in range(1, 61)
        ]  # fmt: skip
        self.templates: list[dict] = []
        self.camel, self.bare_types = camel, bare_types
        self.slow_posts = 0
        self.no_totals = False  # a wrapper without TotalPages/TotalRecords
        self.slow_seconds = 1.5

    def wrap(self, rows, req) -> dict:
        size = int(req.query.get("pageSize", 0) or 0)
        page = int(req.query.get("pageNumber", 1) or 1)
        if size > 20:
            return None
        size = size or len(rows) or 1
        total_pages = max(1, -(-len(rows) // size))
        data = rows[(page - 1) * size : page * size]
        body = {"Data": data, "Total": len(rows), "TotalRecords": len(rows), "PageSize": size,
                "RecordsOnPage": len(data), "Page": page, "CurrentPage": page, "TotalPages": total_pages}  # fmt: skip
        if self.no_totals:
            body = {"Data": data}
        return {k[0].lower() + k[1:]: v for k, v in body.items()} if self.camel else body

    def __call__(self, req) -> Reply:
        if req.auth != (CREDS.vendor_key, CREDS.user_key):
            return Reply(401, None)
        if req.path == "/facilities/v2":
            return Reply(200, [{"Name": "Greenleaf", "DisplayName": "Greenleaf Wholesale",
                                "License": {"Number": LIC, "LicenseType": "Distributor"}}])  # fmt: skip
        if req.query.get("licenseNumber") != LIC:
            return Reply(403, {"Message": "No access to this license"})
        if int(req.query.get("pageSize", 0) or 0) > 20:
            return Reply(400, {"Message": "pageSize must not exceed 20"})
        start, end = req.query.get("lastModifiedStart"), req.query.get("lastModifiedEnd")
        if start and end and _t(end) - _t(start) > timedelta(hours=24):
            return Reply(400, {"Message": "The time period may not exceed 24 hours"})
        if req.path == "/packages/v2/active":
            rows = [p for p in self.packages if _t(start) <= _t(p["LastModified"]) <= _t(end)]
            return Reply(200, self.wrap(rows, req))
        if req.path == "/transfers/v2/types":
            rows = [{"Name": "Wholesale Manifest", "ForLicensedShipments": True, "TransactionType": "Wholesale"}]
            return Reply(200, rows if self.bare_types else self.wrap(rows, req))
        if req.path == "/transfers/v2/templates/outgoing" and req.method == "POST":
            if len(req.body) > 10:
                return Reply(413, {"Message": "Too many objects"})
            ids = []
            for obj in req.body:
                self.templates.append({"Id": 100 + len(self.templates), "Name": obj["Name"],
                                       "LastModified": datetime.now(UTC).isoformat()})  # fmt: skip
                ids.append(self.templates[-1]["Id"])
            delay = 0.0
            if self.slow_posts > 0:
                self.slow_posts -= 1
                delay = self.slow_seconds
            return Reply(200, {"Ids": ids, "Warnings": None}, delay=delay)
        if req.path == "/transfers/v2/templates/outgoing":
            rows = [t for t in self.templates if _t(start) <= _t(t["LastModified"]) <= _t(end)]
            return Reply(200, self.wrap(rows, req))
        if req.path.startswith("/packages/v2/"):
            label = req.path.rsplit("/", 1)[1]
            found = [p for p in self.packages if p["Label"] == label]
            return Reply(200, found[0]) if found else Reply(404, {"Message": "Package not found"})
        return Reply(404, {"Message": f"no route {req.path}"})
