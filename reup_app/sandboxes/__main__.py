"""`python -m reup_app.sandboxes metrc --port N [--seed demo|empty] [--state-file path] ...`"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The sandbox flags, shared with `reup sandbox`."""
    parser.add_argument("vendor", choices=["metrc", "fleetbase", "dutchie"], help="which vendor API to serve")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--seed", choices=["demo", "empty"], default="demo", help="initial data (default: demo)")
    parser.add_argument("--state-file", help="keep the state in this file across restarts")
    parser.add_argument(
        "--register-after",
        type=float,
        default=None,
        metavar="SECONDS",
        help="register new transfer templates as transfers after this delay (default: only on a control call)",
    )
    parser.add_argument("--bulk-packages", type=int, default=0, help="also generate this many benchmark packages")
    parser.add_argument("--bulk-facilities", type=int, default=5, help="spread bulk packages over this many facilities")
    parser.add_argument("--bulk-inventory", type=int, default=0, help="dutchie: bench location inventory rows")
    parser.add_argument("--bulk-lines", type=int, default=0, help="dutchie: bench location sale lines")
    parser.add_argument(
        "--vendor-key", action="append", dest="vendor_keys", help="accepted vendor API key (repeatable)"
    )
    parser.add_argument("--api-key", action="append", dest="api_keys", help="Fleetbase: accepted API key (repeatable)")
    parser.add_argument("--webhook-url", help="Fleetbase: send signed webhooks to this URL")
    parser.add_argument("--webhook-secret", help="Fleetbase: the endpoint's signing secret")


def run(args: argparse.Namespace) -> int:
    from reup_app.sandboxes.runner import serve

    if not 0 < args.port < 65536:
        print(f"sandbox: error: --port must be 1..65535, not {args.port}", file=sys.stderr)
        return 1
    options = {
        "seed": args.seed,
        "state_file": args.state_file,
        "register_after_seconds": args.register_after,
        "bulk_packages": args.bulk_packages,
        "bulk_facilities": args.bulk_facilities,
        "vendor_keys": args.vendor_keys,
        "api_keys": args.api_keys,
        "webhook_url": args.webhook_url,
        "webhook_secret": args.webhook_secret,
        "bulk_inventory": args.bulk_inventory,
        "bulk_lines": args.bulk_lines,
    }
    serve(args.vendor, host=args.host, port=args.port, options=options)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reup_app.sandboxes", description="Run a local vendor sandbox.")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
