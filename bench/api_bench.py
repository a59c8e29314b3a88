"""Public API benchmark: the REST layer's cost over the service layer and raw SQL.

Run (MariaDB/MySQL and Redis on 127.0.0.1 unless REUP_TEST_MYSQL_URL / REUP_TEST_REDIS_URL say else):

    python -m bench.api_bench                         # 300 orders, 50 GET clients for 10 s, 8 POST clients for 10 s
    python -m bench.api_bench --clients 50 --seconds 10 --post-clients 8 --orders 300

It (re)creates the database `reup_api_bench`, seeds one seller with products and deep stock and
buyers (bench/order_bench.seed), places `--orders` orders through the service, creates API keys
and starts the API app on a free port with `--workers` granian processes (default 2: one per core, as
deploy/systemd/reup-app@.service runs an app instance). Then:

1. GET /api/v1/orders?limit=50 from `--clients` concurrent clients, each on its own keep-alive
   connection, driven by bench/http_load.py in its own process (gevent + geventhttpclient; an
   in-process asyncio + httpx client was itself the bottleneck) for `--seconds`: p50 / p95; the
   same page as raw SQL (the statement the service runs, compiled, run by `--clients` threads on
   their own connections) for the same time: p50 / p95; and the ratio (target: API p95 <= 3 x raw
   p95 + 5 ms).
2. POST /api/v1/orders with a fresh Idempotency-Key each, `--post-clients` clients (the same load
   generator) for `--seconds`: orders/s; and the same checkout called directly through the service with the same number of
   threads, for as long, the two alternating in `--rounds` slices (API, direct, API, direct, ...) so that
   neither always runs on the database the other one just loaded (one phase after the other, the
   direct rate alone moved between 64 and 89 orders/s from run to run): the service function the route calls (`public_api.order_create.create_order`: the lines
   and checkout in one unit of work), without HTTP, key, idempotency record and JSON: orders/s; ratio
   (target: >= 80% of the direct rate). For reference it also prints the cart page's path (cart add
   and checkout, one unit of work each) at the same concurrency.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bench.order_bench import seed
from bench.stats import percentile
from reup_app import migrations
from reup_app.db import build_engine, is_lock_conflict, unit_of_work
from reup_app.db_admin import fresh_mysql_database
from reup_app.gc_tuning import tune_collector
from reup_app.models import User
from reup_app.security.principal import Principal
from reup_app.services.audit.trail import install_audit_listener
from reup_app.services.ordering import cart, checkout_flow
from reup_app.services.public_api import feeds, keys, order_create

SERVER_URL = os.environ.get("REUP_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306")
REDIS_URL = os.environ.get("REUP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _owner(engine, entity_id: int) -> Principal:
    with unit_of_work(None, engine=engine) as s:
        user = User(
            email=f"bench-owner-{uuid.uuid4().hex[:8]}@example.test", full_name="Bench owner", password_hash="x"
        )
        s.add(user)
        s.flush()
        return Principal(user_id=user.id, entity_id=entity_id, roles=frozenset({"owner"}))


def _key(engine, owner: Principal) -> str:
    with unit_of_work(owner, engine=engine) as s:
        return keys.create_key(s, owner, name="bench", role="owner", rate_limit_per_minute=100_000).secret


def _place(engine, principal: Principal, license_id: int, product_id: int) -> None:
    with unit_of_work(principal, engine=engine) as s:
        cart.add_to_cart(s, principal, product_id, "1")
    with unit_of_work(principal, engine=engine) as s:
        checkout_flow.checkout(s, principal, buyer_license_id=license_id, idempotency_key=uuid.uuid4().hex)


def _start_server(url: str, workers: int) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "REUP_DATABASE_URL": url, "REUP_REDIS_URL": REDIS_URL, "PYTHONPATH": str(ROOT)}
    args = ["--interface", "asgi", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    args += ["--workers", str(workers)]
    proc = subprocess.Popen([sys.executable, "-m", "granian", *args, "tests.api_server:app"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(base + "/api/v1/openapi.json", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the API server did not start")


def _http_load(base: str, clients: list[dict], seconds: float) -> dict:
    """Run `clients` (bench/http_load.py's job entries) for `seconds` in the load generator's own
    process; its result: latency samples (ms), completed requests, retries."""
    job = json.dumps({"base": base, "seconds": seconds, "clients": clients})
    run = subprocess.run(
        [sys.executable, "-m", "bench.http_load"], input=job, capture_output=True, text=True, cwd=ROOT, check=False
    )
    if run.returncode != 0:
        raise SystemExit(f"the load generator failed: {run.stderr[-2000:]}")
    result = json.loads(run.stdout)
    if result["failed"]:
        raise SystemExit(f"{result['failed']} requests failed, e.g. {result['errors']}")
    return result


def _get_load(base: str, secret: str, clients: int, seconds: float) -> list[float]:
    spec = {"method": "GET", "path": "/api/v1/orders?limit=50", "headers": {"Authorization": f"Bearer {secret}"}}
    return _http_load(base, [{**spec, "expect_items": 50}] * clients, seconds)["samples_ms"]


def _raw_load(engine, sql: str, clients: int, seconds: float) -> list[float]:
    samples: list[float] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def one() -> None:
        with engine.connect() as conn:
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                rows = conn.execute(text(sql)).all()
                took = (time.perf_counter() - t0) * 1000
                assert len(rows) == 51
                with lock:
                    samples.append(took)

    threads = [threading.Thread(target=one) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return samples


def _raw_sql(engine, seller: Principal) -> str:
    """The statement GET /api/v1/orders runs (through feeds.order_feed), compiled with its values."""
    captured: list[str] = []
    from sqlalchemy import event

    def grab(conn, cursor, statement, parameters, context, executemany):
        if "FROM orders" in statement and "LIMIT" in statement:
            captured.append(cursor.mogrify(statement, parameters))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        with unit_of_work(seller, engine=engine) as s:
            feeds.order_feed(s, seller, limit=50)
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    return captured[-1]


def _post_load(base: str, buyers: list[tuple[str, int]], product_id: int, seconds: float, retries: list[int]) -> int:
    """Orders placed over the API, one client per buyer key; a 409 (in progress) or 503 "busy"
    (deadlock, nothing committed) is retried with the same key, as a client should (counted in
    `retries`)."""
    clients = [
        {
            "method": "POST",
            "path": "/api/v1/orders",
            "headers": {"Authorization": f"Bearer {secret}"},
            "body": {"buyer_license_id": license_id, "lines": [{"product_id": product_id, "quantity": "1"}]},
            "idempotent": True,
        }
        for secret, license_id in buyers
    ]
    result = _http_load(base, clients, seconds)
    retries[0] += result["retries"]
    return int(result["done"])


def _create(engine, principal: Principal, license_id: int, product_id: int) -> None:
    """What POST /api/v1/orders runs, called directly (one unit of work)."""
    with unit_of_work(principal, engine=engine) as s:
        order_create.create_order(
            s,
            principal,
            buyer_license_id=license_id,
            lines=[{"product_id": product_id, "quantity": "1"}],
            choices=None,
            idempotency_key=uuid.uuid4().hex,
        )


def _direct_load(
    engine,
    people: list[tuple[Principal, int]],
    product_id: int,
    seconds: float,
    retries: list[int],
    place=_create,
) -> int:
    done = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def one(principal: Principal, license_id: int) -> None:
        while time.perf_counter() < deadline:
            try:
                place(engine, principal, license_id, product_id)
            except DBAPIError as err:  # a deadlock or lock wait: nothing committed; retry like the API client
                if not is_lock_conflict(err):
                    raise
                with lock:
                    retries[0] += 1
                continue
            with lock:
                done[0] += 1

    threads = [threading.Thread(target=one, args=p) for p in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database", default="reup_api_bench")
    ap.add_argument("--orders", type=int, default=300)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--post-clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="POST phase: API and direct alternate in this many slices of --seconds/rounds each",
    )
    ap.add_argument(
        "--workers",
        type=int,
        default=2,
        help="granian worker processes of the API server (the deployed instance has 2)",
    )
    args = ap.parse_args()

    # Every write through the app is audited (reup_app.py and tests/api_server.py install this
    # listener); the direct baseline writes its audit rows too, or it would not be the same checkout.
    install_audit_listener()
    tune_collector()  # the collector as in the API server (and every app process): the same runtime on both sides
    url = fresh_mysql_database(args.database, server_url=SERVER_URL)
    migrations.upgrade(url)
    engine = build_engine(url)
    catalog, people = seed(engine, sellers=1, products=5, buyers=2 * args.post_clients + 1, tag="A")
    product_id = catalog[0][0]
    with engine.connect() as conn:
        seller_id = conn.execute(text("SELECT entity_id FROM products WHERE id = :p"), {"p": product_id}).scalar_one()
    print(f"seeding {args.orders} orders ...", flush=True)
    for i in range(args.orders):
        _place(engine, *people[i % len(people)], product_id)
    seller = _owner(engine, seller_id)
    seller_secret = _key(engine, seller)
    api_buyers = [(_key(engine, _owner(engine, p.entity_id or 0)), lic) for p, lic in people[: args.post_clients]]
    direct_people = people[args.post_clients : 2 * args.post_clients]

    proc, base = _start_server(url, args.workers)
    print(f"API server: granian, {args.workers} worker process(es)", flush=True)
    try:
        _get_load(base, seller_secret, 2, 1.0)  # warm-up
        api_ms = _get_load(base, seller_secret, args.clients, args.seconds)
        raw_ms = _raw_load(engine, _raw_sql(engine, seller), args.clients, args.seconds)
        api_p50, api_p95 = percentile(api_ms, 50), percentile(api_ms, 95)
        raw_p50, raw_p95 = percentile(raw_ms, 50), percentile(raw_ms, 95)
        target = 3 * raw_p95 + 5
        print(f"GET /api/v1/orders (50/page), {args.clients} clients, {args.seconds:.0f} s: {len(api_ms)} requests")
        print(f"  API  p50 {api_p50:.1f} ms  p95 {api_p95:.1f} ms")
        print(f"  raw  p50 {raw_p50:.1f} ms  p95 {raw_p95:.1f} ms  ({len(raw_ms)} queries)")
        print(
            f"  ratio p95 API/raw {api_p95 / raw_p95:.2f}; target p95 <= {target:.1f} ms: {'met' if api_p95 <= target else 'NOT met'}"
        )

        api_retries, direct_retries = [0], [0]
        api_orders = direct_orders = 0
        slice_seconds = args.seconds / args.rounds
        for _ in range(args.rounds):  # alternated, so both see the database in the same states
            api_orders += _post_load(base, api_buyers, product_id, slice_seconds, api_retries)
            direct_orders += _direct_load(engine, direct_people, product_id, slice_seconds, direct_retries)
        cart_retries = [0]
        cart_orders = _direct_load(engine, direct_people, product_id, args.seconds, cart_retries, place=_place)
        api_rate, direct_rate = api_orders / args.seconds, direct_orders / args.seconds
        ratio = api_rate / direct_rate if direct_rate else float("nan")
        print(
            f"POST /api/v1/orders with Idempotency-Key, {args.post_clients} clients: {api_rate:.1f} orders/s"
            f" ({api_retries[0]} retried after 503 busy)"
        )
        print(
            f"  direct service call (order_create.create_order), {args.post_clients} threads: {direct_rate:.1f}"
            f" orders/s ({direct_retries[0]} retried after a deadlock)"
        )
        print(
            f"  (for reference: the cart page's path, cart add + checkout, {args.post_clients} threads:"
            f" {cart_orders / args.seconds:.1f} orders/s, {cart_retries[0]} retried)"
        )
        print(f"  ratio {ratio:.0%}; target >= 80%: {'met' if ratio >= 0.8 else 'NOT met'}")
    finally:
        proc.terminate()
        proc.wait(10)
        engine.dispose()


if __name__ == "__main__":
    main()
