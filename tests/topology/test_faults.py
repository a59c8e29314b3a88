"""Faults on the real loopback topology (deploy/topology.py: nginx -> 2 app instances, worker
leader + standby, Redis, MariaDB primary + TLS replica) while simulated users place orders and
open tabs browse the catalog over Reflex's WebSocket through nginx.

One topology run, faults in sequence: SIGKILL an app instance, SIGTERM (graceful) the other, stop
and restart MySQL (the primary), stop and restart Redis, SIGKILL the job leader. Afterwards:
every acknowledged order exists exactly once, none doubled by a retry, stock = initial - sold,
every tab reconnected (same client token) and answers again, the standby took the job lease.

Orders go through the service layer from the test process (retrying with the same idempotency
key, as the checkout page does), tabs through nginx; needs the frontend built for REUP_TEST_PORT.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, select

from bench.reflex_socket import ReflexSocket
from deploy.topology import Topology

pytestmark = [pytest.mark.mysql, pytest.mark.redis]

PORT = int(os.environ.get("REUP_TEST_PORT", "3170"))
MYSQL_PORT = int(os.environ.get("REUP_TOPOLOGY_MYSQL_PORT", "13330")) + 10
REDIS_PORT = int(os.environ.get("REUP_TOPOLOGY_REDIS_PORT", "16380"))
CHROMIUM = os.environ.get("REUP_CHROMIUM", "/usr/bin/chromium")
BUILD = Path(__file__).resolve().parents[2] / ".web" / "build" / "client"
INITIAL = Decimal("100000")

if not shutil.which("nginx") and not Path("/usr/sbin/nginx").exists():
    pytest.skip("nginx is needed (scripts/test.sh installs it)", allow_module_level=True)
if not BUILD.exists():
    pytest.skip("build the frontend first (scripts/test.sh does)", allow_module_level=True)


@pytest.fixture(scope="module")
def topo(tmp_path_factory):
    t = Topology(
        tmp_path_factory.mktemp("topology"),
        apps=2,
        port=PORT,
        base_port=PORT + 1,
        mysql_port=MYSQL_PORT,
        redis_port=REDIS_PORT,
    )
    try:
        t.start()
        yield t
    finally:
        t.stop()


class Shoppers:
    """Retailers placing one-unit orders in a loop; a failed checkout is retried with the same
    idempotency key until it is acknowledged (what a client does when it got no answer)."""

    def __init__(self, engine, seller, product, buyers) -> None:
        self.engine, self.product, self.buyers = engine, product, buyers
        self.acked: list[str] = []
        self.errors_seen = 0
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.loop, args=(b,), daemon=True) for b in buyers]

    def loop(self, buyer) -> None:
        import uuid

        from reup_app.db import unit_of_work
        from reup_app.services.ordering import cart, checkout_flow

        while not self.stop.is_set():
            key = uuid.uuid4().hex
            added = False
            while not self.stop.is_set():
                try:
                    if not added:
                        with unit_of_work(buyer.owner, engine=self.engine) as s:
                            cart.add_to_cart(s, buyer.owner, self.product.id, "1")
                        added = True
                    with unit_of_work(buyer.owner, engine=self.engine) as s:
                        result = checkout_flow.checkout(
                            s, buyer.owner, buyer_license_id=buyer.license.id, idempotency_key=key
                        )
                    self.acked.extend(o.number for o in result.orders)
                    break
                except Exception:
                    self.errors_seen += 1
                    time.sleep(0.3)
            time.sleep(0.05)


class Tab:
    """An open browser tab: one client token, reconnecting through nginx like the browser does."""

    def __init__(self, event: str, origin: str) -> None:
        self.event, self.origin = event, origin
        self.sock: ReflexSocket | None = None
        self.token: str | None = None
        self.updates: asyncio.Queue = asyncio.Queue()
        self.reconnects = -1

    async def _connect(self) -> None:
        sock = ReflexSocket("127.0.0.1", PORT, self.origin, lambda _s, u, _t: self.updates.put_nowait(u))
        if self.token:
            sock.token = self.token
        self.token = sock.token
        await sock.connect(timeout=5)
        self.sock, self.reconnects = sock, self.reconnects + 1

    async def round_trip(self, within: float = 60) -> float:
        """Send the catalog load and wait for its state delta; reconnect as needed."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                if self.sock is None or self.sock.closed:
                    await self._connect()
                assert self.sock is not None
                t = time.perf_counter()
                self.sock.emit_event(self.event, {}, "/marketplace")
                while True:
                    update = await asyncio.wait_for(self.updates.get(), 8)
                    if update.get("delta"):
                        return time.perf_counter() - t
            except (OSError, TimeoutError, AssertionError):
                if self.sock is not None:
                    await self.sock.close()
                self.sock = None
                await asyncio.sleep(0.5)
        raise TimeoutError("the tab did not get an answer again")


def _leader_pid(t: Topology) -> int:
    value = redis.Redis(port=t.redis_port).get(f"{t.channel}:lease:scheduler")
    assert value, "no job leader holds the lease"
    owner = value.decode().split("|")[0]
    for name in ("worker0", "worker1"):
        p = t.procs.get(name)
        if p is not None and owner.split(":")[1] == str(p.pid):
            return p.pid
    raise AssertionError(f"lease owner {owner} is not one of our workers")


def _browser_sees_reconnecting(t: Topology) -> None:
    """A real Chromium tab through nginx: while no instance answers it shows the plain
    "Reconnecting" banner (never Reflex's raw connection error), and resumes by itself."""
    from playwright.sync_api import expect, sync_playwright

    from reup_app.components.reconnecting import RECONNECTING_TEXT

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP localhost 127.0.0.1"],
            headless=True,
        )
        try:
            page = browser.new_page(base_url=f"http://localhost:{PORT}")
            page.set_default_timeout(30000)
            page.goto("/marketplace")
            expect(page.get_by_test_id("result-count")).to_be_visible()
            banner = page.locator("#reup-reconnecting")
            expect(banner).to_be_hidden()
            for i in range(t.apps):  # every instance restarting at once (a full deploy)
                t.stop_proc(f"app{i}", signal.SIGTERM)
            expect(banner).to_be_visible()
            expect(banner).to_have_text(RECONNECTING_TEXT)
            assert "Cannot connect to server" not in page.content()
            for i in range(t.apps):
                t.start_app(i, wait=False)
            expect(banner).to_be_hidden(timeout=120000)
            expect(page.get_by_test_id("result-count")).to_be_visible()
        finally:
            browser.close()
    for i in range(t.apps):
        t.wait_ready(i)


def _setup_market(engine):
    from sqlmodel import Session

    from tests.integration.orderkit import make_buyer, make_seller, stock

    with Session(engine, expire_on_commit=False) as s:
        seller = make_seller(s, terms="cod")
        product, _lots = stock(s, seller, qty=str(INITIAL), price="1.00")
        buyers = [make_buyer(s) for _ in range(3)]
    return seller, product, buyers


def test_faults_mid_traffic_lose_or_double_no_order(topo):
    from reflex_base.utils.format import format_event_handler

    from reup_app.db import build_engine
    from reup_app.models import InventoryLot, Order, OrderLine
    from reup_app.state.catalog import CatalogState

    env = topo.env()
    engine = build_engine(env["REUP_DATABASE_URL"], env["REUP_DB_SSL_CA"])
    seller, product, buyers = _setup_market(engine)
    shoppers = Shoppers(engine, seller, product, buyers)
    for th in shoppers.threads:
        th.start()

    loop = asyncio.new_event_loop()
    tabs = [Tab(format_event_handler(CatalogState.load), env["REUP_APP_URL"]) for _ in range(4)]

    async def gather() -> list[float]:
        return await asyncio.gather(*(tab.round_trip() for tab in tabs))

    def all_tabs_answer() -> None:
        loop.run_until_complete(gather())

    all_tabs_answer()
    seen: dict[str, int] = {}

    def progress(label: str) -> None:
        before = len(shoppers.acked)
        deadline = time.time() + 60
        while len(shoppers.acked) < before + 3 and time.time() < deadline:
            time.sleep(0.2)
        assert len(shoppers.acked) >= before + 3, f"orders stopped after: {label}"
        seen[label] = len(shoppers.acked)

    try:
        progress("start")
        topo.stop_proc("app0", signal.SIGKILL)  # crash one instance
        all_tabs_answer()
        topo.start_app(0)
        topo.stop_proc("app1", signal.SIGTERM)  # graceful restart of the other
        all_tabs_answer()
        topo.start_app(1)
        progress("app instances")
        _browser_sees_reconnecting(topo)

        topo.primary.stop()  # MySQL down ...
        time.sleep(3)
        topo.primary.start(topo.base / "mysql" / "certs")  # ... and back
        topo.replica.sql("START SLAVE;")
        progress("mysql restart")
        all_tabs_answer()

        topo.stop_proc("redis")  # Redis down (Reflex state, bus, leases) ...
        time.sleep(2)
        topo.start_redis()  # ... and back, empty
        all_tabs_answer()
        progress("redis restart")

        deadline = time.time() + 20
        while True:  # a leader holds the lease again after the Redis restart
            try:
                leader = _leader_pid(topo)
                break
            except AssertionError:
                if time.time() > deadline:
                    raise
                time.sleep(0.5)
        name = next(n for n in ("worker0", "worker1") if topo.procs[n].pid == leader)
        topo.stop_proc(name, signal.SIGKILL)
        deadline = time.time() + 20
        new_leader = None
        while time.time() < deadline and new_leader is None:
            try:
                new_leader = _leader_pid(topo)
            except AssertionError:
                time.sleep(0.5)
        assert new_leader is not None and new_leader != leader, "the standby did not take over"
        progress("leader killed")
    finally:
        shoppers.stop.set()
        for th in shoppers.threads:
            th.join(30)
        for tab in tabs:
            if tab.sock is not None:
                loop.run_until_complete(tab.sock.close())
        loop.run_until_complete(asyncio.sleep(0.1))  # let the cancelled readers finish
        loop.close()

    from sqlmodel import Session

    with Session(engine) as s:
        numbers = s.execute(select(Order.number).where(Order.seller_entity_id == seller.id)).scalars().all()
        sold = s.execute(
            select(func.coalesce(func.sum(OrderLine.quantity), 0))
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.seller_entity_id == seller.id)
        ).scalar_one()
        lots = s.execute(select(InventoryLot).where(InventoryLot.product_id == product.id)).scalars().all()
    engine.dispose()
    assert len(shoppers.acked) == len(set(shoppers.acked)), "an order was acknowledged twice"
    assert set(shoppers.acked) <= set(numbers), "an acknowledged order is missing"
    assert len(numbers) == len(set(numbers))
    # Orders the clients never got an answer for are allowed only as the retried-and-acked ones:
    assert len(numbers) == len(shoppers.acked), "an order exists that no client was told about (doubled retry)"
    remaining = sum((lot.quantity_available for lot in lots), Decimal(0))
    assert remaining == INITIAL - Decimal(sold)
    assert all(tab.reconnects >= 1 for tab in tabs), "every tab had to reconnect at least once"
    print(f"\nfaults survived: {seen}; client retries {shoppers.errors_seen}; orders {len(numbers)}")
