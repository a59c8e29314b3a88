"""Serve a sandbox with granian (one worker, so the in-memory state is one state).

The options travel to the worker process as JSON in REUP_SANDBOX_OPTIONS, read by the vendor's app factory.
"""

from __future__ import annotations

import json
import os

OPTIONS_ENV = "REUP_SANDBOX_OPTIONS"
FACTORIES = {
    "metrc": "reup_app.sandboxes.metrc.server:app_from_env",
    "fleetbase": "reup_app.sandboxes.fleetbase.server:app_from_env",
    "dutchie": "reup_app.sandboxes.dutchie.server:app_from_env",
}


def options_from_env() -> dict:
    return json.loads(os.environ.get(OPTIONS_ENV) or "{}")


def serve(vendor: str, *, host: str, port: int, options: dict) -> None:
    """Block serving `vendor`'s sandbox on host:port until interrupted."""
    from granian import Granian
    from granian.constants import Interfaces

    if vendor not in FACTORIES:
        raise ValueError(f"unknown sandbox {vendor!r}; available: {', '.join(sorted(FACTORIES))}")
    os.environ[OPTIONS_ENV] = json.dumps(options)
    Granian(
        FACTORIES[vendor], address=host, port=port, interface=Interfaces.ASGI, workers=1, factory=True, log_access=False
    ).serve()
