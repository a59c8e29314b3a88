"""The METRC v2 endpoints ReUp calls, with the same paths, query names and casing as the spec."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from typing import Literal, overload

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from reup_app.sandboxes.app import SandboxContext, VendorError
from reup_app.sandboxes.metrc import shapes
from reup_app.sandboxes.metrc.rules import Rules, in_window, message
from reup_app.sandboxes.metrc.store import MetrcStore, Package, Template, Transfer
from reup_app.sandboxes.metrc.transfers import TRANSFER_TYPES, RowErrors, create_templates, register_template


class MetrcApi:
    """Route handlers over one store; `register_after` (seconds) auto-registers templates as transfers."""

    def __init__(self, ctx: SandboxContext, store: MetrcStore, rules: Rules, register_after: float | None) -> None:
        self.ctx, self.store, self.rules = ctx, store, rules
        self.register_after = register_after

    # -- plumbing ---------------------------------------------------------------------------------

    @overload
    def _enter(self, request: Request, *, license_required: Literal[True] = True) -> tuple[set[str], str]: ...
    @overload
    def _enter(self, request: Request, *, license_required: bool) -> tuple[set[str], str | None]: ...
    def _enter(self, request: Request, *, license_required: bool = True) -> tuple[set[str], str | None]:
        """Auth, licenseNumber and (for GETs) the rate limits; also runs due template registrations."""
        vendor_key, permitted = self.rules.authenticate(request, self.store.state.user_keys)
        number = self.rules.license(request, permitted, required=license_required)
        if request.method == "GET":
            self.rules.throttle_get(vendor_key, number)
        self.register_due()
        return permitted, number

    def register_due(self) -> None:
        if self.register_after is None:
            return
        now = self.ctx.clock.now()
        with self.store.lock:
            due = [
                t.id
                for t in self.store.state.templates.values()
                if t.transfer_id is None and not t.deleted and (now - t.created).total_seconds() >= self.register_after
            ]
            for template_id in due:
                try:
                    register_template(self.store, template_id, now)
                except ValueError:
                    pass  # a package left inventory meanwhile; METRC would refuse the registration too

    # -- facilities and packages ------------------------------------------------------------------

    async def facilities(self, request: Request) -> Response:
        permitted, _ = self._enter(request, license_required=False)
        rows = [shapes.facility(f) for n, f in sorted(self.store.state.facilities.items()) if n in permitted]
        return JSONResponse(rows)  # the spec: a bare array, not the paging wrapper

    def _package_list(self, kind: str, keep: Callable[[Package], bool]):
        async def handler(request: Request) -> Response:
            _, number = self._enter(request)
            window = self.rules.window(request)
            rows = self.store.sorted_packages(number, kind, keep)
            if window is not None:  # rows are sorted by LastModified: cut the window out by bisection
                lo = bisect.bisect_left(rows, window[0], key=lambda p: p.last_modified)
                hi = bisect.bisect_right(rows, window[1], key=lambda p: p.last_modified)
                rows = rows[lo:hi]
            return JSONResponse(self.rules.page(request, rows, shapes.package))

        return handler

    async def package_by_label(self, request: Request) -> Response:
        permitted, number = self._enter(request, license_required=False)
        label = request.path_params["label"]
        licenses = [number] if number else sorted(permitted)
        with self.store.lock:
            found = [p for n in licenses if (p := self.store.package(n, label)) is not None]
            if not found and label.isdigit():
                p = self.store.state.packages.get(int(label))
                found = [p] if p is not None and p.license_number in licenses else []
        if not found:
            raise message(404, f"Package {label} was not found.")
        found.sort(key=lambda p: (not p.active, -p.id))  # the facility's live package first
        return JSONResponse(shapes.package(found[0]))

    # -- transfers --------------------------------------------------------------------------------

    async def types(self, request: Request) -> Response:
        self._enter(request)
        rows = [
            {
                **t,
                "ForExternalIncomingShipments": False,
                "ForExternalOutgoingShipments": False,
                "RequiresDestinationGrossWeight": False,
                "RequiresPackagesGrossWeight": False,
            }
            for t in TRANSFER_TYPES
        ]
        return JSONResponse(self.rules.page(request, rows))

    def _transfer_rows(self, request: Request, number: str, source: str) -> list[dict]:
        window = self.rules.window(request)
        state = self.store.state
        rows = []
        with self.store.lock:
            items: Iterable[Transfer | Template] = (
                state.templates.values() if source == "templates" else state.transfers.values()
            )
            for t in sorted(items, key=lambda t: (t.last_modified, t.id)):
                if getattr(t, "deleted", False) or not in_window(t.last_modified, window):
                    continue
                for d in t.deliveries:
                    mine = d.recipient_license == number if source == "incoming" else t.license_number == number
                    if mine:
                        shipper = state.facilities.get(t.license_number)
                        rows.append(shapes.transfer_row(t, d, shipper, state.facilities.get(d.recipient_license)))
        return rows

    async def outgoing(self, request: Request) -> Response:
        _, number = self._enter(request)
        return JSONResponse(self.rules.page(request, self._transfer_rows(request, number, "outgoing")))

    async def incoming(self, request: Request) -> Response:
        _, number = self._enter(request)
        return JSONResponse(self.rules.page(request, self._transfer_rows(request, number, "incoming")))

    async def templates(self, request: Request) -> Response:
        _, number = self._enter(request)
        if request.method == "GET":
            return JSONResponse(self.rules.page(request, self._transfer_rows(request, number, "templates")))
        body = self.rules.write_body(await request.body())
        try:
            ids = create_templates(self.store, number, body, self.ctx.clock.now())
        except RowErrors as err:
            raise VendorError(400, err.errors) from None
        return JSONResponse({"Ids": ids, "Warnings": None})

    async def delete_template(self, request: Request) -> Response:
        _, number = self._enter(request)
        template_id = _path_id(request)
        with self.store.lock:
            template = self.store.state.templates.get(template_id)
            if template is None or template.deleted or template.license_number != number:
                raise VendorError(400, [{"row": 0, "message": f"Transfer Template {template_id} was not found."}])
            template.deleted = True
            template.last_modified = self.ctx.clock.now()
        return Response(status_code=200)

    def _delivery_access(self, request: Request, permitted: set[str], transfer) -> None:
        parties = {transfer.license_number, *(d.recipient_license for d in transfer.deliveries)}
        if not parties & permitted:
            raise message(403, "The user does not have access to this transfer.")

    async def deliveries(self, request: Request) -> Response:
        permitted, _ = self._enter(request, license_required=False)
        transfer = self.store.state.transfers.get(_path_id(request))
        if transfer is None:
            raise message(404, f"Transfer {request.path_params['id']} was not found.")
        self._delivery_access(request, permitted, transfer)
        rows = [shapes.delivery(d, self.store.state.facilities.get(d.recipient_license)) for d in transfer.deliveries]
        return JSONResponse(self.rules.page(request, rows))

    def _delivery_packages(self, wholesale: bool):
        async def handler(request: Request) -> Response:
            permitted, _ = self._enter(request, license_required=False)
            found = self.store.transfer_by_delivery(_path_id(request))
            if found is None:
                raise message(404, f"Transfer delivery {request.path_params['id']} was not found.")
            transfer, delivery = found
            self._delivery_access(request, permitted, transfer)
            with self.store.lock:
                if wholesale:
                    rows = [shapes.wholesale_package(line) for line in delivery.packages]
                else:
                    packages = self.store.state.packages
                    rows = [shapes.delivery_package(line, packages[line.package_id]) for line in delivery.packages]
            return JSONResponse(self.rules.page(request, rows))

        return handler

    def routes(self) -> list[BaseRoute]:
        r = self.ctx.vendor_route
        return [
            r("/facilities/v2", self.facilities, ["GET"]),
            r("/facilities/v2/", self.facilities, ["GET"]),
            r("/packages/v2/active", self._package_list("active", lambda p: p.active), ["GET"]),
            r("/packages/v2/onhold", self._package_list("onhold", lambda p: p.active and p.on_hold), ["GET"]),
            r("/packages/v2/inactive", self._package_list("inactive", lambda p: p.finished), ["GET"]),
            r(
                "/packages/v2/intransit",
                self._package_list("intransit", lambda p: p.in_transit and not p.finished),
                ["GET"],
            ),
            r("/packages/v2/{label}", self.package_by_label, ["GET"]),
            r("/transfers/v2/types", self.types, ["GET"]),
            r("/transfers/v2/outgoing", self.outgoing, ["GET"]),
            r("/transfers/v2/incoming", self.incoming, ["GET"]),
            r("/transfers/v2/templates/outgoing", self.templates, ["GET", "POST"]),
            r("/transfers/v2/templates/outgoing/{id}", self.delete_template, ["DELETE"]),
            r("/transfers/v2/deliveries/{id}/packages", self._delivery_packages(False), ["GET"]),
            r("/transfers/v2/deliveries/{id}/packages/wholesale", self._delivery_packages(True), ["GET"]),
            r("/transfers/v2/{id}/deliveries", self.deliveries, ["GET"]),
        ]


def _path_id(request: Request) -> int:
    text = request.path_params["id"]
    if not text.isdigit():
        raise message(400, f"The value '{text}' is not valid for id.")
    return int(text)
