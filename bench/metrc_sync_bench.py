"""METRC package sync benchmark: 20,000 packages across 5 facilities from the sandbox into MySQL.

Run (MariaDB/MySQL at 127.0.0.1:3306 user root, Redis at 127.0.0.1:6379, unless REUP_TEST_MYSQL_URL /
REUP_TEST_REDIS_URL say else):

    .venv/bin/python -m bench.metrc_sync_bench
    .venv/bin/python -m bench.metrc_sync_bench --packages 20000 --facilities 5

It starts the METRC sandbox (`python -m reup_app.sandboxes metrc --bulk-packages 20000
--bulk-facilities 5`: LastModified spread over the past 7 days) on a free port, (re)creates the
database `reup_metrc_sync_bench` and migrates it, and seeds one wholesaler holding the 5 licenses,
one METRC connection per license and item -> product mappings for the bench items, so every package
becomes an inventory lot. It then runs the real sync (`jobs.metrc_packages.sync_packages` under
`run_sync`: the METRC client with its transport, the Redis rate limiter, 24 h windows over the
30-day first-sync horizon, paging, and the database writes) for the 5 connections concurrently,
one client each sharing the Redis budget, as the worker's `run_syncs` does.

It prints:
- achieved GET/s against the limit the sync can use: min(vendor cap, facilities x facility cap) =
  150 GET/s (target >= 90%), measured over the calling phase (first request to last response),
  and 429s as a share of all calls (target < 1%); per-second GET counts (median, p95) from the
  sandbox's own call log;
- the client's CPU seconds during the sync per call (fetching, parsing and the window transactions
  share one interpreter) and the load average at the start: on a shared machine the GET rate is
  CPU-bound well before the limiter (roughly the CPU share the process gets / CPU per call);
- the database time per package of the sync's window transactions (cursor, reads, product and lot
  locks, lots, products, events, fence check, commit): the wall-clock time during which any window
  transaction was open, against a raw bulk upsert of the same rows (INSERT ... ON DUPLICATE KEY
  UPDATE, executemany, one commit per window of the same size) into a copy of inventory_lots (same
  keys, CHECKs and foreign keys) in the same database and run, after the sync (target <= 2x). The
  sync's windows run 5 at a time (one per facility) and share the seller's product rows, so they
  wait on each other's product locks; summing each window's own time counts that waiting once per
  waiting window, so that sum and the per-window medians and p95 (bench.stats.percentile) are
  printed beside it, not compared with the target. The raw upsert runs alone.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
import uuid
from decimal import Decimal

import httpx
import pymysql
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlmodel import Session

from bench.setup import bench_limiter, migrated_database, start_sandbox, stop_sandbox
from bench.stats import percentile
from reup_app.integrations.http.transport import TransportConfig, shared_client
from reup_app.integrations.metrc.client import MetrcClient, MetrcCredentials, MetrcLimits
from reup_app.jobs.fencing import check_fence
from reup_app.jobs.metrc_packages import sync_packages
from reup_app.jobs.outbox_sender import Fence
from reup_app.jobs.sync import run_bounded, run_sync
from reup_app.models import Entity, IntegrationConnection, InventoryLot, License, Product
from reup_app.models.catalog import product_search_text
from reup_app.models.metrc_sync import MetrcItemMapping
from reup_app.security.crypto import encrypt_credentials

VENDOR_KEY = "reup-sandbox-vendor-key"  # the sandbox's default vendor key
BENCH_USER_KEY = "bench-user-key"  # the sandbox's user key for its bulk facilities
BENCH_ITEMS = 500  # the sandbox names bulk items "Bench Item 0" .. "Bench Item 499"


def seed(engine, base_url: str, facilities: list[str]) -> list[IntegrationConnection]:
    """One wholesaler with the bench licenses and connections; bench items mapped to 50 products."""
    with Session(engine, expire_on_commit=False) as s:
        entity = Entity(kind="wholesaler", name="Bench Wholesale", status="approved", state="CA")
        s.add(entity)
        s.flush()
        products = []
        for i in range(50):
            name = f"Bench Product {i}"
            products.append(
                Product(
                    entity_id=entity.id,
                    sku=f"BENCH-{i:03d}",
                    name=name,
                    category="flower",
                    unit_price=Decimal("10.00"),
                    strain_type="hybrid",
                    search_text=product_search_text(name, None, None),
                )
            )
        s.add_all(products)
        s.flush()
        s.add_all(
            MetrcItemMapping(entity_id=entity.id, item_name=f"Bench Item {i}", product_id=products[i % 50].id)
            for i in range(BENCH_ITEMS)
        )
        conns = []
        for number in facilities:
            lic = License(entity_id=entity.id, state="CA", number=number, license_type="distributor")
            s.add(lic)
            s.flush()
            creds = encrypt_credentials(lic.id, "metrc", {"user_key": BENCH_USER_KEY})
            conns.append(
                IntegrationConnection(
                    entity_id=entity.id,
                    license_id=lic.id,
                    provider="metrc",
                    base_url=base_url,
                    credentials_encrypted=creds,
                )
            )
        s.add_all(conns)
        s.commit()
        return conns


class CallMeter:
    """Counts the client's calls on the wire (httpx event hooks): first request, last response, 429s."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.first = self.last = None
        self.gets = self.throttled = self.total = 0

    def request(self, request: httpx.Request) -> None:
        with self.lock:
            self.first = self.first or time.monotonic()

    def response(self, response: httpx.Response) -> None:
        with self.lock:
            self.last = time.monotonic()
            self.total += 1
            self.throttled += response.status_code == 429
            self.gets += response.request.method == "GET" and response.status_code != 429


def run_syncs(
    engine, conns, base_url: str, limiter, windows: list[tuple[float, int]], busy: list[tuple[float, float]]
) -> list:
    lock = threading.Lock()
    fence = Fence(1, name=f"bench-{uuid.uuid4().hex[:8]}")  # one leader's fence, as in the worker
    with Session(engine) as s:
        check_fence(s, fence.name, fence.token)
        s.commit()

    def one(conn: IntegrationConnection):
        client = MetrcClient(
            base_url, MetrcCredentials(VENDOR_KEY, BENCH_USER_KEY), limits=MetrcLimits(), limiter=limiter
        )

        def on_write(seconds: float, result, window) -> None:
            end = time.perf_counter()
            with lock:
                windows.append((seconds, result.seen))
                if result.seen:
                    busy.append((end - seconds, end))

        return run_sync(
            engine,
            fence,
            connection_id=conn.id,
            resource="packages",
            fn=lambda ctx: sync_packages(ctx, conn, client, on_write=on_write),
        )

    return run_bounded(conns, one, max_workers=len(conns))


def raw_upsert(url: str, rows: list[tuple], sizes: list[int]) -> list[tuple[float, int]]:
    """The same lot rows, upserted with executemany in batches of the sync's window sizes."""
    u = make_url(url)
    conn = pymysql.connect(
        host=u.host, port=u.port or 3306, user=u.username, password=u.password or "", database=u.database
    )
    out = []
    try:
        with conn.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS inventory_lots_raw")
            cur.execute("CREATE TABLE inventory_lots_raw LIKE inventory_lots")  # columns, keys, CHECKs
            cur.execute(  # LIKE leaves out foreign keys; the real table checks them on every insert
                "ALTER TABLE inventory_lots_raw ADD FOREIGN KEY (product_id) REFERENCES products (id), "
                "ADD FOREIGN KEY (license_id) REFERENCES licenses (id)"
            )
        conn.commit()
        sql = (
            "INSERT INTO inventory_lots_raw (product_id, license_id, package_label, quantity_on_hand, "
            "quantity_reserved, quantity_available, lab_test_state, on_hold, expires_on, created_at, updated_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE "
            "quantity_on_hand = VALUES(quantity_on_hand), quantity_available = VALUES(quantity_available), "
            "lab_test_state = VALUES(lab_test_state), on_hold = VALUES(on_hold), expires_on = VALUES(expires_on), "
            "updated_at = VALUES(updated_at)"
        )
        i = 0
        for size in sizes:
            batch = rows[i : i + size]
            i += size
            started = time.perf_counter()
            with conn.cursor() as cur:
                cur.executemany(sql, batch)
            conn.commit()
            out.append((time.perf_counter() - started, len(batch)))
    finally:
        conn.close()
    return out


def per_package_ms(windows: list[tuple[float, int]]) -> list[float]:
    return [1000 * s / n for s, n in windows if n]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database", default="reup_metrc_sync_bench")
    ap.add_argument("--packages", type=int, default=20_000)
    ap.add_argument("--facilities", type=int, default=5)
    args = ap.parse_args(argv)

    print(
        f"starting the METRC sandbox with {args.packages} packages across {args.facilities} facilities ...", flush=True
    )
    bulk = ["--bulk-packages", str(args.packages), "--bulk-facilities", str(args.facilities)]
    proc, base_url = start_sandbox("metrc", bulk, timeout=120)
    try:
        return run(args, base_url)
    finally:
        stop_sandbox(proc)


def run(args: argparse.Namespace, base_url: str) -> int:
    facilities = sorted(httpx.get(base_url + "/_sandbox/metrc/credentials").json()["user_keys"][BENCH_USER_KEY])
    url, engine = migrated_database(args.database)
    conns = seed(engine, base_url, facilities)
    limits = MetrcLimits()
    allowed = min(limits.vendor_gets_per_second, len(facilities) * limits.facility_gets_per_second)
    limiter = bench_limiter()  # a budget of our own
    meter = CallMeter()
    http = shared_client(TransportConfig("metrc", base_url))  # the pooled client every sync's transport uses
    http.event_hooks["request"].append(meter.request)
    http.event_hooks["response"].append(meter.response)

    windows: list[tuple[float, int]] = []
    busy: list[tuple[float, float]] = []  # (start, end) of each window transaction with packages
    load = os.getloadavg()[0]
    started, cpu = time.monotonic(), time.process_time()
    runs = run_syncs(engine, conns, base_url, limiter, windows, busy)
    wall, cpu = time.monotonic() - started, time.process_time() - cpu
    failed = [r for r in runs if not hasattr(r, "status") or r.status != "succeeded"]
    if failed:
        print(f"sync FAILED: {[getattr(r, 'error', r) for r in failed]}")
        return 1
    with Session(engine) as s:
        lots = s.execute(select(InventoryLot).order_by(InventoryLot.id)).scalars().all()
        rows = [
            (
                x.product_id,
                x.license_id,
                x.package_label,
                x.quantity_on_hand,
                x.quantity_reserved,
                x.quantity_available,
                x.lab_test_state,
                x.on_hold,
                x.expires_on,
                x.created_at,
                x.updated_at,
            )
            for x in lots
        ]
        stock = sum(p.available_qty for p in s.execute(select(Product)).scalars())
    report_calls(base_url, meter, allowed, limits, wall)
    print(
        f"client CPU during the sync: {cpu:.2f} s = {1000 * cpu / max(meter.total, 1):.2f} ms per call (fetching, "
        f"parsing and the window transactions); load average at the start {load:.1f} on {os.cpu_count()} cores"
    )
    print(f"lots created: {len(rows)} (products' available total {stock})")
    raw = raw_upsert(url, rows, [n for _, n in windows if n])
    report_db(windows, busy, raw)
    engine.dispose()
    return 0


def report_calls(base_url: str, meter: CallMeter, allowed: float, limits: MetrcLimits, wall: float) -> None:
    calls = httpx.get(base_url + "/_sandbox/calls", timeout=30).json()
    per_second: dict[int, int] = {}
    for row in calls["rows"]:
        if row["method"] == "GET" and row["status"] != 429:
            per_second[row["second"]] = per_second.get(row["second"], 0) + row["count"]
    seconds = sorted(per_second)
    inner = [per_second[s] for s in seconds[1:-1]] or list(per_second.values())  # whole seconds only
    phase = (meter.last - meter.first) if meter.first and meter.last else float("nan")
    rate = meter.gets / phase
    print(f"sync wall time {wall:.2f} s; calling phase {phase:.2f} s")
    print(
        f"GETs: {meter.gets} ok, {meter.throttled} x 429 of {meter.total} calls "
        f"({100 * meter.throttled / max(meter.total, 1):.2f}% 429s, target < 1%)"
    )
    print(
        f"achieved {rate:.1f} GET/s = {100 * rate / allowed:.1f}% of the {allowed:.0f} GET/s the sync may use "
        f"(target >= 90%; the limiter paces at {100 * limits.headroom:.0f}% = {allowed * limits.headroom:.1f})"
    )
    print(
        f"sandbox call log, GETs per whole second: median {percentile(inner, 50):.0f}, "
        f"p95 {percentile(inner, 95):.0f}, peak {calls['peak_gets_per_second']}; "
        f"peak per facility {calls['peak_gets_per_second_by_facility']}"
    )


def union_seconds(spans: list[tuple[float, float]]) -> float:
    """Wall-clock seconds covered by at least one of the (start, end) spans."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(spans):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def report_db(windows: list[tuple[float, int]], busy: list[tuple[float, float]], raw: list[tuple[float, int]]) -> None:
    sync_ms, raw_ms = per_package_ms(windows), per_package_ms(raw)
    n = sum(c for _, c in windows)
    sync_total, raw_total = sum(s for s, _ in windows), sum(s for s, _ in raw)
    sync_busy = union_seconds(busy)
    print(
        f"DB cost per package, sync window transactions: median {percentile(sync_ms, 50):.3f} ms, "
        f"p95 {percentile(sync_ms, 95):.3f} ms, sum {1000 * sync_total / max(n, 1):.3f} ms "
        f"({len(windows)} windows, {sum(1 for _, c in windows if c)} with packages, {sync_total:.2f} s summed "
        f"over concurrent windows)"
    )
    print(
        f"DB time per package, sync (wall clock with a window transaction open): {1000 * sync_busy / max(n, 1):.3f} ms "
        f"({sync_busy:.2f} s)"
    )
    print(
        f"DB cost per package, raw bulk upsert:           median {percentile(raw_ms, 50):.3f} ms, "
        f"p95 {percentile(raw_ms, 95):.3f} ms, overall {1000 * raw_total / max(n, 1):.3f} ms ({raw_total:.2f} s)"
    )
    print(
        f"sync / raw: DB time {sync_busy / raw_total:.2f}x (target <= 2x); per window: median "
        f"{percentile(sync_ms, 50) / percentile(raw_ms, 50):.2f}x, summed {sync_total / raw_total:.2f}x"
    )


if __name__ == "__main__":
    raise SystemExit(main())
