"""METRC-specific control endpoints under /_sandbox/metrc/ (JSON), for tests and demos.

GET  /_sandbox/metrc/credentials                       vendor keys, user keys and their licenses
GET  /_sandbox/metrc/templates                         every template with its transfer (if registered)
POST /_sandbox/metrc/templates/{id}/register           the licensee registers it: {TransferId, ManifestNumber, ...}
POST /_sandbox/metrc/receive  {"manifest_number": "...", "packages": [{"label": ..., "accepted": false}, ...]}
POST /_sandbox/metrc/packages {"license_number", "label", "item", "quantity", ...}   create a package
POST /_sandbox/metrc/packages/{label} {"license_number", "on_hold", "lab_state", "quantity", "finished"}
POST /_sandbox/metrc/bulk     {"facilities": 5, "packages": 20000, "days": 7}
POST /_sandbox/metrc/settings {"register_after_seconds": 5 | null, "facility_gets_per_second": 50, ...}
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal, InvalidOperation

from starlette.requests import Request
from starlette.routing import BaseRoute

from reup_app.sandboxes.app import ControlError, control_route, json_body
from reup_app.sandboxes.metrc.routes import MetrcApi
from reup_app.sandboxes.metrc.seed import add_bulk
from reup_app.sandboxes.metrc.store import LAB_STATES, Item, Package
from reup_app.sandboxes.metrc.transfers import receive_delivery, register_template


def _decimal(name: str, value) -> Decimal:
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise ControlError(f"{name} must be a number, not {value!r}") from None
    if result < 0:
        raise ControlError(f"{name} must not be negative")
    return result


def _transfer_summary(transfer) -> dict:
    return {
        "TransferId": transfer.id,
        "ManifestNumber": transfer.manifest_number,
        "ShipperLicenseNumber": transfer.license_number,
        "TemplateId": transfer.template_id,
        "DeliveryIds": [d.id for d in transfer.deliveries],
        "RecipientLicenseNumbers": [d.recipient_license for d in transfer.deliveries],
    }


class MetrcControl:
    """The METRC control endpoints over one `MetrcApi` (its store, clock, rules and registration delay)."""

    def __init__(self, api: MetrcApi) -> None:
        self.api, self.store, self.clock = api, api.store, api.ctx.clock

    async def credentials(self, request: Request):
        return {
            "vendor_keys": sorted(self.api.rules.vendor_keys),
            "user_keys": {k: sorted(v) for k, v in sorted(self.store.state.user_keys.items())},
        }

    async def templates(self, request: Request):
        self.api.register_due()
        with self.store.lock:
            return [
                {"Id": t.id, "Name": t.name, "LicenseNumber": t.license_number, "TransferId": t.transfer_id}
                for t in self.store.state.templates.values()
                if not t.deleted
            ]

    async def register(self, request: Request):
        template_id = int(request.path_params["id"])
        return _transfer_summary(register_template(self.store, template_id, self.clock.now()))

    async def receive(self, request: Request):
        body = await json_body(request)
        with self.store.lock:
            transfer = next(
                (t for t in self.store.state.transfers.values() if t.manifest_number == body.get("manifest_number")),
                None,
            )
            if transfer is None:
                raise LookupError(f"no transfer with manifest number {body.get('manifest_number')!r}")
            decisions = {}
            for entry in body.get("packages") or []:
                if not isinstance(entry, dict) or not isinstance(entry.get("label"), str):
                    raise ControlError('each package decision needs a "label"')
                decision: dict[str, bool | Decimal] = {"accepted": entry.get("accepted", True) is not False}
                if "received_quantity" in entry:
                    decision["received_quantity"] = _decimal("received_quantity", entry["received_quantity"])
                decisions[entry["label"]] = decision
            now = self.clock.now()
            delivery_ids = [d.id for d in transfer.deliveries if d.received_at is None]
            for delivery_id in delivery_ids:
                receive_delivery(self.store, delivery_id, decisions, now)
        return {**_transfer_summary(transfer), "Received": delivery_ids}

    async def create_package(self, request: Request):
        body = await json_body(request)
        number, label = body.get("license_number"), body.get("label")
        if number not in self.store.state.facilities:
            raise ControlError(f"unknown license_number {number!r}")
        if not isinstance(label, str) or len(label) != 24:
            raise ControlError("label must be a 24-character package tag")
        if self.store.package(number, label) is not None:
            raise ControlError(f"package {label} already exists at {number}")
        lab_state = body.get("lab_state", "TestPassed")
        if lab_state not in LAB_STATES:
            raise ControlError(f"lab_state must be one of {LAB_STATES}")
        now = self.clock.now()
        package = self.store.add_package(
            Package(
                id=self.store.state.next_id(),
                label=label,
                license_number=number,
                item=Item(
                    str(body.get("item", "Sandbox Item")),
                    str(body.get("category", "Flower")),
                    body.get("strain"),
                    str(body.get("unit", "Each")),
                ),
                quantity=_decimal("quantity", body.get("quantity", 1)),
                lab_state=lab_state,
                packaged_date=date.fromisoformat(body["packaged_date"]) if body.get("packaged_date") else now.date(),
                last_modified=now,
                on_hold=bool(body.get("on_hold", False)),
            )
        )
        return {"Id": package.id, "Label": package.label}

    async def update_package(self, request: Request):
        body = await json_body(request)
        label = request.path_params["label"]
        with self.store.lock:
            package = self.store.package(str(body.get("license_number")), label)
            if package is None:
                raise LookupError(f"no package {label} at {body.get('license_number')!r}")
            if "lab_state" in body and body["lab_state"] not in LAB_STATES:
                raise ControlError(f"lab_state must be one of {LAB_STATES}")
            if "quantity" in body:
                package.quantity = _decimal("quantity", body["quantity"])
            for key, attr in (("on_hold", "on_hold"), ("finished", "finished"), ("lab_state", "lab_state")):
                if key in body:
                    setattr(package, attr, body[key] if key == "lab_state" else bool(body[key]))
            package.last_modified = self.clock.now()
            self.store.touch()
            return {"Id": package.id, "Label": package.label, "LastModified": package.last_modified.isoformat()}

    async def bulk(self, request: Request):
        body = await json_body(request)
        with self.store.lock:
            return add_bulk(
                self.store.state,
                self.clock.now(),
                facilities=int(body.get("facilities", 5)),
                packages=int(body.get("packages", 20_000)),
                days=int(body.get("days", 7)),
            ) | {"total_packages": self.store.refresh_index()}

    async def settings(self, request: Request):
        body = await json_body(request)
        if "register_after_seconds" in body:
            value = body["register_after_seconds"]
            self.api.register_after = None if value is None else float(_decimal("register_after_seconds", value))
        limits = self.api.rules.limits
        new = replace(
            limits,
            facility_gets_per_second=int(body.get("facility_gets_per_second", limits.facility_gets_per_second)),
            vendor_gets_per_second=int(body.get("vendor_gets_per_second", limits.vendor_gets_per_second)),
            rate_window_seconds=float(body.get("rate_window_seconds", limits.rate_window_seconds)),
        )
        if new.facility_gets_per_second < 1 or new.vendor_gets_per_second < 1 or new.rate_window_seconds <= 0:
            raise ControlError("rate limits must be at least 1 call per window, and the window longer than 0 s")
        self.api.rules.set_limits(new)
        return {
            "register_after_seconds": self.api.register_after,
            "facility_gets_per_second": new.facility_gets_per_second,
            "vendor_gets_per_second": new.vendor_gets_per_second,
            "rate_window_seconds": new.rate_window_seconds,
        }

    def routes(self) -> list[BaseRoute]:
        return [
            control_route("/_sandbox/metrc/credentials", self.credentials, ["GET"]),
            control_route("/_sandbox/metrc/templates", self.templates, ["GET"]),
            control_route("/_sandbox/metrc/templates/{id:int}/register", self.register, ["POST"]),
            control_route("/_sandbox/metrc/receive", self.receive, ["POST"]),
            control_route("/_sandbox/metrc/packages", self.create_package, ["POST"]),
            control_route("/_sandbox/metrc/packages/{label}", self.update_package, ["POST"]),
            control_route("/_sandbox/metrc/bulk", self.bulk, ["POST"]),
            control_route("/_sandbox/metrc/settings", self.settings, ["POST"]),
        ]


def metrc_control_routes(api: MetrcApi) -> list[BaseRoute]:
    return MetrcControl(api).routes()
