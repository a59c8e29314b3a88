"""Faults on the real loopback topology (deploy/topology.py: nginx -> 2 app instances, worker
leader + standby, Redis, MariaDB primary + TLS replica) while simulated users place orders through
nginx and open tabs browse the catalog over Reflex's WebSocket through nginx.

One topology run, faults in sequence: SIGKILL an app instance, SIGTERM (graceful) the other, every
instance at once (a real Chromium tab must show "Reconnecting"), stop and restart MySQL (the
primary), stop and restart Redis, SIGKILL the job leader. Both kinds of client must place orders
again after each fault. Afterwards: every acknowledged order exists exactly once, none doubled by
a retry, stock = initial - sold, every tab reconnected (same client token) and answers again, the
standby took the job lease.

The clients, as real ones do:
- ApiShopper: POST /api/v1/orders with an Idempotency-Key, re-sent with the same key after any
  failure or timeout until a 2xx arrives;
- PageShopper: the real page handlers over the socket (bench/reflex_ws.py): sign in, product page,
  add to cart, cart page, Place orders; acknowledged only when the page showed "Placed ...". Its
  retry rule after a lost connection is in its docstring.

Needs the frontend built for REUP_TEST_PORT, nginx and the MariaDB server binaries.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import threading
import time
import uuid
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import func, select

from bench.reflex_socket import ReflexSocket
from bench.reflex_ws import Shopper
from bench.reflex_ws import Tab as ReflexTab
from deploy.topology import Topology

pytestmark = [pytest.mark.mysql, pytest.mark.redis]

PORT = int(os.environ.get("REUP_TEST_PORT", "3170"))
MYSQL_PORT = int(os.environ.get("REUP_TOPOLOGY_MYSQL_PORT", "13330")) + 10
REDIS_PORT = int(os.environ.get("REUP_TOPOLOGY_REDIS_PORT", "16380"))
CHROMIUM = os.environ.get("REUP_CHROMIUM", "/usr/bin/chromium")
BUILD = Path(__file__).resolve().parents[2] / ".web" / "build" / "client"
INITIAL = Decimal("100000")
API_SHOPPERS, PAGE_SHOPPERS = 2, 2
FINISH_SECONDS = (
    45  # > the client timeout (20 s) + the API's wait for a running claim (15 s); a dead one is taken over in 2 s
)

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


class Ledger:
    """What the simulated clients were told, per buyer business, and how often they retried."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.acked: dict[int, list[str]] = defaultdict(list)  # order numbers a client was told about
        self.unseen: Counter[int] = Counter()  # page checkouts whose confirmation the page never showed
        self.in_doubt: list[tuple[int, str]] = []  # API keys still without a 2xx when the run ended
        self.refused: list[str] = []  # answers a retry can't fix (a test failure)
        self.retries: Counter[str] = Counter()  # why a client had to retry -> how often
        self.told: Counter[str] = Counter()  # "api" / "page" -> orders acknowledged
        self.phase = "start"  # the fault in progress: what clients saw is recorded per fault
        self.seen: dict[str, dict[str, str]] = defaultdict(dict)  # phase -> retry reason -> first text
        self.stop = threading.Event()
        self.finish_by = float("inf")  # after stop: how long a started order may still be retried

    def ack(self, buyer: int, numbers: list[str], kind: str) -> None:
        with self.lock:
            self.acked[buyer].extend(numbers)
            self.told[kind] += len(numbers)

    def retry(self, why: str, text: object = "") -> None:
        with self.lock:
            self.retries[why] += 1
            self.seen[self.phase].setdefault(why, str(text)[:160])

    def count(self, kind: str) -> int:
        return self.told[kind]

    def giving_up(self) -> bool:
        return self.stop.is_set() and time.monotonic() > self.finish_by


class ApiShopper:
    """A buyer's system on the public REST API through nginx: one-unit orders, each POSTed with its
    own Idempotency-Key and re-sent with that same key after any failure or timeout until a 2xx
    arrives (what the API guide tells clients to do)."""

    def __init__(self, ledger: Ledger, buyer, product_id: int, secret: str) -> None:
        self.ledger, self.buyer, self.product_id, self.secret = ledger, buyer, product_id, secret
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self) -> None:
        body = {"buyer_license_id": self.buyer.license.id, "lines": [{"product_id": self.product_id, "quantity": "1"}]}
        headers = {"Authorization": f"Bearer {self.secret}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{PORT}", headers=headers, timeout=20) as client:
            while not self.ledger.stop.is_set():
                self.order(client, body, uuid.uuid4().hex)
                time.sleep(0.05)

    def order(self, client: httpx.Client, body: dict, key: str) -> None:
        while not self.ledger.giving_up():
            try:
                r = client.post("/api/v1/orders", json=body, headers={"Idempotency-Key": key})
            except httpx.HTTPError as err:
                self.ledger.retry(f"api {type(err).__name__}", err)
            else:
                if r.is_success:
                    self.ledger.ack(self.buyer.id, [o["number"] for o in r.json()["data"]], "api")
                    return
                self.ledger.retry(f"api HTTP {r.status_code}", r.text)
                if r.status_code in (400, 401, 403, 404, 422):
                    self.ledger.refused.append(f"api {r.status_code}: {r.text[:300]}")
                    return
            time.sleep(0.3)
        self.ledger.in_doubt.append((self.buyer.id, key))


class PageShopper:
    """A signed-in retailer's tab on the real pages, over Reflex's socket through nginx
    (bench/reflex_ws.py): product page -> add one unit -> cart page -> Place orders.

    An order counts as acknowledged only when the page showed "Placed ..." (with its numbers).
    After losing the socket (or an answer) the shopper does what the browser does: reconnect with
    the same client token, sign in again if needed (the browser's session cookie), and load the
    cart page (the page's on_load runs on every reconnect). Items still in the cart: place again.
    An empty cart: the checkout went through but its confirmation was lost with the connection
    (the user finds the order under Orders); it is counted in `unseen`, never retried. No retry can
    double an order: checkout locks the buyer's cart rows and deletes what it ordered in the same
    transaction, so a second checkout (new idempotency key after Reflex state was lost with Redis,
    or the same key when the state survived) finds the items gone, or replays the first.
    """

    def __init__(self, ledger: Ledger, buyer, product_id: int, email: str, names: dict[str, str]) -> None:
        from tests.factories import DEFAULT_PASSWORD

        self.ledger, self.buyer, self.product_id = ledger, buyer, product_id
        self.shopper = Shopper(
            ReflexTab(f"ws://127.0.0.1:{PORT}", f"http://localhost:{PORT}", timeout=30), email, DEFAULT_PASSWORD, names
        )
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def reconnect(self) -> bool:
        while not self.ledger.giving_up():
            self.shopper.tab.close()
            try:
                self.shopper.tab.connect()
                self.shopper.sign_in()
                return True
            except Exception as err:
                self.ledger.retry(f"page sign-in {type(err).__name__}", err)
                time.sleep(0.5)
        return False

    def loop(self) -> None:
        if not self.reconnect():
            return
        unsure = False  # an add-to-cart whose answer was lost: look at the cart before adding again
        while not self.ledger.stop.is_set():
            try:
                if not (unsure and self.shopper.cart_items() > 0):
                    if error := self.shopper.add_one(self.product_id):
                        raise RuntimeError(error)
                unsure = False
            except Exception as err:
                self.ledger.retry(f"page add {type(err).__name__}", err)
                unsure = True
                if not self.reconnect():
                    return
                continue
            self.checkout()
            time.sleep(0.05)

    def checkout(self) -> None:
        attempted = False
        while not self.ledger.giving_up():
            try:
                items, confirmed = self.shopper.cart_page()
                if confirmed:  # the answer was lost with the connection; the reloaded cart page confirms it
                    self.ledger.ack(self.buyer.id, confirmed, "page")
                    self.ledger.retry("page confirmation shown after reconnecting")
                    return
                if items == 0:
                    if attempted:  # ordered, but the page never showed the confirmation
                        with self.ledger.lock:
                            self.ledger.unseen[self.buyer.id] += 1
                        self.ledger.retry("page confirmation lost (cart emptied)")
                    return
                attempted = True
                numbers, error = self.shopper.place()
                if numbers:
                    self.ledger.ack(self.buyer.id, numbers, "page")
                    return
                self.ledger.retry("page checkout error shown", error)
                time.sleep(0.3)
            except Exception as err:
                self.ledger.retry(f"page checkout {type(err).__name__}", err)
                if not self.reconnect():
                    return
        if attempted:
            self.ledger.in_doubt.append((self.buyer.id, "page"))


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
    """A wholesaler with one stocked product; API buyers (each with an API key made through the
    services) and page buyers (signing in with the factories' password)."""
    from sqlmodel import Session

    from reup_app.models.identity import User
    from tests.integration.apikit import new_key
    from tests.integration.orderkit import make_buyer, make_seller, stock

    with Session(engine, expire_on_commit=False) as s:
        seller = make_seller(s, terms="cod")
        product, _lots = stock(s, seller, qty=str(INITIAL), price="1.00")
        api_buyers = [make_buyer(s) for _ in range(API_SHOPPERS)]
        page_buyers = [make_buyer(s) for _ in range(PAGE_SHOPPERS)]
        emails = [s.get(User, b.owner.user_id).email for b in page_buyers]
    secrets = [new_key(engine, b.owner, role="buyer")[1] for b in api_buyers]
    return seller, product, list(zip(api_buyers, secrets, strict=True)), list(zip(page_buyers, emails, strict=True))


def test_faults_mid_traffic_lose_or_double_no_order(topo):
    from reflex_base.utils.format import format_event_handler

    from bench.reflex_ws import event_names
    from reup_app.db import build_engine
    from reup_app.models import InventoryLot, Order, OrderEvent, OrderLine
    from reup_app.state.catalog import CatalogState

    started = time.monotonic()
    env = topo.env()
    engine = build_engine(env["REUP_DATABASE_URL"], env["REUP_DB_SSL_CA"])
    seller, product, api_buyers, page_buyers = _setup_market(engine)
    ledger = Ledger()
    names = event_names()
    shoppers: list[ApiShopper | PageShopper] = [ApiShopper(ledger, b, product.id, k) for b, k in api_buyers]
    shoppers += [PageShopper(ledger, b, product.id, e, names) for b, e in page_buyers]
    for sh in shoppers:
        sh.thread.start()

    loop = asyncio.new_event_loop()
    tabs = [Tab(format_event_handler(CatalogState.load), env["REUP_APP_URL"]) for _ in range(4)]

    async def gather() -> list[float]:
        return await asyncio.gather(*(tab.round_trip() for tab in tabs))

    def all_tabs_answer() -> None:
        loop.run_until_complete(gather())

    all_tabs_answer()
    seen: dict[str, tuple[int, int]] = {}

    def progress(label: str, within: float = 90) -> None:
        """Both kinds of client place orders again after the fault (acknowledged ones)."""
        api, page = ledger.count("api"), ledger.count("page")
        deadline = time.monotonic() + within
        while time.monotonic() < deadline and not (ledger.count("api") > api and ledger.count("page") > page):
            time.sleep(0.2)
        seen[label] = (ledger.count("api"), ledger.count("page"))
        assert ledger.count("api") > api, f"API orders stopped after: {label}"
        assert ledger.count("page") > page, f"page orders stopped after: {label}"

    try:
        progress("start")
        ledger.phase = "app instance SIGKILL / SIGTERM"
        topo.stop_proc("app0", signal.SIGKILL)  # crash one instance
        all_tabs_answer()
        topo.start_app(0)
        topo.stop_proc("app1", signal.SIGTERM)  # graceful restart of the other
        all_tabs_answer()
        topo.start_app(1)
        progress("app instances")
        ledger.phase = "every instance restarting"
        _browser_sees_reconnecting(topo)
        progress("full deploy")

        ledger.phase = "mysql restart"
        topo.primary.stop()  # MySQL down ...
        time.sleep(3)
        topo.primary.start(topo.base / "mysql" / "certs")  # ... and back
        topo.replica.sql("START SLAVE;")
        progress("mysql restart")
        all_tabs_answer()

        ledger.phase = "redis restart"
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
        ledger.phase = "leader killed"
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
        ledger.phase = "finishing"
        ledger.finish_by = time.monotonic() + FINISH_SECONDS  # started orders may still get their answer
        ledger.stop.set()
        for sh in shoppers:
            sh.thread.join(FINISH_SECONDS + 40)
            if isinstance(sh, PageShopper):
                sh.shopper.tab.close()
        for tab in tabs:
            if tab.sock is not None:
                loop.run_until_complete(tab.sock.close())
        loop.run_until_complete(asyncio.sleep(0.1))  # let the cancelled readers finish
        loop.close()

    from sqlmodel import Session

    buyer_ids = [b.id for b, _ in api_buyers + page_buyers]
    with Session(engine) as s:
        rows = s.execute(select(Order.number, Order.buyer_entity_id).where(Order.seller_entity_id == seller.id)).all()
        sold = s.execute(
            select(func.coalesce(func.sum(OrderLine.quantity), 0))
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.seller_entity_id == seller.id)
        ).scalar_one()
        lots = s.execute(select(InventoryLot).where(InventoryLot.product_id == product.id)).scalars().all()
        orders_per_key = Counter(  # every checkout key (API and page) of this seller's orders
            s.execute(
                select(OrderEvent.idempotency_key)
                .join(Order, Order.id == OrderEvent.order_id)
                .where(OrderEvent.kind == "submitted", Order.seller_entity_id == seller.id)
            ).scalars()
        )
        doubtful_keys = [k for _, k in ledger.in_doubt if k != "page"]
        placed_in_doubt = Counter(
            s.execute(
                select(Order.buyer_entity_id, OrderEvent.idempotency_key)
                .join(OrderEvent, OrderEvent.order_id == Order.id)
                .where(OrderEvent.kind == "submitted", OrderEvent.idempotency_key.in_(doubtful_keys or [""]))
            ).all()
        )
    engine.dispose()
    numbers = [n for n, _ in rows]
    acked = [n for b in buyer_ids for n in ledger.acked[b]]
    report = (
        f"faults survived (api, page acknowledged orders after each): {seen}; orders {len(numbers)}; "
        f"confirmations lost {dict(ledger.unseen)}; in doubt at the end {ledger.in_doubt}; "
        f"acknowledged {dict(ledger.told)}; retries {dict(ledger.retries)}; {time.monotonic() - started:.0f} s"
    )
    print("\n" + report)
    for phase, why in ledger.seen.items():
        print(f"  {phase}: " + "; ".join(f"{k}: {v!r}" for k, v in why.items()))
    assert not ledger.refused, ledger.refused
    # A request that died (instance killed, MySQL gone) must not hold its Idempotency-Key for long:
    # every API order got its 2xx within FINISH_SECONDS of the last fault.
    assert not [k for _, k in ledger.in_doubt if k != "page"], f"API keys still refused at the end: {report}"
    assert len(acked) == len(set(acked)), "an order was acknowledged twice"
    assert set(acked) <= set(numbers), "an acknowledged order is missing"
    assert len(numbers) == len(set(numbers))
    assert None not in orders_per_key and sum(orders_per_key.values()) == len(numbers)
    assert max(orders_per_key.values()) == 1, "one checkout key made two orders"
    for buyer_id in buyer_ids:
        theirs = {n for n, b in rows if b == buyer_id}
        assert set(ledger.acked[buyer_id]) <= theirs, "an acknowledged order was placed for another buyer"
        # Every order a buyer has is one its client was told about, or one page checkout whose
        # confirmation was lost (the cart emptied), or the one order of a request still in doubt:
        told = len(ledger.acked[buyer_id]) + ledger.unseen[buyer_id]
        api_doubt = sum(1 for (b, _k), n in placed_in_doubt.items() if b == buyer_id and n == 1)
        page_doubt = sum(1 for b, k in ledger.in_doubt if b == buyer_id and k == "page")
        assert told + api_doubt <= len(theirs) <= told + api_doubt + page_doubt, (
            f"buyer {buyer_id}: {len(theirs)} orders, clients were told of {told} (doubled or lost): {report}"
        )
    faults = len(seen) - 1  # at most one checkout per page shopper and fault loses its answer
    assert sum(ledger.unseen.values()) <= PAGE_SHOPPERS * faults, f"too many lost confirmations: {report}"
    remaining = sum((lot.quantity_available for lot in lots), Decimal(0))
    assert remaining == INITIAL - Decimal(sold)
    assert all(tab.reconnects >= 1 for tab in tabs), "every tab had to reconnect at least once"
