"""A MariaDB primary and a TLS-only replica on loopback, for tests and benchmarks (docs/DEPLOY.md).

    python deploy/mariadb_pair.py start DIR [--primary-port 13310 --replica-port 13311]
    python deploy/mariadb_pair.py stop DIR

Everything lives in DIR: a test CA and server certificate (openssl), a second "rogue" CA whose
certificate the replica is *not* signed by, the two data directories and their logs. The replica
has `require_secure_transport=ON` and replicates from the primary by GTID. Users: `reup`/`reup`
(all privileges, from 127.0.0.1) on both, `repl`/`repl` for replication. Needs the MariaDB server
binaries (`mariadbd`, `mariadb-install-db`, `mariadb`) and `openssl`; runs nothing as a service.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

USER, PASSWORD = "reup", "reup"
_children: dict[str, subprocess.Popen] = {}  # servers started by this process


def _run(*cmd: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def make_certs(d: Path) -> None:
    """ca.pem/ca-key.pem, server.pem/server-key.pem (CN 127.0.0.1, SAN IP:127.0.0.1) and rogue-ca.pem."""
    d.mkdir(parents=True, exist_ok=True)
    for ca in ("ca", "rogue-ca"):
        _run(
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", f"/CN=ReUp test {ca}", "-keyout", str(d / f"{ca}-key.pem"), "-out", str(d / f"{ca}.pem"),
        )  # fmt: skip
    ext = d / "san.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _run(
        "openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", str(d / "server-key.pem"), "-out", str(d / "server.csr"),
    )  # fmt: skip
    _run(
        "openssl", "x509", "-req", "-in", str(d / "server.csr"), "-CA", str(d / "ca.pem"),
        "-CAkey", str(d / "ca-key.pem"), "-CAcreateserial", "-days", "2", "-extfile", str(ext),
        "-out", str(d / "server.pem"),
    )  # fmt: skip


@dataclass
class Server:
    name: str
    port: int
    datadir: Path
    server_id: int
    tls_required: bool = False

    @property
    def socket(self) -> Path:
        return self.datadir.parent / f"{self.name}.sock"

    @property
    def pidfile(self) -> Path:
        return self.datadir.parent / f"{self.name}.pid"

    def url(self, database: str = "") -> str:
        return f"mysql+pymysql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def sql(self, statement: str) -> str:
        """Run SQL as root over the unix socket (no TLS needed there); tab-separated output."""
        return _run("mariadb", "--no-defaults", "-uroot", f"--socket={self.socket}", "-N", "-B", "-e", statement).stdout

    def start(self, certs: Path) -> None:
        if not (self.datadir / "mysql").exists():
            self.datadir.mkdir(parents=True, exist_ok=True)
            _run(
                "mariadb-install-db", "--no-defaults", f"--datadir={self.datadir}", "--user=" + _user(),
                "--auth-root-authentication-method=normal", "--skip-test-db",
            )  # fmt: skip
        args = [
            "mariadbd", "--no-defaults", f"--datadir={self.datadir}", f"--port={self.port}",
            "--bind-address=127.0.0.1", f"--socket={self.socket}", f"--pid-file={self.pidfile}",
            f"--server-id={self.server_id}", "--log-bin=binlog", "--binlog-format=ROW",
            "--innodb-buffer-pool-size=64M", "--innodb-log-file-size=16M", "--skip-name-resolve",
            "--max-connections=500", f"--log-error={self.datadir.parent / (self.name + '.err')}",
            f"--ssl-ca={certs / 'ca.pem'}", f"--ssl-cert={certs / 'server.pem'}", f"--ssl-key={certs / 'server-key.pem'}",
            "--user=" + _user(),
        ]  # fmt: skip
        if self.tls_required:
            args.append("--require-secure-transport=ON")
        _children[self.name + str(self.port)] = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                self.sql("SELECT 1")
                return
            except subprocess.CalledProcessError:
                time.sleep(0.2)
        raise RuntimeError(f"mariadbd {self.name} did not start; see {self.datadir.parent / (self.name + '.err')}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        try:
            pid = int(self.pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.time() + timeout
        while _alive(pid):
            if time.time() > deadline:
                os.kill(pid, signal.SIGKILL)
                deadline = time.time() + 10
            time.sleep(0.05)
        _children.pop(self.name + str(self.port), None)


def _alive(pid: int) -> bool:
    """False once the process is gone or a zombie (reaped here when it is our child)."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _user() -> str:
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name


def servers(base: Path, primary_port: int, replica_port: int) -> tuple[Server, Server]:
    return (
        Server("primary", primary_port, base / "primary-data", 1),
        Server("replica", replica_port, base / "replica-data", 2, tls_required=True),
    )


def start(base: Path, primary_port: int, replica_port: int) -> tuple[Server, Server]:
    certs = base / "certs"
    if not (certs / "server.pem").exists():
        make_certs(certs)
    primary, replica = servers(base, primary_port, replica_port)
    fresh = not (replica.datadir / "mysql").exists()
    primary.start(certs)
    replica.start(certs)
    if fresh:
        for s in (primary, replica):
            s.sql(
                f"CREATE USER IF NOT EXISTS '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}';"
                f"GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'127.0.0.1' WITH GRANT OPTION;"
                "CREATE USER IF NOT EXISTS 'repl'@'127.0.0.1' IDENTIFIED BY 'repl';"
                "GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1';"
            )
        replica.sql("SET GLOBAL gtid_slave_pos = '';")  # the users above are local to each server
        gtid = primary.sql("SELECT @@gtid_binlog_pos").strip()
        replica.sql(
            f"SET GLOBAL gtid_slave_pos = '{gtid}';"
            f"CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={primary.port}, MASTER_USER='repl',"
            " MASTER_PASSWORD='repl', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1; START SLAVE;"
        )
    else:
        replica.sql("START SLAVE;")
    return primary, replica


def stop(base: Path, primary_port: int = 0, replica_port: int = 0, *, kill: bool = False) -> None:
    """Stop both servers (`kill`: SIGKILL at once, for throw-away test data)."""
    for s in servers(base, primary_port, replica_port):
        s.stop(signal.SIGKILL if kill else signal.SIGTERM)


def wait_replicated(primary: Server, replica: Server, timeout: float = 30) -> None:
    """Block until the replica has applied everything the primary has written so far."""
    gtid = primary.sql("SELECT @@gtid_binlog_pos").strip()
    out = replica.sql(f"SELECT MASTER_GTID_WAIT('{gtid}', {timeout})").strip()
    if out != "0":
        raise TimeoutError(f"replica did not reach {gtid} in {timeout} s")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python deploy/mariadb_pair.py")
    p.add_argument("action", choices=("start", "stop", "destroy"))
    p.add_argument("dir", type=Path)
    p.add_argument("--primary-port", type=int, default=13310)
    p.add_argument("--replica-port", type=int, default=13311)
    a = p.parse_args(argv)
    if a.action == "start":
        primary, replica = start(a.dir, a.primary_port, a.replica_port)
        print(f"primary {primary.url()}\nreplica {replica.url()} (TLS required; CA {a.dir / 'certs' / 'ca.pem'})")
    else:
        stop(a.dir)
        if a.action == "destroy":
            shutil.rmtree(a.dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
