"""Dutchie POS sync benchmark: 50,000 inventory rows and 200,000 sale lines from the sandbox into
MySQL, then reorder suggestions for a store with 5,000 products.

Run (MariaDB/MySQL at 127.0.0.1:3306 user root, Redis at 127.0.0.1:6379, unless REUP_TEST_MYSQL_URL /
REUP_TEST_REDIS_URL say else):

    .venv/bin/python -m bench.dutchie_sync_bench
    .venv/bin/python -m bench.dutchie_sync_bench --inventory 50000 --lines 200000 --runs 30

It starts the Dutchie sandbox with a bench location (`--bulk-inventory 50000 --bulk-lines 200000`:
5,000 products, 10 inventory rows each, 4 lines per transaction over the past 30 days), (re)creates
the database `reup_dutchie_sync_bench`, migrates it, and seeds a wholesaler listing the 5,000 bench
SKUs and a retailer whose store is connected to the bench location. It then runs the real syncs
(`jobs.dutchie_sync`: the client over a real socket with its per-endpoint budgets in Redis,
products, the inventory snapshot in Skip/Take pages, and sales in daily windows over the 90-day
first-sync horizon, each under `run_sync`).

It prints:
- the wall time of each sync and in all;
- the database time of the syncs' transactions (every `SyncContext.commit`: the writes, matching,
  the fence check, the cursor and the commit) against a raw bulk upsert of the same rows
  (INSERT ... ON DUPLICATE KEY UPDATE into copies of pos_products and pos_daily_sales, the same
  chunks, one commit per snapshot or day) in the same run (target <= 2x);
- the time of `suggestions.store_suggestions` for that store over --runs runs: median and p95 via
  bench.stats.percentile (target p95 <= 200 ms), how many suggestions it returned, the CPU time of this
  process per call (time.process_time: less sensitive to a loaded machine than the wall time; MySQL's
  own work is not in it) and the load average.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import insert, text
from sqlmodel import Session

from bench.setup import bench_limiter, migrated_database, start_sandbox, stop_sandbox
from bench.stats import percentile
from reup_app.integrations.dutchie.client import INVENTORY_PAGE, DutchieClient
from reup_app.integrations.http.ratelimit import limiter_for
from reup_app.jobs import dutchie_sync
from reup_app.jobs import sync as sync_module
from reup_app.jobs.outbox_sender import Fence
from reup_app.jobs.sync import run_sync
from reup_app.models import Entity, IntegrationConnection, License, Product
from reup_app.security.crypto import encrypt_credentials
from reup_app.security.principal import Principal
from reup_app.services.pos import suggestions
from reup_app.services.pos.store_data import CHUNK, STOCK_FIELDS, day_rows

BENCH_KEY = "bench-dutchie-key"


def seed(engine, base_url: str, products: int) -> tuple[IntegrationConnection, Principal]:
    """A wholesaler listing the bench SKUs (so every POS product matches) and the connected store."""
    now = datetime.now(UTC)
    with Session(engine, expire_on_commit=False) as s:
        seller = Entity(kind="wholesaler", name="Bench Wholesale", status="approved", state="CA")
        store = Entity(kind="retailer", name="Bench Retail", status="approved", state="CA")
        s.add_all([seller, store])
        s.flush()
        lic = License(entity_id=store.id, state="CA", number="BENCH-RETAIL-LIC", license_type="adult_use_retail",
                      created_at=now, updated_at=now)  # fmt: skip
        s.add(lic)
        s.flush()
        rows = [
            {
                "entity_id": seller.id,
                "sku": f"BENCH-{i:06d}",
                "name": f"Bench Product {i}",
                "category": "flower",
                "unit_price": Decimal("9.50"),
                "available_qty": Decimal(1000),
                "search_text": "",
                "created_at": now,
                "updated_at": now,
            }  # fmt: skip
            for i in range(products)
        ]
        s.execute(insert(Product), rows)  # ORM bulk insert: the model's defaults fill the other columns
        conn = IntegrationConnection(
            entity_id=store.id, license_id=lic.id, provider="dutchie", base_url=base_url,
            credentials_encrypted=encrypt_credentials(lic.id, "dutchie", {"location_key": BENCH_KEY}),
        )  # fmt: skip
        s.add(conn)
        s.commit()
        return conn, Principal(user_id=1, entity_id=store.id, roles=frozenset({"owner"}), token_version=1)


class CommitTimer:
    """Times every SyncContext.commit (the syncs' database transactions)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._orig = sync_module.SyncContext.commit

    def __enter__(self) -> CommitTimer:
        timer, orig = self, self._orig

        def timed(ctx, write, *, cursor, seen=0, changed=0):
            started = time.perf_counter()
            try:
                return orig(ctx, write, cursor=cursor, seen=seen, changed=changed)
            finally:
                timer.seconds[ctx.resource] += time.perf_counter() - started

        sync_module.SyncContext.commit = timed  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc) -> None:
        sync_module.SyncContext.commit = self._orig  # type: ignore[method-assign]


def run_syncs(engine, conn, base_url: str, limiter) -> dict[str, tuple[float, int]]:
    client = DutchieClient(base_url, BENCH_KEY, limiter=limiter)
    fence = Fence(1, name=f"bench-{uuid.uuid4().hex[:8]}")
    out = {}
    for resource, fn in (
        ("products", dutchie_sync.sync_products),
        ("inventory", dutchie_sync.sync_inventory),
        ("sales", dutchie_sync.sync_sales),
    ):
        started = time.perf_counter()
        run = run_sync(
            engine, fence, connection_id=conn.id, resource=resource, fn=lambda ctx, f=fn: f(ctx, conn, client)
        )
        if run.status != "succeeded":
            raise RuntimeError(f"{resource} sync failed: {run.error}")
        out[resource] = (time.perf_counter() - started, run.items_seen)
    return out


def raw_upsert(engine, license_id: int, base_url: str) -> tuple[float, float, int, int]:
    """The same rows, bulk-upserted into copies of the tables: (inventory s, sales s, rows, rows)."""
    client = DutchieClient(base_url, BENCH_KEY, limiter=limiter_for(None))
    items = list(client.inventory(take=INVENTORY_PAGE))
    now = datetime.now(UTC)
    per: dict[int, dict] = {}
    for it in items:
        row = per.setdefault(it.product_id, {
            "license_id": license_id, "pos_product_id": it.product_id, "sku": it.sku, "name": it.product_name,
            "brand_name": it.brand_name, "category": it.category, "package_label": it.external_package_id,
            "on_hand": Decimal(0), "unit_cost": it.unit_cost, "active": True, "match_rule": "none", "updated_at": now,
            "velocity": Decimal(0), "velocity_days": 0, "trend": "",
        })  # fmt: skip
        row["on_hand"] += it.quantity_available
    end = now
    days = []
    for begin, stop in dutchie_sync.day_windows(end - dutchie_sync.SALES_HORIZON, end):
        days.append(day_rows(license_id, begin.date(), client.transactions(begin, min(stop, end))))
    with engine.begin() as c:
        c.execute(text("CREATE TABLE raw_pos_products LIKE pos_products"))
        c.execute(text("CREATE TABLE raw_pos_daily_sales LIKE pos_daily_sales"))
    inv_rows = list(per.values())
    cols = list(inv_rows[0])
    sql = (f"INSERT INTO raw_pos_products ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)}) "
           f"ON DUPLICATE KEY UPDATE {', '.join(f'{f}=VALUES({f})' for f in STOCK_FIELDS)}")  # fmt: skip
    started = time.perf_counter()
    with engine.begin() as c:
        for i in range(0, len(inv_rows), CHUNK):
            c.execute(text(sql), inv_rows[i : i + CHUNK])
    inv_s = time.perf_counter() - started
    sql = ("INSERT INTO raw_pos_daily_sales (license_id, pos_product_id, day, units, revenue) VALUES "
           "(:license_id, :pos_product_id, :day, :units, :revenue) "
           "ON DUPLICATE KEY UPDATE units=VALUES(units), revenue=VALUES(revenue)")  # fmt: skip
    started = time.perf_counter()
    for rows in days:
        with engine.begin() as c:
            if rows:
                c.execute(text(sql), rows)
    sales_s = time.perf_counter() - started
    return inv_s, sales_s, len(inv_rows), sum(len(r) for r in days)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database", default="reup_dutchie_sync_bench")
    ap.add_argument("--inventory", type=int, default=50_000)
    ap.add_argument("--lines", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args(argv)
    print(f"starting the Dutchie sandbox with {args.inventory} inventory rows and {args.lines} sale lines ...",
          flush=True)  # fmt: skip
    bulk = ["--bulk-inventory", str(args.inventory), "--bulk-lines", str(args.lines)]
    proc, base_url = start_sandbox("dutchie", bulk, timeout=180)
    try:
        _url, engine = migrated_database(args.database)
        conn, principal = seed(engine, base_url, max(1, args.inventory // 10))
        limiter = bench_limiter()
        with CommitTimer() as timer:
            started = time.perf_counter()
            runs = run_syncs(engine, conn, base_url, limiter)
            total = time.perf_counter() - started
        for resource, (seconds, seen) in runs.items():
            db = timer.seconds[resource]
            print(f"sync {resource:9s}: {seconds:7.2f} s wall, {seen:7d} rows seen, {db:6.2f} s in its transactions")
        print(f"sync in all      : {total:7.2f} s wall")
        inv_raw, sales_raw, inv_n, sales_n = raw_upsert(engine, conn.license_id, base_url)
        for name, sync_db, raw, n in (
            ("inventory", timer.seconds["inventory"], inv_raw, inv_n),
            ("sales", timer.seconds["sales"], sales_raw, sales_n),
        ):
            print(f"{name:9s} database: sync {sync_db:6.2f} s vs raw bulk upsert {raw:6.2f} s of the same {n} rows "
                  f"-> ratio {sync_db / raw:4.2f}x (target <= 2x)")  # fmt: skip
        both_sync = timer.seconds["inventory"] + timer.seconds["sales"]
        print(f"inventory + sales database: ratio {both_sync / (inv_raw + sales_raw):4.2f}x")
        samples, cpu, count = [], [], 0
        for _ in range(args.runs):
            with Session(engine, expire_on_commit=False) as s:
                started, cpu_started = time.perf_counter(), time.process_time()
                result = suggestions.store_suggestions(s, principal, conn.license_id)
                samples.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - cpu_started) * 1000)
                count = len(result.items)
        print(f"suggestions for {result.matched} matched products ({count} suggested), {args.runs} runs: "
              f"median {percentile(samples, 50):.1f} ms, p95 {percentile(samples, 95):.1f} ms (target p95 <= 200 ms); "
              f"this process's CPU per call median {percentile(cpu, 50):.1f} ms, p95 {percentile(cpu, 95):.1f} ms; "
              f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")  # fmt: skip
    finally:
        stop_sandbox(proc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
