"""Browser tests: the production build served by `python -m reup_app.serve` (2 workers, Redis
state, MySQL with the demo seed), driven by Playwright in Debian's Chromium.

The frontend is built once per run by scripts/test.sh (`reflex export --frontend-only`); this
fixture builds it only when it is missing or was built for another port.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.dbutil import REDIS_URL, drop_mysql_database, fresh_mysql_database

ROOT = Path(__file__).resolve().parents[2]
PORT = int(os.environ.get("REUP_TEST_PORT", "3100"))
RUN_ID = uuid.uuid4().hex[:8]
BASE_URL = f"http://localhost:{PORT}"
WEBHOOK_SECRET = "whsec_browser_tests"  # the app's Fleetbase webhook secret (tests/browser/test_fleetbase_delivery.py)
CHROMIUM = os.environ.get("REUP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


def _app_env(db_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "REUP_DATABASE_URL": db_url,
            "REUP_REDIS_URL": REDIS_URL,
            "REUP_PORT": str(PORT),
            "REUP_APP_URL": BASE_URL,
            # per run: rate-limit counters and registry entries of earlier runs on this Redis never leak in
            "REUP_EVENT_CHANNEL": f"reup:events:test:{PORT}:{RUN_ID}",
            "REUP_RT_TRACE": "1",  # the push hub records deliveries (tests/browser/test_realtime.py)
            "REUP_RT_SWEEP_SECONDS": "2",  # closed tabs are forgotten within seconds
            "REUP_FLEETBASE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "REFLEX_TELEMETRY_ENABLED": "false",
            "REFLEX_CHECK_LATEST_VERSION": "0",
            "REFLEX_USE_SYSTEM_BUN": "1",
            "PATH": f"{ROOT / '.tools/node_modules/.bin'}:{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        }
    )
    return env


def _ensure_frontend_built(env: dict[str, str]) -> None:
    env_json = ROOT / ".web" / "env.json"
    built = (ROOT / ".web" / "build" / "client").is_dir() and env_json.exists() and f":{PORT}/" in env_json.read_text()
    if not built:
        subprocess.run(
            [sys.executable, "-m", "reflex", "export", "--frontend-only", "--no-zip", "--loglevel", "warning"],
            cwd=ROOT,
            env=env,
            check=True,
        )


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture(scope="session")
def demo_db_url() -> str:
    name = f"reup_browser_{PORT}"  # per port, so parallel runs do not collide
    url = fresh_mysql_database(name)
    env = _app_env(url)
    subprocess.run(
        [sys.executable, "-m", "reup_app.cli", "seed"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
    )
    yield url
    drop_mysql_database(name)


def start_server(
    env: dict[str, str], *, host: str = "127.0.0.1", workers: int = 2, log_name: str = "browser-server.log"
) -> subprocess.Popen:
    """Start `python -m reup_app.serve` on host:PORT and wait until it is healthy."""
    (ROOT / "var").mkdir(exist_ok=True)
    log = open(ROOT / "var" / log_name, "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "reup_app.serve", "--host", host, "--port", str(PORT), "--workers", str(workers)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    proc.log_file = log
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app server exited with {proc.returncode}; see var/{log_name}")
        try:
            if httpx.get(f"http://{host}:{PORT}/api/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    stop_server(proc)
    raise RuntimeError(f"app server did not become healthy in 90 s; see var/{log_name}")


def start_worker(db_url: str, log_name: str, **env: str) -> subprocess.Popen:
    """`reup worker` beside the app servers (their database and event channel, so its events reach
    the pages), with a short leader lease; stop it with `stop_server`."""
    full = _app_env(db_url)
    full.update({"PYTHONPATH": str(ROOT), "REUP_WORKER_LEASE_TTL_MS": "2000", "REUP_WORKER_POLL_SECONDS": "0.5", **env})
    log = open(ROOT / "var" / log_name, "w")
    code = "import sys; from reup_app.cli import main; sys.exit(main(['worker']))"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=full, stdout=log, stderr=subprocess.STDOUT)
    proc.log_file = log  # type: ignore[attr-defined]  # closed by stop_server
    return proc


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    proc.log_file.close()


@pytest.fixture(scope="session")
def app_url(demo_db_url, dutchie_sandbox_session) -> str:
    env = _app_env(demo_db_url)
    env["REUP_DUTCHIE_BASE_URL"] = dutchie_sandbox_session.base_url  # stores connected in a test use the sandbox
    _ensure_frontend_built(env)
    assert _port_free(PORT), f"port {PORT} is busy; set REUP_TEST_PORT"
    proc = start_server(env)
    yield BASE_URL
    stop_server(proc)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(base_url=app_url, viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(15000)
    yield pg
    context.close()
