"""Build the METRC sandbox app from options (the CLI flags), optionally persisting its state to a file.

Options: seed ("demo" | "empty"), state_file, vendor_keys, register_after_seconds, bulk_facilities,
bulk_packages, facility_gets_per_second, vendor_gets_per_second.
"""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

from starlette.applications import Starlette

from reup_app.sandboxes.app import SandboxContext, build_app
from reup_app.sandboxes.metrc.control import metrc_control_routes
from reup_app.sandboxes.metrc.routes import MetrcApi
from reup_app.sandboxes.metrc.rules import Limits, Rules
from reup_app.sandboxes.metrc.seed import DEFAULT_VENDOR_KEY, add_bulk, demo_state, empty_state
from reup_app.sandboxes.metrc.store import MetrcState, MetrcStore
from reup_app.sandboxes.runner import options_from_env

log = logging.getLogger(__name__)
SEEDS = ("demo", "empty")


def initial_state(options: dict, ctx: SandboxContext) -> MetrcState:
    seed = options.get("seed", "demo")
    if seed not in SEEDS:
        raise ValueError(f"unknown seed {seed!r}; use one of {SEEDS}")
    now = ctx.clock.now()
    state = demo_state(now) if seed == "demo" else empty_state()
    if options.get("bulk_packages"):
        add_bulk(
            state, now, facilities=int(options.get("bulk_facilities") or 5), packages=int(options["bulk_packages"])
        )
    return state


class PersistingApp:
    """ASGI wrapper that saves the state to `path` after every non-GET request (writes and control calls)."""

    def __init__(self, app: Starlette, store: MetrcStore, path: Path) -> None:
        self.app, self.store, self.path = app, store, path

    async def __call__(self, scope, receive, send) -> None:
        await self.app(scope, receive, send)
        if scope["type"] == "http" and scope["method"] not in ("GET", "HEAD"):
            with self.store.lock:
                tmp = self.path.with_suffix(".tmp")
                tmp.write_bytes(pickle.dumps(self.store.state))
                tmp.replace(self.path)


def create_app(options: dict):
    ctx = SandboxContext(vendor="metrc")
    state_file = Path(options["state_file"]) if options.get("state_file") else None
    if state_file and state_file.exists():
        state = pickle.loads(state_file.read_bytes())  # our own file, written by PersistingApp
        log.info("METRC sandbox state loaded from %s", state_file)
    else:
        state = initial_state(options, ctx)
    store = MetrcStore(state)
    limits = Limits(
        facility_gets_per_second=int(options.get("facility_gets_per_second") or 50),
        vendor_gets_per_second=int(options.get("vendor_gets_per_second") or 150),
    )
    rules = Rules(ctx, set(options.get("vendor_keys") or [DEFAULT_VENDOR_KEY]), limits)
    api = MetrcApi(ctx, store, rules, options.get("register_after_seconds"))

    def reset_vendor() -> None:
        store.replace(initial_state(options, ctx))
        rules.set_limits(limits)
        api.register_after = options.get("register_after_seconds")

    app = build_app(ctx, [*metrc_control_routes(api), *api.routes()], reset_vendor)
    return PersistingApp(app, store, state_file) if state_file else app


def app_from_env():
    """Granian factory target: the options come from REUP_SANDBOX_OPTIONS."""
    return create_app(options_from_env())
