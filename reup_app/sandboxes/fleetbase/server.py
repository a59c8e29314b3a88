"""Build the Fleetbase sandbox app from options (the CLI flags).

Options: api_keys (accepted keys; default `flb_test_reup_sandbox`), webhook_url + webhook_secret (the
endpoint to sign and send events to; also set through the control API), retry_delays.

Control routes (besides the shared /_sandbox/ ones):
    POST /_sandbox/fleetbase/webhooks          {"url", "secret", "retry_delays": [..]} register the endpoint
    GET  /_sandbox/fleetbase/webhooks          endpoints, faults, and one row per HTTP attempt ("log")
    POST /_sandbox/fleetbase/webhooks/faults   see webhooks.py
    POST /_sandbox/fleetbase/webhooks/flush    {"timeout": 10} wait until nothing is queued or in flight
    POST /_sandbox/fleetbase/webhooks/release  send held-back (out-of-order) events, newest first
    GET  /_sandbox/fleetbase/webhooks/events/{id}   a sent event's body and valid signature (replays)
    GET  /_sandbox/fleetbase/orders            every order resource
    POST /_sandbox/fleetbase/orders/{id}/advance  {"to": "dispatched|started|enroute|completed|canceled|failed",
                                                   "pod": "signature|photo", "trip_seconds": 1800}
    POST /_sandbox/fleetbase/orders/{id}/reassign {"driver_name": "...", "phone": "..."}: the dispatcher hands
                                                   the order to another driver (order.driver_assigned)
    GET|POST /_sandbox/fleetbase/scenarios     switchable dispatcher behaviour (api.Scenarios: swap the
                                               driver when orders reach a step)
    GET  /_sandbox/fleetbase/events            every event raised (id, event, order id, time), whether or
                                               not an endpoint is registered: what Fleetbase did
    POST /_sandbox/fleetbase/tick              {"auto_complete": true} move enroute drivers by the clock
"""

from __future__ import annotations

from starlette.requests import Request

from reup_app.sandboxes.app import ControlError, SandboxContext, build_app, control_route, json_body
from reup_app.sandboxes.fleetbase.api import DEFAULT_API_KEY, FleetbaseApi, Scenarios
from reup_app.sandboxes.fleetbase.store import FleetbaseStore
from reup_app.sandboxes.fleetbase.webhooks import DEFAULT_RETRY_DELAYS, WebhookSender
from reup_app.sandboxes.runner import options_from_env


def _control_routes(api: FleetbaseApi, options: dict) -> list:
    sender, store = api.sender, api.store

    async def webhooks(request: Request):
        if request.method == "GET":
            return {**sender.describe(), "log": sender.log}
        body = await json_body(request)
        if not body.get("url") or not body.get("secret"):
            raise ControlError('send {"url": ..., "secret": ...}')
        sender.endpoints = [(str(body["url"]), str(body["secret"]))]
        if "retry_delays" in body:
            sender.retry_delays = tuple(float(x) for x in body["retry_delays"])
        return sender.describe()

    async def faults(request: Request):
        return sender.configure_faults(await json_body(request))

    async def flush(request: Request):
        body = await json_body(request)
        return await sender.flush(float(body.get("timeout", 10)))

    async def release(request: Request):
        return {"released": sender.release()}

    async def event(request: Request):
        found = sender.signed_event(request.path_params["id"])
        if found is None:
            raise LookupError(f"no event {request.path_params['id']}")
        return found

    async def orders(request: Request):
        with store.lock:
            return [store.order_resource(o) for o in store.state.orders.values()]

    async def advance(request: Request):
        body = await json_body(request)
        with store.lock:
            o = store.state.orders.get(request.path_params["id"])
            if o is None:
                raise LookupError(f"no order {request.path_params['id']}")
            if body.get("trip_seconds"):
                o.trip_seconds = float(body["trip_seconds"])
            try:
                api.advance(o, str(body.get("to") or ""), body.get("pod"))
            except Exception as err:  # a VendorError: say why as a control error
                raise ControlError(str(getattr(err, "body", err))) from None
            return store.order_resource(o)

    async def reassign(request: Request):
        body = await json_body(request)
        name = str(body.get("driver_name") or "").strip()
        if not name:
            raise ControlError('send {"driver_name": ..., "phone": ...}')
        with store.lock:
            o = store.state.orders.get(request.path_params["id"])
            if o is None:
                raise LookupError(f"no order {request.path_params['id']}")
            try:
                api.reassign(o, name, body.get("phone"))
            except Exception as err:  # a VendorError: say why as a control error
                raise ControlError(str(getattr(err, "body", err))) from None
            return store.order_resource(o)

    async def scenarios(request: Request):
        if request.method == "GET":
            return api.scenarios.describe()
        return api.scenarios.configure(await json_body(request))

    async def events(request: Request):
        return list(sender.emitted)

    async def tick(request: Request):
        body = await json_body(request)
        return api.tick(bool(body.get("auto_complete", True)))

    return [
        control_route("/_sandbox/fleetbase/webhooks", webhooks, ["GET", "POST"]),
        control_route("/_sandbox/fleetbase/webhooks/faults", faults, ["POST"]),
        control_route("/_sandbox/fleetbase/webhooks/flush", flush, ["POST"]),
        control_route("/_sandbox/fleetbase/webhooks/release", release, ["POST"]),
        control_route("/_sandbox/fleetbase/webhooks/events/{id}", event, ["GET"]),
        control_route("/_sandbox/fleetbase/orders", orders, ["GET"]),
        control_route("/_sandbox/fleetbase/orders/{id}/advance", advance, ["POST"]),
        control_route("/_sandbox/fleetbase/orders/{id}/reassign", reassign, ["POST"]),
        control_route("/_sandbox/fleetbase/scenarios", scenarios, ["GET", "POST"]),
        control_route("/_sandbox/fleetbase/events", events, ["GET"]),
        control_route("/_sandbox/fleetbase/tick", tick, ["POST"]),
    ]


def create_app(options: dict):
    ctx = SandboxContext(
        vendor="fleetbase",
        server_error_body={"errors": ["Server Error"]},
        rate_limited_body={"errors": ["Too Many Attempts."]},
    )
    store = FleetbaseStore()
    sender = WebhookSender()

    def configure() -> None:
        sender.reset()
        if options.get("webhook_url") and options.get("webhook_secret"):
            sender.endpoints = [(options["webhook_url"], options["webhook_secret"])]
        sender.retry_delays = tuple(options.get("retry_delays") or DEFAULT_RETRY_DELAYS)

    configure()
    api = FleetbaseApi(ctx, store, sender, set(options.get("api_keys") or [DEFAULT_API_KEY]))

    def reset_vendor() -> None:
        store.reset()
        configure()
        api.scenarios = Scenarios()

    return build_app(ctx, [*_control_routes(api, options), *api.routes()], reset_vendor)


def app_from_env():
    """Granian factory target: the options come from REUP_SANDBOX_OPTIONS."""
    return create_app(options_from_env())
