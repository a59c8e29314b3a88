"""Real-time delivery benchmark: new orders reaching 200 open wholesaler sessions.

    python -m bench.realtime_bench [--sessions 200] [--users 40] [--orders 40] [--sellers 1|2] [--port 3400]

What it does, all on this machine:
1. Creates its own MySQL database with the demo seed, plus `--users` extra sales users of Pacific
   Bloom (`--sellers 1`: every session receives every order, the worst case) or of Pacific Bloom and
   Emerald Coast (`--sellers 2`: sessions and orders split between the two wholesalers).
2. Starts the production app (`python -m reup_app.serve --workers 2`, Redis state and event bus).
3. Opens `--sessions` WebSocket sessions speaking Reflex's own socket protocol (bench/reflex_socket.py),
   signs each in through AuthState.login (the users spread over the sessions, several tabs each),
   and mounts the notification bell (NotificationState.connect), as the browser does.
4. Measures a raw Redis publish -> subscribe round trip in the same event loop (the floor).
5. Retailers (2 processes: Greenleaf and Canopy buyers) submit orders to the wholesaler(s) through
   the service layer, one at a time each, `--interval` apart.
6. Submit-to-received latency: from the start of the retailer's checkout call to the moment each
   session receives the state delta whose bell list shows that order (what the browser renders).

Prints p50/p95/p99/max over all (order, entitled session) pairs, how many were missed or reached
another wholesaler's session (must be 0), and the ratio of
the p50/p95 to Redis's raw round trip. Target: p95 <= 250 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import redis
import redis.asyncio as aioredis

from bench.reflex_socket import ReflexSocket

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("REUP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
BENCH_PASSWORD = "Bench-realtime-2026!"
SELLERS = ("Pacific Bloom Distribution", "Emerald Coast Supply Co.")
RETAILERS = ("buyer@greenleaf.demo", "buyer@canopy.demo")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# ------------------------------------------------------------------------------------------
# Set-up: database, users, app server
# ------------------------------------------------------------------------------------------


def app_env(db_url: str, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "REUP_DATABASE_URL": db_url,
            "REUP_REDIS_URL": REDIS_URL,
            "REUP_PORT": str(port),
            "REUP_APP_URL": f"http://localhost:{port}",
            "REUP_EVENT_CHANNEL": f"reup:events:bench:{port}",
            "REFLEX_TELEMETRY_ENABLED": "false",
            "REFLEX_CHECK_LATEST_VERSION": "0",
            "REFLEX_USE_SYSTEM_BUN": "1",
            "PATH": f"{ROOT / '.tools/node_modules/.bin'}:{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        }
    )
    return env


def use_env(env: dict[str, str]) -> None:
    """Point this process (settings, engine, bus) at the bench database and channel."""
    from reup_app.db import reset_engine
    from reup_app.events.bus import set_bus
    from reup_app.settings import reset_settings_cache

    for key in ("REUP_DATABASE_URL", "REUP_REDIS_URL", "REUP_PORT", "REUP_APP_URL", "REUP_EVENT_CHANNEL"):
        os.environ[key] = env[key]
    reset_settings_cache()
    reset_engine()
    set_bus(None)


def add_sales_users(count: int, sellers: int) -> list[tuple[str, int]]:
    """`count` sales users spread over the first `sellers` wholesalers: [(email, seller index)]."""
    from reup_app.db import unit_of_work
    from reup_app.models import Membership, User
    from reup_app.security.passwords import hash_password
    from reup_app.seed.demo_orders import entity_id_named

    seller_ids = [entity_id_named(name) for name in SELLERS[:sellers]]
    pw_hash = hash_password(BENCH_PASSWORD)
    users = [(f"bench-sales-{i:03d}@seller{i % sellers}.demo", i % sellers) for i in range(count)]
    with unit_of_work(None) as s:
        for email, seller in users:
            user = User(email=email, full_name=f"Bench {email[:15]}", password_hash=pw_hash)
            s.add(user)
            s.flush()
            s.add(Membership(user_id=user.id, entity_id=seller_ids[seller], role="sales"))
    return users


def ensure_frontend(env: dict[str, str], port: int) -> None:
    env_json = ROOT / ".web" / "env.json"
    if not (
        (ROOT / ".web" / "build" / "client").is_dir() and env_json.exists() and f":{port}/" in env_json.read_text()
    ):
        subprocess.run(
            [sys.executable, "-m", "reflex", "export", "--frontend-only", "--no-zip", "--loglevel", "warning"],
            cwd=ROOT,
            env=env,
            check=True,
        )


def start_server(env: dict[str, str], port: int, workers: int) -> subprocess.Popen:
    (ROOT / "var").mkdir(exist_ok=True)
    log = open(ROOT / "var" / "realtime-bench-server.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "reup_app.serve", "--port", str(port), "--workers", str(workers)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # its own process group: stopped with its workers
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("app server exited; see var/realtime-bench-server.log")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    stop_server(proc)
    raise RuntimeError("app server did not start in 90 s")


def stop_server(proc: subprocess.Popen) -> None:
    """Stop the server and every process it started (the whole process group)."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            os.killpg(proc.pid, signal.SIGKILL)  # workers that outlived their parent
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue
        return


# ------------------------------------------------------------------------------------------
# Retailers (separate processes, like browsers' server-side handlers or the job worker)
# ------------------------------------------------------------------------------------------


def retailer(env: dict[str, str], email: str, orders: int, sellers: int, interval: float, start_at: float, out) -> None:
    """Submit `orders` orders, one at a time, to the first `sellers` wholesalers in turn."""
    use_env(env)
    from reup_app.seed.demo_orders import demo_principal, entity_id_named, place_demo_order

    buyer, seller_ids = demo_principal(email), [entity_id_named(name) for name in SELLERS[:sellers]]
    time.sleep(max(0.0, start_at - time.time()))
    for n in range(orders):
        t0 = time.time()
        number = place_demo_order(buyer, seller_ids[n % sellers])
        out.put((number, n % sellers, t0, time.time()))
        time.sleep(interval)
    out.put(None)


# ------------------------------------------------------------------------------------------
# Sessions
# ------------------------------------------------------------------------------------------


class Sessions:
    def __init__(self, port: int, count: int, users: list[tuple[str, int]]) -> None:
        from reflex_base.utils.format import format_event_handler

        from reup_app.state.auth import AuthState
        from reup_app.state.notifications import NotificationState

        self.login_event = format_event_handler(AuthState.login)
        self.connect_event = format_event_handler(NotificationState.connect)
        self.auth_key = AuthState.get_full_name()
        self.bell_key = NotificationState.get_full_name()
        self.port, self.count, self.users = port, count, users
        self.seller_of: dict[str, int] = {}  # token -> index of the wholesaler it is signed in for
        self.sockets: list[ReflexSocket] = []
        self.signed_in: dict[str, asyncio.Event] = {}
        self.bell_ready: dict[str, asyncio.Event] = {}
        self.seen: dict[tuple[str, str], float] = {}  # (order number, token) -> first received (epoch s)
        self.pushes: dict[tuple[str, str], int] = {}  # (order number, token) -> updates it came in
        self.updates = 0

    @staticmethod
    def _field(substate: dict, name: str):
        for key, value in substate.items():
            if key == name or key.startswith(name + "_rx_state"):
                return value
        return None

    def on_update(self, sock: ReflexSocket, update: dict, _perf: float) -> None:
        received = time.time()
        self.updates += 1
        delta = update.get("delta") or {}
        auth = delta.get(self.auth_key)
        if auth and self._field(auth, "signed_in"):
            self.signed_in[sock.token].set()
        bell = delta.get(self.bell_key)
        if not bell:
            return
        if self._field(bell, "bell_ready"):
            self.bell_ready[sock.token].set()
        if self._field(bell, "notif_error"):
            print("bell error:", self._field(bell, "notif_error"))
        items = self._field(bell, "items") or ()
        for item in items:
            title = item.get("title", "")
            if title.startswith("New order "):
                key = (title.split()[2], sock.token)
                self.seen.setdefault(key, received)
        if items and items[0].get("title", "").startswith("New order "):  # the push of that order
            key = (items[0]["title"].split()[2], sock.token)
            self.pushes[key] = self.pushes.get(key, 0) + 1

    async def open(self) -> None:
        origin = f"http://localhost:{self.port}"
        gate = asyncio.Semaphore(8)  # sign-ins hash passwords (argon2): don't queue 200 at once

        async def one(i: int) -> None:
            sock = ReflexSocket("127.0.0.1", self.port, origin, self.on_update)
            self.signed_in[sock.token], self.bell_ready[sock.token] = asyncio.Event(), asyncio.Event()
            async with gate:
                await sock.connect()
                email, seller = self.users[i % len(self.users)]
                self.seller_of[sock.token] = seller
                sock.emit_event(self.login_event, {"form": {"email": email, "password": BENCH_PASSWORD}}, "/login")
                await asyncio.wait_for(self.signed_in[sock.token].wait(), 180)
                for _attempt in range(3):  # mounting the bell again, as a page change would
                    sock.emit_event(self.connect_event, {}, "/marketplace")
                    try:
                        await asyncio.wait_for(self.bell_ready[sock.token].wait(), 60)
                        break
                    except TimeoutError:
                        print(f"session {i}: no bell after 60 s, mounting again")
                else:
                    raise RuntimeError(f"session {i} never showed its bell")
            self.sockets.append(sock)

        await asyncio.gather(*(one(i) for i in range(self.count)))

    async def close(self) -> None:
        await asyncio.gather(*(s.close() for s in self.sockets), return_exceptions=True)


async def redis_round_trip(samples: int = 300) -> list[float]:
    """Raw Redis PUBLISH -> subscriber receive, in this event loop (ms)."""
    client = aioredis.Redis.from_url(REDIS_URL)
    channel = f"reup:bench:rtt:{os.getpid()}"
    pubsub = client.pubsub()
    await pubsub.subscribe(channel)
    await pubsub.get_message(timeout=1.0)  # subscribe confirmation
    out = []
    for _ in range(samples):
        t0 = time.perf_counter()
        await client.publish(channel, json.dumps({"t": t0}))
        while True:
            msg = await pubsub.get_message(timeout=1.0, ignore_subscribe_messages=True)
            if msg is not None:
                break
        out.append((time.perf_counter() - t0) * 1000)
        await asyncio.sleep(0.002)
    await pubsub.unsubscribe(channel)
    await pubsub.aclose()
    await client.aclose()
    return out


async def run_sessions(args, env: dict[str, str], users: list[tuple[str, int]]) -> dict:
    sessions = Sessions(args.port, args.sessions, users)
    t = time.time()
    await sessions.open()
    print(f"{len(sessions.sockets)} sessions signed in with the bell mounted in {time.time() - t:.1f} s")
    rtt_before = await redis_round_trip()

    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    per_retailer = max(1, args.orders // len(RETAILERS))
    start_at = time.time() + 3.0
    procs = [
        ctx.Process(
            target=retailer,
            args=(env, email, per_retailer, args.sellers, args.interval, start_at + i * args.interval / 2, out),
        )
        for i, email in enumerate(RETAILERS)
    ]
    for p in procs:
        p.start()
    submitted: dict[str, tuple[int, float, float]] = {}
    done = 0
    loop = asyncio.get_running_loop()
    while done < len(procs):
        item = await loop.run_in_executor(None, out.get)
        if item is None:
            done += 1
        else:
            submitted[item[0]] = (item[1], item[2], item[3])
    for p in procs:
        p.join()
    await asyncio.sleep(3.0)  # stragglers
    rtt_after = await redis_round_trip()
    await sessions.close()

    tokens = [s.token for s in sessions.sockets]
    from_submit, from_commit, missing = [], [], 0
    leaks = sum(1 for number, token in sessions.seen if sessions.seller_of[token] != submitted[number][0])
    for number, (seller, t0, t1) in submitted.items():
        for token in (t for t in tokens if sessions.seller_of[t] == seller):
            got = sessions.seen.get((number, token))
            if got is None:
                missing += 1
            else:
                from_submit.append((got - t0) * 1000)
                from_commit.append((got - t1) * 1000)
    checkout = [(t1 - t0) * 1000 for _s, t0, t1 in submitted.values()]
    duplicates = sum(n - 1 for n in sessions.pushes.values() if n > 1)
    return {
        "orders": len(submitted),
        "sessions": len(tokens),
        "missing": missing,
        "leaks": leaks,
        "duplicates": duplicates,
        "expected": len(from_submit) + missing,
        "from_submit": from_submit,
        "from_commit": from_commit,
        "checkout": checkout,
        "rtt": rtt_before + rtt_after,
        "updates": sessions.updates,
    }


def report(r: dict) -> None:
    def line(name: str, values: list[float]) -> str:
        return (
            f"{name:<34} p50 {pct(values, 50):7.1f} ms  p95 {pct(values, 95):7.1f} ms  "
            f"p99 {pct(values, 99):7.1f} ms  max {max(values):7.1f} ms"
        )

    expected = r["expected"]
    print(
        f"\n{r['orders']} orders to {r['sessions']} sessions: {expected} deliveries expected, "
        f"{expected - r['missing']} received, {r['missing']} missed, {r['duplicates']} twice, "
        f"{r['leaks']} to another wholesaler's sessions ({r['updates']} state updates in all)"
    )
    print(line("submit -> received (per session)", r["from_submit"]))
    print(line("commit -> received (per session)", r["from_commit"]))
    print(line("retailer checkout call", r["checkout"]))
    print(line("raw Redis publish -> subscribe", r["rtt"]))
    rtt50, rtt95 = statistics.median(r["rtt"]), pct(r["rtt"], 95)
    p50, p95 = pct(r["from_submit"], 50), pct(r["from_submit"], 95)
    print(
        f"ratio to raw Redis round trip: p50 {p50 / rtt50:.0f}x, p95 {p95 / rtt95:.0f}x "
        f"(submit->received p95 {p95:.1f} ms; target <= 250 ms: {'MET' if p95 <= 250 else 'NOT MET'})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.realtime_bench")
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--users", type=int, default=40, help="wholesaler users the sessions are spread over")
    parser.add_argument(
        "--sellers",
        type=int,
        default=1,
        choices=(1, 2),
        help="1: every session is Pacific Bloom's and receives every order (worst case); "
        "2: sessions and orders split between Pacific Bloom and Emerald Coast",
    )
    parser.add_argument("--orders", type=int, default=40)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between one retailer's orders")
    parser.add_argument("--port", type=int, default=int(os.environ.get("REUP_BENCH_PORT", "3400")))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database", default="reup_bench_realtime")
    args = parser.parse_args(argv)

    from reup_app.db_admin import drop_mysql_database, fresh_mysql_database

    url = fresh_mysql_database(args.database)
    env = app_env(url, args.port)
    subprocess.run(
        [sys.executable, "-m", "reup_app.cli", "seed"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
    )
    use_env(env)
    users = add_sales_users(args.users, args.sellers)
    ensure_frontend(env, args.port)
    server = start_server(env, args.port, args.workers)
    try:
        result = asyncio.run(run_sessions(args, env, users))
    finally:
        t_stop = time.time()
        stop_server(server)
        print(f"server stopped in {time.time() - t_stop:.1f} s")
        redis.Redis.from_url(REDIS_URL).delete(f"reup:events:bench:{args.port}:trace")
        drop_mysql_database(args.database)
    report(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
