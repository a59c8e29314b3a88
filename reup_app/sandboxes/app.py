"""The sandbox app factory: vendor routes wrapped with faults and the call log, plus the `/_sandbox/` control API.

A vendor module supplies its routes (handlers raise `VendorError` for vendor-shaped failures), its own
control routes, and a `reset` callback; `build_app` adds the shared control endpoints:

    GET  /_sandbox/health                 {"ok": true, "vendor": ...}
    GET  /_sandbox/faults | POST (JSON)   see `faults.py`
    GET  /_sandbox/clock  | POST {"advance_seconds": 3600} or {"now": "2026-11-28T12:00:00Z", "freeze": false}
    GET  /_sandbox/calls                  call counts per path / facility / second
    POST /_sandbox/reset                  faults off, clock real, call log empty, vendor state re-seeded
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from reup_app.sandboxes.calllog import CallLog
from reup_app.sandboxes.clock import SandboxClock, parse_instant
from reup_app.sandboxes.faults import FaultError, Faults

Handler = Callable[[Request], Awaitable[Response]]
WRITE_METHODS = frozenset({"POST", "PUT", "DELETE"})


class VendorError(Exception):
    """A failure answered in the vendor's own shape (status, JSON body, headers)."""

    def __init__(self, status: int, body, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}

    def response(self) -> Response:
        if self.body is None:
            return Response(status_code=self.status, headers=self.headers)
        return JSONResponse(self.body, status_code=self.status, headers=self.headers)


class ControlError(Exception):
    """A bad control-API call; answered as 400 {"error": message}."""


@dataclass
class SandboxContext:
    """What every vendor sandbox shares: clock, faults, call log and the vendor's own error shapes."""

    vendor: str
    clock: SandboxClock = field(default_factory=SandboxClock)
    faults: Faults = field(default_factory=Faults)
    calls: CallLog = field(default_factory=CallLog)
    server_error_body: object = field(default_factory=lambda: {"Message": "An error has occurred."})
    rate_limited_body: object = field(default_factory=lambda: {"Message": "Too Many Requests"})

    def vendor_route(self, path: str, handler: Handler, methods: list[str], facility: Callable | None = None) -> Route:
        """A vendor route whose calls pass through faults and are counted in the call log."""

        async def endpoint(request: Request) -> Response:
            response = await self._run(request, handler)
            where = facility(request) if facility else request.query_params.get("licenseNumber")
            self.calls.record(request.method, path, where, response.status_code)
            return response

        return Route(path, endpoint, methods=methods)

    async def _run(self, request: Request, handler: Handler) -> Response:
        if not self.faults.applies(request.url.path):
            try:
                return await handler(request)
            except VendorError as err:
                return err.response()
        delay = self.faults.latency()
        if delay:
            await asyncio.sleep(delay)
        retry_after = self.faults.take_storm()
        if retry_after is not None:
            return JSONResponse(self.rate_limited_body, status_code=429, headers={"Retry-After": str(retry_after)})
        if self.faults.take_error():
            return JSONResponse(self.server_error_body, status_code=500)
        try:
            response = await handler(request)
        except VendorError as err:
            return err.response()
        if request.method in WRITE_METHODS and response.status_code < 300:
            stall = self.faults.take_stall()
            if stall:
                await asyncio.sleep(stall)  # the write is applied; the client times out waiting for this answer
        return response


def control_route(path: str, handler: Callable[[Request], Awaitable[object]], methods: list[str]) -> Route:
    """A JSON control endpoint; `ControlError`/`ValueError`/`FaultError` become 400 {"error": ...}."""

    async def endpoint(request: Request) -> Response:
        try:
            result = await handler(request)
        except (ControlError, FaultError, ValueError, TypeError) as err:
            return JSONResponse({"error": str(err)}, status_code=400)
        except LookupError as err:
            return JSONResponse({"error": str(err.args[0] if err.args else err)}, status_code=404)
        return JSONResponse(result)

    return Route(path, endpoint, methods=methods)


async def json_body(request: Request) -> dict:
    """The request's JSON object body ({} when empty); ControlError when it is not a JSON object."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise ControlError("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ControlError("the body must be a JSON object")
    return body


def shared_control_routes(ctx: SandboxContext, reset_vendor: Callable[[], None]) -> list[BaseRoute]:
    async def health(request: Request):
        return {"ok": True, "vendor": ctx.vendor, "now": ctx.clock.now().isoformat()}

    async def faults(request: Request):
        if request.method == "POST":
            return ctx.faults.configure(await json_body(request))
        return ctx.faults.describe()

    async def clock(request: Request):
        if request.method == "GET":
            return ctx.clock.describe()
        body = await json_body(request)
        if "advance_seconds" in body:
            seconds = body["advance_seconds"]
            if isinstance(seconds, bool) or not isinstance(seconds, int | float):
                raise ControlError("advance_seconds must be a number")
            ctx.clock.advance(seconds)
        elif "now" in body:
            ctx.clock.set(parse_instant(str(body["now"])), freeze=bool(body.get("freeze", False)))
        else:
            raise ControlError('send {"advance_seconds": N} or {"now": "<ISO instant>", "freeze": false}')
        return ctx.clock.describe()

    async def calls(request: Request):
        return ctx.calls.summary()

    async def reset(request: Request):
        ctx.faults.reset()
        ctx.clock.reset()
        ctx.calls.reset()
        reset_vendor()
        return {"ok": True}

    return [
        control_route("/_sandbox/health", health, ["GET"]),
        control_route("/_sandbox/faults", faults, ["GET", "POST"]),
        control_route("/_sandbox/clock", clock, ["GET", "POST"]),
        control_route("/_sandbox/calls", calls, ["GET"]),
        control_route("/_sandbox/reset", reset, ["POST"]),
    ]


def build_app(ctx: SandboxContext, routes: list[BaseRoute], reset_vendor: Callable[[], None]) -> Starlette:
    """The ASGI app: shared control routes first, then the vendor's control and API routes."""
    return Starlette(routes=[*shared_control_routes(ctx, reset_vendor), *routes])
