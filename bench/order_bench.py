"""Order-flow benchmark: concurrent buyers placing orders through the service layer.

Run (MariaDB/MySQL at 127.0.0.1:3306, user root, no password, unless REUP_TEST_MYSQL_URL says else):

    .venv/bin/python -m bench.order_bench                    # 20 buyers for 10 s, then the oversell race
    .venv/bin/python -m bench.order_bench --buyers 20 --seconds 10 --lines 2 --procs 2
    .venv/bin/python -m bench.order_bench --orders 1000      # stop after 1000 orders instead
    .venv/bin/python -m bench.order_bench --procs 1          # every buyer thread in one process

It (re)creates the database `reup_order_bench` (override with --database), migrates it with
`reup_app.migrations.upgrade`, seeds sellers with products and deep stock and one buyer business
per buyer thread, then runs each buyer in its own thread: add `--lines` products of one random
seller to the cart (one unit of work per add) and check out (one unit of work), exactly as pages
would, until the time or order budget is spent. The buyer threads are spread over `--procs`
worker processes (default 2), as the app runs several server processes: one CPython process is
held to one core by the GIL, and the service layer is CPU-bound there. It prints orders per
second and p50/p95/p99 latency of a whole order (cart adds + checkout) and of checkout alone.

Then the oversell race: 50 buyers each hold 1 unit of a product with 10 in stock in their cart
and check out at the same instant; exactly 10 must succeed and 40 get Conflict. It prints the
elapsed time. Target: >= 100 orders/s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import threading
import time
import uuid
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlmodel import Session

from reup_app import migrations
from reup_app.db import build_engine, engine_kwargs, unit_of_work
from reup_app.db_admin import fresh_mysql_database
from reup_app.errors import Conflict
from reup_app.models import Entity, InventoryLot, License, Membership, Order, Product, User
from reup_app.security.principal import Principal
from reup_app.services.ordering import cart, checkout_flow

SERVER_URL = os.environ.get("REUP_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306")
TARGET_OPS = 100.0
D = Decimal


def _label() -> str:
    return "1A4" + uuid.uuid4().hex[:21].upper()


def seed(
    engine, *, sellers: int, products: int, buyers: int, tag: str = "T"
) -> tuple[list[list[int]], list[tuple[Principal, int]]]:
    """Sellers with products and deep stock; buyer businesses each with one buyer-role member."""
    rng = random.Random(7)
    catalog: list[list[int]] = []
    people: list[tuple[Principal, int]] = []
    with Session(engine) as s:
        for i in range(sellers):
            seller = Entity(
                name=f"Bench Wholesaler {tag}{i}",
                kind="wholesaler",
                status="approved",
                state="CA",
                payment_terms_offered="cod,net_30",
            )
            s.add(seller)
            s.flush()
            lic = License(entity_id=seller.id, state="CA", number=f"C11-{tag}-S{i:04d}", license_type="distributor")
            s.add(lic)
            s.flush()
            ids = []
            for j in range(products):
                p = Product(
                    entity_id=seller.id,
                    sku=f"{tag}{i}-{j}",
                    name=f"Bench product {i}-{j}",
                    category="flower",
                    unit_price=D(rng.randint(5, 60)),
                    available_qty=D("0"),
                    search_text=f"bench {i} {j}",
                )
                s.add(p)
                s.flush()
                for _ in range(2):
                    s.add(
                        InventoryLot(
                            product_id=p.id,
                            license_id=lic.id,
                            package_label=_label(),
                            quantity_on_hand=D("1000000"),
                            quantity_reserved=D("0"),
                            quantity_available=D("1000000"),
                        )
                    )
                p.available_qty = D("2000000")
                ids.append(p.id)
            catalog.append(ids)
        for k in range(buyers):
            buyer = Entity(name=f"Bench Retailer {tag}{k}", kind="retailer", status="approved", state="CA")
            s.add(buyer)
            s.flush()
            lic = License(entity_id=buyer.id, state="CA", number=f"C10-{tag}-R{k:04d}", license_type="retail")
            user = User(email=f"bench-{tag.lower()}-{k}@example.test", full_name=f"Bench Buyer {k}", password_hash="x")
            s.add_all([lic, user])
            s.flush()
            s.add(Membership(user_id=user.id, entity_id=buyer.id, role="buyer"))
            people.append((Principal(user_id=user.id, entity_id=buyer.id, roles=frozenset({"buyer"})), lic.id))
        s.commit()
    return catalog, people


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def throughput(engine, catalog, people, *, seconds: float, max_orders: int | None, lines: int) -> dict:
    deadline = [0.0]
    lock = threading.Lock()
    totals = {"orders": 0, "errors": 0}
    order_ms: list[float] = []
    checkout_ms: list[float] = []
    errors: list[str] = []
    start_gate = threading.Barrier(len(people) + 1)

    def buyer(principal: Principal, license_id: int, seed_: int) -> None:
        rng = random.Random(seed_)
        start_gate.wait()
        while time.perf_counter() < deadline[0]:
            with lock:
                if max_orders is not None and totals["orders"] >= max_orders:
                    return
            products = rng.sample(rng.choice(catalog), lines)
            t0 = time.perf_counter()
            try:
                for pid in products:
                    with unit_of_work(principal, engine=engine) as s:
                        cart.add_to_cart(s, principal, pid, rng.randint(1, 5))
                t1 = time.perf_counter()
                with unit_of_work(principal, engine=engine) as s:
                    result = checkout_flow.checkout(
                        s, principal, buyer_license_id=license_id, idempotency_key=uuid.uuid4().hex
                    )
                t2 = time.perf_counter()
            except Exception as err:  # counted and shown; the run goes on
                with lock:
                    totals["errors"] += 1
                    errors.append(f"{type(err).__name__}: {err}")
                continue
            with lock:
                totals["orders"] += len(result.orders)
                order_ms.append((t2 - t0) * 1000)
                checkout_ms.append((t2 - t1) * 1000)

    threads = [threading.Thread(target=buyer, args=(p, lic, i)) for i, (p, lic) in enumerate(people)]
    for t in threads:
        t.start()
    deadline[0] = time.perf_counter() + seconds
    began = time.perf_counter()
    start_gate.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    return {
        "orders": totals["orders"],
        "errors": totals["errors"],
        "elapsed": elapsed,
        "ops": totals["orders"] / elapsed,
        "order_ms": order_ms,
        "checkout_ms": checkout_ms,
        "error_samples": errors[:5],
    }


def _worker(url: str, catalog, people, seconds: float, max_orders: int | None, lines: int, barrier, queue) -> None:
    """One worker process (like one app server process): its own engine and buyer threads."""
    engine = build_engine(url)
    throughput(engine, catalog, people, seconds=60, max_orders=len(people), lines=lines)  # warm-up
    barrier.wait()
    res = throughput(engine, catalog, people, seconds=seconds, max_orders=max_orders, lines=lines)
    engine.dispose()
    queue.put(res)


def run_processes(url: str, catalog, people, *, procs: int, seconds: float, max_orders: int | None, lines: int) -> dict:
    ctx = multiprocessing.get_context("fork")
    barrier, queue = ctx.Barrier(procs), ctx.Queue()
    shares = [people[i::procs] for i in range(procs)]
    budget = None if max_orders is None else max(1, max_orders // procs)
    workers = [
        ctx.Process(target=_worker, args=(url, catalog, share, seconds, budget, lines, barrier, queue))
        for share in shares
    ]
    for w in workers:
        w.start()
    results = [queue.get() for _ in workers]
    for w in workers:
        w.join()
    elapsed = max(r["elapsed"] for r in results)
    orders = sum(r["orders"] for r in results)
    return {
        "orders": orders,
        "errors": sum(r["errors"] for r in results),
        "elapsed": elapsed,
        "ops": orders / elapsed,
        "order_ms": [x for r in results for x in r["order_ms"]],
        "checkout_ms": [x for r in results for x in r["checkout_ms"]],
        "error_samples": [e for r in results for e in r["error_samples"]][:5],
    }


def oversell_race(url: str, engine, people_engine_seed: int = 50) -> dict:
    """50 buyers, 10 units: exactly 10 orders, 40 Conflicts; returns timings."""
    kw = engine_kwargs(url)
    kw.update(pool_size=60, max_overflow=10, pool_timeout=60)
    from sqlmodel import create_engine

    wide = create_engine(url, **kw)
    try:
        catalog, people = seed(wide, sellers=1, products=1, buyers=people_engine_seed, tag="RACE")
        product_id = catalog[0][0]
        with Session(wide) as s:  # bring the product down to 10 units in one lot
            lots = s.execute(select(InventoryLot).where(InventoryLot.product_id == product_id)).scalars().all()
            for i, lot in enumerate(lots):
                lot.quantity_on_hand = lot.quantity_available = D("10") if i == 0 else D("0")
            s.get(Product, product_id).available_qty = D("10")
            s.commit()
        for principal, _lic in people:
            with unit_of_work(principal, engine=wide) as s:
                cart.add_to_cart(s, principal, product_id, 1)
        outcome = {"ok": 0, "conflict": 0, "other": 0}
        lock = threading.Lock()
        gate = threading.Barrier(len(people) + 1)

        def go(principal, license_id):
            gate.wait()
            try:
                with unit_of_work(principal, engine=wide) as s:
                    checkout_flow.checkout(s, principal, buyer_license_id=license_id, idempotency_key=uuid.uuid4().hex)
                key = "ok"
            except Conflict:
                key = "conflict"
            except Exception:
                key = "other"
            with lock:
                outcome[key] += 1

        threads = [threading.Thread(target=go, args=pl) for pl in people]
        for t in threads:
            t.start()
        t0 = time.perf_counter()
        gate.wait()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        with Session(wide) as s:
            lot_sum = s.execute(
                select(func.sum(InventoryLot.quantity_reserved), func.sum(InventoryLot.quantity_available)).where(
                    InventoryLot.product_id == product_id
                )
            ).one()
            available = s.get(Product, product_id).available_qty
        return {
            **outcome,
            "elapsed": elapsed,
            "reserved": lot_sum[0],
            "lot_available": lot_sum[1],
            "product_available": available,
        }
    finally:
        wide.dispose()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database", default="reup_order_bench")
    ap.add_argument("--buyers", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--orders", type=int, default=None, help="stop after this many orders")
    ap.add_argument("--sellers", type=int, default=5)
    ap.add_argument("--products", type=int, default=20, help="products per seller")
    ap.add_argument("--lines", type=int, default=2, help="order lines per order")
    ap.add_argument(
        "--procs",
        type=int,
        default=2,
        help="worker processes sharing the buyers (the app runs several server processes; "
        "1 = all buyer threads in this process)",
    )
    ap.add_argument("--skip-race", action="store_true")
    args = ap.parse_args(argv)

    url = fresh_mysql_database(args.database)
    print(f"database {make_url(url).database}: migrating ...", flush=True)
    migrations.upgrade(url)
    engine = build_engine(url)
    catalog, people = seed(engine, sellers=args.sellers, products=args.products, buyers=args.buyers)
    print(
        f"{args.buyers} buyers in {args.procs} process(es), {args.sellers} sellers x {args.products} products, "
        f"{args.lines} lines/order, {os.cpu_count()} CPUs",
        flush=True,
    )
    if args.procs > 1:
        engine.dispose()
        res = run_processes(
            url, catalog, people, procs=args.procs, seconds=args.seconds, max_orders=args.orders, lines=args.lines
        )
    else:
        # warm-up: one order per buyer (connections, statement caches)
        throughput(engine, catalog, people, seconds=60, max_orders=args.buyers, lines=args.lines)
        res = throughput(engine, catalog, people, seconds=args.seconds, max_orders=args.orders, lines=args.lines)
    with Session(engine) as s:
        placed = s.execute(select(func.count(Order.id))).scalar_one()
    o, c = res["order_ms"], res["checkout_ms"]
    print(
        f"orders placed: {res['orders']} in {res['elapsed']:.2f} s -> {res['ops']:.1f} orders/s "
        f"(target >= {TARGET_OPS:.0f}); errors: {res['errors']}; orders in DB: {placed}"
    )
    if res["error_samples"]:
        print("  e.g. " + " | ".join(res["error_samples"]))
    print(
        f"order latency (cart adds + checkout) ms: p50 {_pct(o, 0.5):.1f}  p95 {_pct(o, 0.95):.1f}  "
        f"p99 {_pct(o, 0.99):.1f}  mean {statistics.fmean(o) if o else float('nan'):.1f}"
    )
    print(
        f"checkout latency ms:                     p50 {_pct(c, 0.5):.1f}  p95 {_pct(c, 0.95):.1f}  "
        f"p99 {_pct(c, 0.99):.1f}"
    )
    engine.dispose()
    if not args.skip_race:
        race = oversell_race(url, engine)
        verdict = "OK" if (race["ok"], race["conflict"], race["other"]) == (10, 40, 0) else "FAILED"
        print(
            f"oversell race: 50 buyers x 1 unit, 10 in stock -> {race['ok']} orders, {race['conflict']} "
            f"Conflict, {race['other']} other errors in {race['elapsed'] * 1000:.0f} ms; reserved "
            f"{race['reserved']}, available {race['lot_available']} (product {race['product_available']}) "
            f"[{verdict}]"
        )
        if verdict != "OK":
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
