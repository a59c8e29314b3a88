"""Load test through nginx with locust: signed-in sessions browsing the catalog over Reflex's socket
(plus page and API requests over HTTP), retailers checking out, at 1 app instance and at 3.

    python -m bench.load_bench [--sessions 1000] [--buyers 50] [--seconds 60] [--apps 3] [--port 3170]
                               [--think 5 15] [--spawn-rate 10] [--browse same|other]

1. Starts the loopback topology (deploy/topology.py): MariaDB primary + TLS replica, Redis,
   `--apps` instances, worker leader + standby, nginx on `--port` (the frontend must be built for
   it: `REUP_PORT=3170 reflex export --frontend-only --no-zip`).
2. Seeds one wholesaler with products and `--buyers` retailers (one buyer each), plus browsing users.
3. Phase "1 instance": nginx sends everything to instance 0; locust runs `--sessions` browsing
   users (each: a WebSocket tab, hydrated as the browser does; `--users` distinct users, each
   user's first tab signs in with the password (AuthState.login, an argon2 check) and sets the
   session cookie, the user's other tabs restore from that cookie as a new browser tab does;
   then catalog loads as event round trips (of the buyers' seller with `--browse same`, the
   default and the worst case for the live catalog: every order changes stock every tab shows; of
   another seller with `--browse other`), and GET /marketplace + /api/health/ready over HTTP, one
   action every `--think` seconds, uniformly drawn: a person reading a catalog page between clicks)
   and `--buyers` checkout users (product page -> add to cart -> cart -> place orders, through the
   real event handlers, one order every `--think` seconds; each signs in with its password). Users start at
   `--spawn-rate` per second. A user whose sign-in failed (counted as an error), or who was told to
   sign in again, signs in at its next action instead of acting signed out for the rest of the run.
4. Phase "N instances": nginx reloaded with all instances; the same load again.

Prints per phase: p50/p95/p99 of event round trips, of checkout (place orders -> "Placed ..."),
and of HTTP requests; the error rate; throughput (completed requests/s); the app instances' CPU;
then the scaling ratio (throughput N / throughput 1). Percentiles by bench/stats.percentile over
raw samples (not locust's rounded buckets).
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import psutil  # noqa: E402
from locust import FastHttpUser, between, events, task  # noqa: E402
from locust.env import Environment  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.reflex_ws import SessionCookie, Shopper, Tab, TabClosed, event_names  # noqa: E402
from bench.stats import percentile  # noqa: E402
from deploy.topology import Topology  # noqa: E402

PASSWORD = "Test-Password-123"  # tests/factories.py DEFAULT_PASSWORD
CFG: dict = {}
SAMPLES: dict[str, list[float]] = defaultdict(list)
FAILURES: dict[str, int] = defaultdict(int)
FIRST_ERROR: dict[str, str] = {}  # name -> the first failure's text, printed with the counts


@events.request.add_listener
def _record(request_type, name, response_time, response_length, exception=None, **_kw):
    if exception is None:
        SAMPLES[name].append(response_time)
    else:
        FAILURES[name] += 1
        FIRST_ERROR.setdefault(name, f"{type(exception).__name__}: {str(exception)[:160]}")


def _timed(env_events, kind: str, name: str, fn):
    t = time.perf_counter()
    exc = None
    result = None
    try:
        result = fn()
    except Exception as err:  # counted as an error of this request
        exc = err
    env_events.request.fire(
        request_type=kind, name=name, response_time=(time.perf_counter() - t) * 1000, response_length=0, exception=exc
    )
    return result, exc


class Browser(FastHttpUser):
    """A signed-in session on the catalog: WebSocket event round trips plus page/API requests."""

    wait_time = between(5, 15)  # set from --think by main
    fixed_count = 1  # set per phase by run_phase

    def on_start(self) -> None:
        i = CFG["next_browser"] = CFG.get("next_browser", 0) + 1
        email = CFG["browsers"][i % len(CFG["browsers"])]
        self.shopper = Shopper(Tab(CFG["ws"], CFG["origin"]), email, PASSWORD, CFG["names"])
        self.cookie = CFG["cookies"].setdefault(email, SessionCookie(self.host, CFG["origin"]))
        self.signed_in = self._open()
        CFG["opened"] += 1

    def _open(self) -> bool:
        """Open the signed-in tab (an error of its own when it fails); True when signed in."""
        _, exc = _timed(
            self.environment.events, "WS", "open signed-in tab", lambda: self.shopper.open_signed_in(self.cookie)
        )
        return exc is None

    @task(4)
    def catalog_event(self) -> None:
        if not self.signed_in:  # a person whose sign-in failed signs in again before browsing on
            self.signed_in = self._open()
            return
        _, exc = _timed(self.environment.events, "WS", "event round trip", lambda: self.shopper.browse(CFG["browse"]))
        if isinstance(exc, TabClosed | TimeoutError):
            self.shopper.tab.close()

    @task(1)
    def page(self) -> None:
        self.client.get("/marketplace", name="GET page")

    @task(1)
    def ready(self) -> None:
        self.client.get("/api/health/ready", name="GET /api/health/ready")

    def on_stop(self) -> None:
        self.shopper.tab.close()


class Buyer(FastHttpUser):
    """A retailer ordering one unit at a time."""

    wait_time = between(5, 15)  # set from --think by main
    fixed_count = 1

    def on_start(self) -> None:
        i = CFG["next_buyer"] = CFG.get("next_buyer", 0) + 1
        email = CFG["buyers"][i % len(CFG["buyers"])]
        self.shopper = Shopper(Tab(CFG["ws"], CFG["origin"]), email, PASSWORD, CFG["names"])
        self.signed_in = self._sign_in()
        CFG["opened"] += 1

    def _sign_in(self) -> bool:
        """Sign in with the password (an error of its own when it fails); True when signed in."""
        return _timed(self.environment.events, "WS", "sign in", self.shopper.sign_in)[1] is None

    @task
    def order(self) -> None:
        ev = self.environment.events
        if not self.signed_in:  # a retailer whose sign-in failed signs in again, then orders on
            self.signed_in = self._sign_in()
            return
        product = CFG["products"][int(time.time() * 1000) % len(CFG["products"])]
        _, exc = _timed(ev, "WS", "add to cart", lambda: self._add(product))
        if exc is None:
            _timed(ev, "WS", "cart", self.shopper.load_cart)
            placed, exc = _timed(ev, "WS", "checkout", self._place)
        if exc is not None:
            self.shopper.tab.close()
            self.signed_in = "sign in" not in str(exc).lower()  # signed out: sign in again next time

    def _add(self, product: int) -> None:
        if error := self.shopper.add_one(product):
            raise RuntimeError(error)

    def _place(self) -> list[str]:
        numbers, error = self.shopper.place()
        if error:
            raise RuntimeError(error)
        return numbers

    def on_stop(self) -> None:
        self.shopper.tab.close()


def seed(topo: Topology, buyers: int, browsing_users: int, browse: str) -> None:
    from sqlmodel import Session

    from reup_app.db import build_engine
    from reup_app.services.audit.trail import install_audit_listener
    from tests.factories import make_member
    from tests.integration.orderkit import make_buyer, make_seller, stock

    install_audit_listener()
    env = topo.env()
    engine = build_engine(env["REUP_DATABASE_URL"], env["REUP_DB_SSL_CA"])
    with Session(engine, expire_on_commit=False) as s:
        seller, other = make_seller(s, terms="cod"), make_seller(s, terms="cod")
        CFG["products"] = [stock(s, seller, qty="1000000", price="2.00")[0].id for _ in range(30)]
        for _ in range(30):
            stock(s, other, qty="1000000", price="2.00")
        shown = seller if browse == "same" else other
        CFG["browse"] = f"/marketplace?seller={shown.id}"
        retailers = [make_buyer(s) for _ in range(buyers)]
        CFG["buyers"] = [_email(s, r.owner.user_id) for r in retailers]
        browsing = [make_member(s, retailers[i % len(retailers)].entity, "viewer")[0] for i in range(browsing_users)]
        CFG["browsers"] = [u.email for u in browsing]
    engine.dispose()


def _email(s, user_id: int) -> str:
    from reup_app.models.identity import User

    user = s.get(User, user_id)
    assert user is not None
    return user.email


def run_phase(topo: Topology, label: str, sessions: int, buyers: int, seconds: float, rate: float) -> dict:
    SAMPLES.clear()
    FAILURES.clear()
    FIRST_ERROR.clear()
    CFG["cookies"] = {}  # every phase signs its users in afresh
    CFG["opened"] = 0
    env = Environment(user_classes=[Browser, Buyer], events=events, host=f"http://127.0.0.1:{topo.port}")
    runner = env.create_local_runner()
    Browser.fixed_count, Buyer.fixed_count = sessions, buyers
    started = time.perf_counter()
    runner.start(sessions + buyers, spawn_rate=rate)
    deadline = started + 3 * (sessions + buyers) / rate + 60
    while CFG["opened"] < sessions + buyers and time.perf_counter() < deadline:
        gevent.sleep(1)  # everyone signed in before measuring
    ramp = time.perf_counter() - started
    gevent.sleep(5)
    SAMPLES.clear()
    FAILURES.clear()
    FIRST_ERROR.clear()
    parts = _components(topo)
    cpu0 = {name: sum(_cpu(p) for p in procs) for name, procs in parts.items()}
    t0 = time.perf_counter()
    gevent.sleep(seconds)
    elapsed = time.perf_counter() - t0
    snapshot = {k: list(v) for k, v in SAMPLES.items()}
    failures = dict(FAILURES)
    cpu = {name: (sum(_cpu(p) for p in procs) - cpu0[name]) / elapsed * 100 for name, procs in parts.items()}
    gevent.spawn(runner.quit).join(timeout=15)  # users stuck in a socket read are abandoned
    total_ok = sum(len(v) for v in snapshot.values())
    total_err = sum(failures.values())
    return {
        "label": label,
        "samples": snapshot,
        "failures": failures,
        "first_errors": dict(FIRST_ERROR),
        "elapsed": elapsed,
        "throughput": total_ok / elapsed,
        "error_rate": total_err / max(1, total_ok + total_err),
        "cpu": cpu,
        "ramp": ramp,
        "opened": CFG["opened"],
        "load_average": psutil.getloadavg()[0],
    }


def _components(topo: Topology) -> dict[str, list[psutil.Process]]:
    """The processes sharing this machine's cores, by part: the topology's and this one."""

    def named(prefix: str) -> list[psutil.Process]:
        return [psutil.Process(p.pid) for n, p in topo.procs.items() if n.startswith(prefix) and p.poll() is None]

    mariadb = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        if proc.info["name"] == "mariadbd" and str(topo.base) in " ".join(proc.info["cmdline"] or []):
            mariadb.append(proc)
    return {
        "app instances": named("app"),
        "job workers": named("worker"),
        "nginx": named("nginx"),
        "redis": named("redis"),
        "mariadb (primary + replica)": mariadb,
        "load generator (locust, this process)": [_Alone(os.getpid())],
    }


class _Alone(psutil.Process):
    """A process counted without its children (this one started the whole topology)."""

    def children(self, recursive: bool = False) -> list[psutil.Process]:
        return []


def _cpu(p: psutil.Process) -> float:
    total = 0.0
    for proc in [p, *p.children(recursive=True)]:
        try:
            t = proc.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def report(r: dict) -> None:
    print(f"\n== {r['label']}: {r['elapsed']:.0f} s measured")
    names = ("event round trip", "checkout", "add to cart", "cart", "open signed-in tab", "sign in", "GET page")
    for name in (*names, "GET /api/health/ready"):
        v = r["samples"].get(name, [])
        if v:
            print(
                f"  {name:24} n={len(v):6}  p50 {percentile(v, 50):7.1f} ms  p95 {percentile(v, 95):7.1f} ms  "
                f"p99 {percentile(v, 99):7.1f} ms"
            )
    print(f"  throughput {r['throughput']:.1f} requests/s; error rate {r['error_rate']:.4%} {r['failures'] or ''}")
    for name, text in r["first_errors"].items():
        print(f"    first {name} error: {text}")
    print(f"  {r['opened']} users signed in {r['ramp']:.0f} s after the start")
    print("  CPU (% of one core): " + ", ".join(f"{k} {v:.0f}%" for k, v in r["cpu"].items()))
    print(f"  CPU total {sum(r['cpu'].values()):.0f}% of {psutil.cpu_count() * 100}%")
    print(f"  machine load average (1 min): {r['load_average']:.1f} on {psutil.cpu_count()} cores", flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.load_bench")
    p.add_argument("--sessions", type=int, default=1000)
    p.add_argument("--buyers", type=int, default=50)
    p.add_argument("--users", type=int, default=40, help="distinct browsing users the sessions sign in as")
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--apps", type=int, default=3)
    p.add_argument("--port", type=int, default=3170)
    p.add_argument("--think", type=float, nargs=2, default=(5.0, 15.0), metavar=("MIN", "MAX"))
    p.add_argument("--spawn-rate", type=float, default=10.0, help="users started per second")
    p.add_argument(
        "--browse",
        choices=("same", "other"),
        default="same",
        help="browsing tabs show the seller the buyers order from (every order changes stock they show) or another",
    )
    a = p.parse_args(argv)
    Browser.wait_time = Buyer.wait_time = between(*a.think)
    print(f"sessions act every {a.think[0]:g}-{a.think[1]:g} s; users start at {a.spawn_rate:g}/s", flush=True)
    base = Path(tempfile.mkdtemp(prefix="reup-load-"))
    topo = Topology(base, apps=a.apps, port=a.port, base_port=a.port + 1, mysql_port=13360, redis_port=16395)
    try:
        topo.start()
        seed(topo, a.buyers, a.users, a.browse)
        CFG.update(ws=f"ws://127.0.0.1:{a.port}", origin=topo.env()["REUP_APP_URL"], names=event_names())
        results = []
        for n in (1, a.apps):
            topo.set_upstreams(n)
            results.append(run_phase(topo, f"{n} instance(s)", a.sessions, a.buyers, a.seconds, a.spawn_rate))
            report(results[-1])
        one, many = results
        ratio = many["throughput"] / one["throughput"] if one["throughput"] else float("nan")
        print(f"\nscaling ratio ({a.apps} vs 1 instance): {ratio:.2f}x on {psutil.cpu_count()} cores")
    finally:
        topo.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
