"""Start (and stop) the whole scale-out topology on loopback, for tests and benchmarks.

    python deploy/topology.py start DIR [--apps 3] [--port 3170] [--base-port 3171]
    python deploy/topology.py stop DIR

What runs (every process is started here and stopped by `stop`; nothing is installed as a service):
- MariaDB primary + TLS-only replica (deploy/mariadb_pair.py), a migrated database on the primary;
- Redis (redis-server, no persistence) for Reflex state, the event bus, leases and pins;
- N app instances (`python -m reup_app.serve`, one granian worker each) on base-port, base-port+1...;
- `reup worker` twice: one takes the Redis lease (leader), the other waits (standby);
- nginx (Debian's package) on --port, proxying pages, /api and the /_event WebSocket to the apps
  with the config rendered from deploy/nginx/reup-loopback.conf.

The frontend must be built for the nginx URL first (`REUP_PORT=<port> reflex export --frontend-only
--no-zip`, as scripts/test.sh does). `DIR/topology.json` records ports and pids for `stop`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deploy import mariadb_pair  # noqa: E402


def _wait_http(url: str, timeout: float, ok=(200,)) -> None:
    deadline = time.time() + timeout
    last = ""
    while time.time() < deadline:
        try:
            r = httpx.get(url, timeout=2)
            if r.status_code in ok:
                return
            last = f"HTTP {r.status_code}"
        except httpx.HTTPError as err:
            last = type(err).__name__
        time.sleep(0.3)
    raise TimeoutError(f"{url} not ready after {timeout} s ({last})")


class Topology:
    def __init__(self, base: Path, *, apps: int = 3, port: int = 3170, base_port: int = 3171,
                 mysql_port: int = 13340, redis_port: int = 16380) -> None:  # fmt: skip
        self.base = base
        self.apps, self.port, self.base_port = apps, port, base_port
        self.mysql_port, self.redis_port = mysql_port, redis_port
        self.procs: dict[str, subprocess.Popen] = {}
        self.database = ""
        self.channel = f"reup:topo:{uuid.uuid4().hex[:6]}"
        self.primary, self.replica = mariadb_pair.servers(base / "mysql", mysql_port, mysql_port + 1)

    # --- settings every ReUp process of the topology gets ---
    def env(self) -> dict[str, str]:
        db = self.database
        return {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "REUP_DATABASE_URL": self.primary.url(db) + "?charset=utf8mb4",
            "REUP_DATABASE_REPLICA_URLS": self.replica.url(db) + "?charset=utf8mb4",
            "REUP_DB_SSL_CA": str(self.base / "mysql" / "certs" / "ca.pem"),
            "REUP_REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "REUP_EVENT_CHANNEL": self.channel,
            "REUP_APP_URL": f"http://localhost:{self.port}",
            "REUP_PORT": str(self.port),
            "REUP_TRUSTED_PROXY_HOPS": "1",
            "REUP_WORKER_LEASE_TTL_MS": "3000",
            "REFLEX_TELEMETRY_ENABLED": "false",
            "REFLEX_CHECK_LATEST_VERSION": "0",
        }

    def app_port(self, i: int) -> int:
        return self.base_port + i

    def _spawn(self, name: str, args: list[str], **kw) -> subprocess.Popen:
        log = open(self.base / f"{name}.log", "ab")
        p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True, **kw)
        self.procs[name] = p
        return p

    # --- pieces ---
    def start_mysql(self) -> None:
        self.primary, self.replica = mariadb_pair.start(self.base / "mysql", self.mysql_port, self.mysql_port + 1)

    def migrate(self) -> None:
        from reup_app import migrations

        self.database = self.database or f"reup_topo_{uuid.uuid4().hex[:6]}"
        self.primary.sql(f"CREATE DATABASE IF NOT EXISTS {self.database} CHARACTER SET utf8mb4")
        migrations.upgrade(self.primary.url(self.database) + "?charset=utf8mb4")
        mariadb_pair.wait_replicated(self.primary, self.replica)

    def start_redis(self) -> None:
        self._spawn("redis", ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no"])  # fmt: skip
        deadline = time.time() + 10
        while subprocess.run(["redis-cli", "-p", str(self.redis_port), "ping"], capture_output=True).returncode:
            if time.time() > deadline:
                raise TimeoutError("redis-server did not start")
            time.sleep(0.1)

    def start_app(self, i: int, wait: bool = True) -> None:
        port = self.app_port(i)
        args = [sys.executable, "-m", "reup_app.serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        self._spawn(f"app{i}", args, env=self.env())
        if wait:
            _wait_http(f"http://127.0.0.1:{port}/api/health/ready", 120)

    def wait_ready(self, i: int, timeout: float = 120) -> None:
        _wait_http(f"http://127.0.0.1:{self.app_port(i)}/api/health/ready", timeout)

    def start_worker(self, i: int) -> None:
        self._spawn(f"worker{i}", [sys.executable, "-m", "reup_app.cli", "worker"], env=self.env())

    def nginx_conf(self, upstreams: int | None = None) -> Path:
        template = (ROOT / "deploy" / "nginx" / "reup-loopback.conf").read_text()
        servers = "\n".join(
            f"        server 127.0.0.1:{self.app_port(i)} max_fails=1 fail_timeout=3s;"
            for i in range(upstreams or self.apps)
        )
        conf = (
            template.replace("@PREFIX@", str(self.base / "nginx"))
            .replace("@LISTEN@", f"127.0.0.1:{self.port}")
            .replace("@UPSTREAMS@", servers)
            .replace("@USER@", "user root;" if os.getuid() == 0 else "")
        )
        (self.base / "nginx").mkdir(parents=True, exist_ok=True)
        path = self.base / "nginx" / "nginx.conf"
        path.write_text(conf)
        return path

    def start_nginx(self) -> None:
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        conf = self.nginx_conf()
        self._spawn("nginx", [nginx, "-p", str(self.base / "nginx"), "-c", str(conf), "-g", "daemon off;"])
        _wait_http(f"http://127.0.0.1:{self.port}/api/health/ready", 30)

    def set_upstreams(self, n: int) -> None:
        """Send traffic to the first `n` app instances only (nginx reloads its config gracefully)."""
        conf = self.nginx_conf(n)
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        subprocess.run([nginx, "-p", str(self.base / "nginx"), "-c", str(conf), "-s", "reload"], check=True)
        time.sleep(1.0)

    # --- whole topology ---
    def start(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        self.start_mysql()
        self.migrate()
        self.start_redis()
        for i in range(self.apps):
            self.start_app(i, wait=False)
        for i in range(self.apps):
            _wait_http(f"http://127.0.0.1:{self.app_port(i)}/api/health/ready", 180)
        for i in range(2):
            self.start_worker(i)
        self.start_nginx()
        self.save()

    def stop_proc(self, name: str, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        """Send `sig` to the process group (SIGKILL: a crash), wait up to `timeout`, then SIGKILL."""
        p = self.procs.pop(name, None)
        if p is None or p.poll() is not None:
            return
        self._signal_group(p, sig)
        self._reap(p, timeout)

    @staticmethod
    def _signal_group(p: subprocess.Popen, sig: int) -> None:
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            pass

    def _reap(self, p: subprocess.Popen, timeout: float) -> None:
        try:
            p.wait(max(0.1, timeout))
        except subprocess.TimeoutExpired:
            self._signal_group(p, signal.SIGKILL)
            p.wait()

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM everything at once, SIGKILL what is left after `timeout`, then the databases."""
        procs = list(self.procs.values())
        self.procs.clear()
        for p in procs:
            self._signal_group(p, signal.SIGTERM)
        deadline = time.time() + timeout
        for p in procs:
            self._reap(p, deadline - time.time())
        mariadb_pair.stop(self.base / "mysql", kill=True)

    def save(self) -> None:
        state = {"pids": {n: p.pid for n, p in self.procs.items()}, "mysql": self.mysql_port, "database": self.database}
        (self.base / "topology.json").write_text(json.dumps(state))


def stop_from_file(base: Path) -> None:
    state = json.loads((base / "topology.json").read_text())
    for pid in state["pids"].values():
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    time.sleep(2)
    for pid in state["pids"].values():
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    mariadb_pair.stop(base / "mysql")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python deploy/topology.py")
    p.add_argument("action", choices=("start", "stop"))
    p.add_argument("dir", type=Path)
    p.add_argument("--apps", type=int, default=3)
    p.add_argument("--port", type=int, default=3170, help="nginx (the frontend must be built for this port)")
    p.add_argument("--base-port", type=int, default=3171, help="first app instance's port")
    p.add_argument("--mysql-port", type=int, default=13340, help="primary; the replica is the next port")
    p.add_argument("--redis-port", type=int, default=16380)
    a = p.parse_args(argv)
    if a.action == "stop":
        stop_from_file(a.dir)
        return 0
    topo = Topology(a.dir, apps=a.apps, port=a.port, base_port=a.base_port, mysql_port=a.mysql_port,
                    redis_port=a.redis_port)  # fmt: skip
    topo.start()
    print(f"ReUp behind nginx: http://localhost:{a.port}  (apps on {a.base_port}..{a.base_port + a.apps - 1})")
    print(f"database {topo.database}; stop with: python deploy/topology.py stop {a.dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
