"""What the sync benchmarks share: a vendor sandbox started on a free port with bulk data, a freshly
migrated database, and a rate-limit budget of their own in Redis."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy.engine import Engine, make_url

from reup_app import migrations
from reup_app.db import build_engine
from reup_app.db_admin import fresh_mysql_database
from reup_app.integrations.http.ratelimit import limiter_for

REDIS_URL = os.environ.get("REUP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
ROOT = Path(__file__).resolve().parent.parent


def start_sandbox(vendor: str, bulk: list[str], timeout: float) -> tuple[subprocess.Popen, str]:
    """`reup_app.sandboxes <vendor> --seed empty <bulk...>` on a free port; (process, base URL) once healthy."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "reup_app.sandboxes", vendor, "--port", str(port), "--seed", "empty", *bulk]
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sandbox exited with {proc.returncode}")
        try:
            if httpx.get(url + "/_sandbox/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"sandbox did not start within {timeout:g} s")


def stop_sandbox(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=10)


def migrated_database(name: str) -> tuple[str, Engine]:
    """(Re)create database `name`, migrate it to head; (URL, engine)."""
    url = fresh_mysql_database(name)
    print(f"database {make_url(url).database}: migrating ...", flush=True)
    migrations.upgrade(url)
    return url, build_engine(url)


def bench_limiter():
    """The Redis limiter with a key prefix of this run's own, so no earlier run's budget is spent."""
    return limiter_for(REDIS_URL, prefix=f"reup:bench:{uuid.uuid4().hex[:8]}:")
