"""Vendor sandboxes for tests: each runs as a SUBPROCESS on a free port and is reached over a real socket.

    def test_x(metrc_sandbox):
        r = httpx.get(metrc_sandbox.base_url + "/facilities/v2", auth=metrc_sandbox.auth("pacificbloom"))
        metrc_sandbox.fault(error_next=2)

The process is session-scoped (one per xdist worker); `metrc_sandbox` resets it (faults off, clock real,
call log empty, demo state re-seeded) before each test. Stopping kills the whole process group.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SandboxProcess:
    """One `python -m reup_app.sandboxes <vendor>` process in its own process group."""

    def __init__(
        self,
        vendor: str,
        *args: str,
        ready_timeout: float = 60.0,
        module: str = "reup_app.sandboxes",
        extra_first: list[str] | None = None,
    ) -> None:
        self.vendor = vendor
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
        cmd = [sys.executable, "-m", module, *(extra_first or []), vendor, "--port", str(self.port), *args]
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"reup-sandbox-{vendor}-{self.port}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            cmd, cwd=REPO_ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self._wait_ready(ready_timeout)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.vendor} sandbox exited ({self.proc.returncode}): {self.log_path.read_text()}"
                )
            try:
                if httpx.get(self.base_url + "/_sandbox/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.vendor} sandbox not ready after {timeout} s: {self.log_path.read_text()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            except ProcessLookupError:
                pass
        self._log.close()


class MetrcSandbox:
    """Test handle on a running METRC sandbox: base URL, credentials and the control API."""

    VENDOR_KEY = "reup-sandbox-vendor-key"

    def __init__(self, process: SandboxProcess) -> None:
        self.process = process
        self.base_url = process.base_url
        self.control = httpx.Client(base_url=self.base_url, timeout=60.0)

    def user_key(self, company_key: str) -> str:
        """The user API key of a demo company ("pacificbloom", "emeraldcoast", ...)."""
        return f"demo-user-{company_key}"

    def auth(self, company_key: str = "pacificbloom") -> tuple[str, str]:
        return (self.VENDOR_KEY, self.user_key(company_key))

    def _post(self, path: str, body: dict | None = None) -> dict:
        r = self.control.post(path, json=body or {})
        if r.status_code != 200:
            raise AssertionError(f"control call {path} failed: {r.status_code} {r.text}")
        return r.json()

    def _get(self, path: str):
        r = self.control.get(path)
        r.raise_for_status()
        return r.json()

    def reset(self) -> None:
        self._post("/_sandbox/reset")

    def fault(self, **settings) -> dict:
        return self._post("/_sandbox/faults", settings)

    def advance_clock(self, seconds: float) -> dict:
        return self._post("/_sandbox/clock", {"advance_seconds": seconds})

    def set_clock(self, iso_instant: str, *, freeze: bool = False) -> dict:
        return self._post("/_sandbox/clock", {"now": iso_instant, "freeze": freeze})

    def now(self) -> str:
        return self._get("/_sandbox/clock")["now"]

    def calls(self) -> dict:
        return self._get("/_sandbox/calls")

    def templates(self) -> list[dict]:
        return self._get("/_sandbox/metrc/templates")

    def register_template(self, template_id: int) -> dict:
        return self._post(f"/_sandbox/metrc/templates/{template_id}/register")

    def receive(self, manifest_number: str, packages: list[dict] | None = None) -> dict:
        """The buyer receives: packages = [{"label", "accepted": bool, "received_quantity": n}] (default all)."""
        return self._post("/_sandbox/metrc/receive", {"manifest_number": manifest_number, "packages": packages or []})

    def create_package(self, **fields) -> dict:
        return self._post("/_sandbox/metrc/packages", fields)

    def set_package(self, license_number: str, label: str, **changes) -> dict:
        return self._post(f"/_sandbox/metrc/packages/{label}", {"license_number": license_number, **changes})

    def bulk(self, facilities: int = 5, packages: int = 20_000, days: int = 7) -> dict:
        return self._post("/_sandbox/metrc/bulk", {"facilities": facilities, "packages": packages, "days": days})

    def settings(self, **values) -> dict:
        return self._post("/_sandbox/metrc/settings", values)

    def close(self) -> None:
        self.control.close()


def _serve(handle, vendor: str, *args: str):
    """One sandbox subprocess for the test session, behind its test handle; stopped at the end."""
    process = SandboxProcess(vendor, *args)
    sandbox = handle(process)
    try:
        yield sandbox
    finally:
        sandbox.close()
        process.stop()


@pytest.fixture(scope="session")
def metrc_sandbox_session():
    yield from _serve(MetrcSandbox, "metrc", "--seed", "demo")


@pytest.fixture
def metrc_sandbox(metrc_sandbox_session) -> MetrcSandbox:
    """The session's METRC sandbox, reset to the demo state with no faults."""
    metrc_sandbox_session.reset()
    return metrc_sandbox_session


class FleetbaseSandbox:
    """Test handle on a running Fleetbase sandbox: base URL (…/v1), API key, and the control API."""

    API_KEY = "flb_test_reup_sandbox"

    def __init__(self, process: SandboxProcess) -> None:
        self.process = process
        self.root = process.base_url
        self.base_url = process.base_url + "/v1"
        self.control = httpx.Client(base_url=self.root, timeout=60.0)

    def _post(self, path: str, body: dict | None = None) -> dict:
        r = self.control.post(path, json=body or {})
        if r.status_code != 200:
            raise AssertionError(f"control call {path} failed: {r.status_code} {r.text}")
        return r.json()

    def _get(self, path: str):
        r = self.control.get(path)
        r.raise_for_status()
        return r.json()

    def reset(self) -> None:
        self._post("/_sandbox/reset")

    def fault(self, **settings) -> dict:
        return self._post("/_sandbox/faults", settings)

    def advance_clock(self, seconds: float) -> dict:
        return self._post("/_sandbox/clock", {"advance_seconds": seconds})

    def register_webhook(self, url: str, secret: str, retry_delays=(0.3, 0.6, 1.2)) -> dict:
        return self._post("/_sandbox/fleetbase/webhooks", {"url": url, "secret": secret, "retry_delays": retry_delays})

    def webhook_faults(self, **settings) -> dict:
        return self._post("/_sandbox/fleetbase/webhooks/faults", settings)

    def webhook_log(self) -> list[dict]:
        return self._get("/_sandbox/fleetbase/webhooks")["log"]

    def flush(self, timeout: float = 15) -> dict:
        return self._post("/_sandbox/fleetbase/webhooks/flush", {"timeout": timeout})

    def release(self) -> dict:
        return self._post("/_sandbox/fleetbase/webhooks/release")

    def signed_event(self, event_id: str) -> dict:
        return self._get(f"/_sandbox/fleetbase/webhooks/events/{event_id}")

    def orders(self) -> list[dict]:
        return self._get("/_sandbox/fleetbase/orders")

    def advance(self, order_id: str, to: str, **extra) -> dict:
        return self._post(f"/_sandbox/fleetbase/orders/{order_id}/advance", {"to": to, **extra})

    def tick(self, auto_complete: bool = True) -> dict:
        return self._post("/_sandbox/fleetbase/tick", {"auto_complete": auto_complete})

    def reassign(self, order_id: str, driver_name: str, phone: str | None = None) -> dict:
        """Fleetbase's dispatcher hands the order to another driver (order.driver_assigned)."""
        return self._post(
            f"/_sandbox/fleetbase/orders/{order_id}/reassign", {"driver_name": driver_name, "phone": phone}
        )

    def scenarios(self, **settings) -> dict:
        return self._post("/_sandbox/fleetbase/scenarios", settings)

    def events(self, order_id: str | None = None, event: str | None = None) -> list[dict]:
        """Every event the sandbox raised (endpoint registered or not), optionally of one order / kind."""
        rows = self._get("/_sandbox/fleetbase/events")
        return [
            r
            for r in rows
            if (order_id is None or r["order_id"] == order_id) and (event is None or r["event"] == event)
        ]

    def calls(self) -> dict:
        return self._get("/_sandbox/calls")

    def close(self) -> None:
        self.control.close()


@pytest.fixture(scope="session")
def fleetbase_sandbox_session():
    yield from _serve(FleetbaseSandbox, "fleetbase")


@pytest.fixture
def fleetbase_sandbox(fleetbase_sandbox_session) -> FleetbaseSandbox:
    """The session's Fleetbase sandbox, reset (no orders, no faults, no webhook endpoint)."""
    fleetbase_sandbox_session.reset()
    return fleetbase_sandbox_session


@pytest.fixture(scope="session")
def app_server(mysql_url):
    """The app's Starlette API (webhook routes among it) on a real socket in this process, so a sandbox
    can call the app back while the test shares its database, settings and event bus."""
    from reup_app.api.routes import build_api
    from tests.appserver import EmbeddedServer

    server = EmbeddedServer(build_api())
    yield server
    server.stop()


class DutchieSandbox:
    """Test handle on a running Dutchie POS sandbox: base URL, location keys and the control API."""

    def __init__(self, process: SandboxProcess) -> None:
        self.process = process
        self.base_url = process.base_url
        self.control = httpx.Client(base_url=self.base_url, timeout=60.0)

    @staticmethod
    def demo_key(license_number: str) -> str:
        """The location key of a demo store (`reup_app.seed.demo_connections.demo_dutchie_key`)."""
        return "demo-dutchie-" + license_number.lower()

    def _post(self, path: str, body: dict | None = None):
        r = self.control.post(path, json=body or {})
        if r.status_code != 200:
            raise AssertionError(f"control call {path} failed: {r.status_code} {r.text}")
        return r.json()

    def _get(self, path: str, **params):
        r = self.control.get(path, params=params)
        r.raise_for_status()
        return r.json()

    def reset(self) -> None:
        self._post("/_sandbox/reset")

    def fault(self, **settings) -> dict:
        return self._post("/_sandbox/faults", settings)

    def calls(self) -> dict:
        return self._get("/_sandbox/calls")

    def locations(self) -> list[dict]:
        return self._get("/_sandbox/dutchie/locations")

    def new_location(self, key: str, name: str, license_number: str, products=(), stock=(), vendors=()) -> dict:
        body = {"key": key, "name": name, "license_number": license_number, "products": list(products),
                "stock": list(stock), "vendors": list(vendors)}  # fmt: skip
        return self._post("/_sandbox/dutchie/location", body)

    def sale(self, key: str, product_id: int, quantity=1, at: str | None = None) -> dict:
        return self._post(
            "/_sandbox/dutchie/sale", {"key": key, "product_id": product_id, "quantity": quantity, "at": at}
        )

    def change_product(self, key: str, product_id: int, **changes) -> dict:
        return self._post("/_sandbox/dutchie/product", {"key": key, "product_id": product_id, **changes})

    def set_stock(self, key: str, product_id: int, quantity) -> dict:
        return self._post("/_sandbox/dutchie/inventory", {"key": key, "product_id": product_id, "quantity": quantity})

    def receives(self, key: str) -> list[dict]:
        return self._get("/_sandbox/dutchie/receives", key=key)

    def purchase_orders(self, key: str) -> list[dict]:
        return self._get("/_sandbox/dutchie/purchase-orders", key=key)

    def settings(self, **values) -> dict:
        return self._post("/_sandbox/dutchie/settings", values)

    def bulk(self, inventory: int, lines: int, days: int = 30) -> dict:
        return self._post("/_sandbox/dutchie/bulk", {"inventory": inventory, "lines": lines, "days": days})

    def close(self) -> None:
        self.control.close()


@pytest.fixture(scope="session")
def dutchie_sandbox_session():
    yield from _serve(DutchieSandbox, "dutchie", "--seed", "demo")


@pytest.fixture
def dutchie_sandbox(dutchie_sandbox_session) -> DutchieSandbox:
    """The session's Dutchie sandbox, reset to the demo state with no faults."""
    dutchie_sandbox_session.reset()
    return dutchie_sandbox_session
