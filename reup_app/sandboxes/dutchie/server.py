"""Build the Dutchie sandbox app from options (the CLI flags).

Options: seed ("demo" | "empty"), bulk_inventory, bulk_lines, bulk_days, rate_limits ({path: per minute}).
Control routes (besides the shared /_sandbox/ ones):

    GET  /_sandbox/dutchie/locations           key, name, license and counts per location
    GET  /_sandbox/dutchie/receives?key=K      saved receives (with the body ReUp sent)
    GET  /_sandbox/dutchie/purchase-orders?key=K
    POST /_sandbox/dutchie/sale {"key", "product_id", "quantity", "at"?}   a new sale now (or at)
    POST /_sandbox/dutchie/product {"key", "product_id", ...camelCase changes}  bumps lastModifiedDateUTC
    POST /_sandbox/dutchie/inventory {"key", "product_id", "quantity"}    on-hand of the product's row
    POST /_sandbox/dutchie/location {"key", "name", "license_number", "products": [{"productId", "sku",
         "productName", "brandName", "unitCost"}], "stock": [{"product_id", "quantity", "label"}]}  a new store
    POST /_sandbox/dutchie/settings {"rate_limits": {"/products": 5}}
    POST /_sandbox/dutchie/bulk {"inventory": 50000, "lines": 200000, "days": 30}
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from starlette.requests import Request
from starlette.routing import BaseRoute

from reup_app.sandboxes.app import ControlError, SandboxContext, build_app, control_route, json_body
from reup_app.sandboxes.clock import parse_instant
from reup_app.sandboxes.dutchie.routes import DutchieApi
from reup_app.sandboxes.dutchie.seed import add_bulk, demo_state, empty_state, iso, make_product
from reup_app.sandboxes.dutchie.store import DutchieState, DutchieStore, Line, Location, Sale, Stock
from reup_app.sandboxes.runner import options_from_env

SEEDS = ("demo", "empty")


def initial_state(options: dict, ctx: SandboxContext) -> DutchieState:
    seed = options.get("seed", "demo")
    if seed not in SEEDS:
        raise ValueError(f"unknown seed {seed!r}; use one of {SEEDS}")
    now = ctx.clock.now()
    state = demo_state(now) if seed == "demo" else empty_state()
    if options.get("bulk_inventory") or options.get("bulk_lines"):
        add_bulk(state, now, inventory=int(options.get("bulk_inventory") or 0),
                 lines=int(options.get("bulk_lines") or 0), days=int(options.get("bulk_days") or 30))  # fmt: skip
    return state


def _location(api: DutchieApi, key: object) -> Location:
    loc = api.store.state.locations.get(str(key))
    if loc is None:
        raise LookupError(f"no location with key {key!r}")
    return loc


def _product_id(loc: Location, value: object) -> int:
    if not isinstance(value, int) or value not in loc.products:
        raise LookupError(f"location {loc.name} has no product {value!r}")
    return value


def control_routes(api: DutchieApi, options: dict) -> list[BaseRoute]:
    store, ctx = api.store, api.ctx

    async def locations(request: Request):
        return [
            {
                "key": k,
                "name": loc.name,
                "license_number": loc.license_number,
                "products": len(loc.products),
                "inventory": len(loc.inventory),
                "transactions": len(loc.sales),
            }  # fmt: skip
            for k, loc in store.state.locations.items()
        ]

    async def receives(request: Request):
        loc = _location(api, request.query_params.get("key"))
        return [{k: v for k, v in r.items() if k != "_added"} for r in loc.receives]

    async def purchase_orders(request: Request):
        return _location(api, request.query_params.get("key")).purchase_orders

    async def sale(request: Request):
        body = await json_body(request)
        loc = _location(api, body.get("key"))
        pid = _product_id(loc, body.get("product_id"))
        at = parse_instant(str(body["at"])) if body.get("at") else ctx.clock.now()
        qty = Decimal(str(body.get("quantity", 1)))
        stock = next((s for s in loc.inventory if s.product_id == pid), None)
        price = Decimal(str(loc.products[pid]["price"]))
        with store.lock:
            tid = store.state.next_id()
            line = Line(pid, stock.inventory_id if stock else 0, qty, price, stock.unit_cost if stock else Decimal(0))
            loc.add_sale(Sale(tid, at, False, (line,), at))
        return {"transactionId": tid, "transactionDate": iso(at)}

    async def product(request: Request):
        body = await json_body(request)
        loc = _location(api, body.pop("key", None))
        pid = _product_id(loc, body.pop("product_id", None))
        with store.lock:
            loc.products[pid].update(body)
            loc.products[pid]["lastModifiedDateUTC"] = iso(ctx.clock.now())
        return loc.products[pid]

    async def inventory(request: Request):
        body = await json_body(request)
        loc = _location(api, body.get("key"))
        pid = _product_id(loc, body.get("product_id"))
        with store.lock:
            for i, s in enumerate(loc.inventory):
                if s.product_id == pid:
                    loc.inventory[i] = s._replace(quantity=Decimal(str(body.get("quantity", 0))))
                    return {"inventoryId": s.inventory_id, "quantityAvailable": body.get("quantity", 0)}
        raise LookupError(f"product {pid} has no inventory row")

    async def location(request: Request):
        body = await json_body(request)
        key, name, number = body.get("key"), body.get("name"), body.get("license_number")
        if not all(isinstance(v, str) and v for v in (key, name, number)):
            raise ControlError("key, name and license_number are required strings")
        now = ctx.clock.now()
        with store.lock:
            loc = Location(str(key), store.state.next_id(), str(name), str(number), str(name))
            loc.vendors = [dict(v) for v in body.get("vendors") or []]
            for n, p in enumerate(body.get("products") or []):
                pid = int(p["productId"])
                cost = Decimal(str(p.get("unitCost", "5")))
                loc.products[pid] = make_product(pid, str(p.get("sku", "")), str(p.get("productName", "")),
                                             str(p.get("brandName") or ""), str(p.get("category", "flower")),
                                             cost, now - timedelta(days=1, minutes=-10 * n))  # fmt: skip
            for st in body.get("stock") or []:
                pid = _product_id(loc, st.get("product_id"))
                qty, label = Decimal(str(st.get("quantity", 0))), str(st.get("label") or f"1A4X{pid:020d}")
                loc.inventory.append(
                    Stock(store.state.next_id(), pid, qty, label, Decimal(str(loc.products[pid]["unitCost"])))
                )
            store.state.locations[loc.key] = loc
        return {"key": loc.key, "location_id": loc.location_id}

    async def settings(request: Request):
        body = await json_body(request)
        limits = body.get("rate_limits") or {}
        if not isinstance(limits, dict) or not all(isinstance(v, int) and v > 0 for v in limits.values()):
            raise ControlError("rate_limits must map paths to positive integers")
        api.set_limits({**(options.get("rate_limits") or {}), **limits})
        return {"rate_limits": api.limits}

    async def bulk(request: Request):
        body = await json_body(request)
        with store.lock:
            return add_bulk(store.state, ctx.clock.now(), inventory=int(body.get("inventory", 0)),
                            lines=int(body.get("lines", 0)), days=int(body.get("days", 30)))  # fmt: skip

    return [
        control_route("/_sandbox/dutchie/locations", locations, ["GET"]),
        control_route("/_sandbox/dutchie/receives", receives, ["GET"]),
        control_route("/_sandbox/dutchie/purchase-orders", purchase_orders, ["GET"]),
        control_route("/_sandbox/dutchie/sale", sale, ["POST"]),
        control_route("/_sandbox/dutchie/product", product, ["POST"]),
        control_route("/_sandbox/dutchie/inventory", inventory, ["POST"]),
        control_route("/_sandbox/dutchie/location", location, ["POST"]),
        control_route("/_sandbox/dutchie/settings", settings, ["POST"]),
        control_route("/_sandbox/dutchie/bulk", bulk, ["POST"]),
    ]


def create_app(options: dict):
    ctx = SandboxContext(
        vendor="dutchie",
        server_error_body={"message": "Something went wrong."},
        rate_limited_body={"message": "Too Many Requests"},
    )
    store = DutchieStore(initial_state(options, ctx))
    api = DutchieApi(ctx, store, options.get("rate_limits"))

    def reset_vendor() -> None:
        store.replace(initial_state(options, ctx))
        api.set_limits(options.get("rate_limits") or {})

    return build_app(ctx, [*control_routes(api, options), *api.routes()], reset_vendor)


def app_from_env():
    """Granian factory target: the options come from REUP_SANDBOX_OPTIONS."""
    return create_app(options_from_env())
