"""Serve an already-built frontend and the backend on one port, without rebuilding.

`reflex run --env prod --single-port` compiles and builds every time it starts; tests and a
second app process reuse one build made by `reflex export --frontend-only --no-zip`:

    python -m reup_app.serve --port 3100 [--workers 2]

Run from the project root (where rxconfig.py is).
"""

from __future__ import annotations

import argparse
import os


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m reup_app.serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=None, help="default: REUP_PORT (3000)")
    parser.add_argument("--workers", type=int, default=None, help="backend workers (needs Redis for > 1)")
    args = parser.parse_args(argv)
    if args.port is None:
        from reup_app.settings import get_settings

        args.port = get_settings().port
    if args.workers:
        os.environ["GRANIAN_WORKERS"] = str(args.workers)
    os.environ.setdefault("REFLEX_USE_GRANIAN", "1")

    from reflex.utils import exec as rx_exec
    from reflex_base import constants
    from reflex_base.environment import environment

    environment.REFLEX_ENV_MODE.set(constants.Env.PROD)
    environment.REFLEX_SKIP_COMPILE.set(True)
    rx_exec.run_backend_prod(args.host, args.port, constants.LogLevel.WARNING, mount_frontend_compiled_app=True)


if __name__ == "__main__":
    main()
