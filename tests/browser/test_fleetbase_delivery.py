"""The Fleetbase delivery live in real Chromium: the seller ships, a real `reup worker` creates the
Fleetbase order in the sandbox, the sandbox sends signed webhooks to the app's endpoint, and the
buyer's already-open order page goes from dispatched, along the route, to delivered (proof shown,
order delivered) without reloading."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select

from reup_app.db import build_engine, unit_of_work
from reup_app.models import IntegrationConnection, License
from reup_app.models.types import utcnow
from reup_app.security.crypto import encrypt_credentials
from reup_app.services.ordering import orders
from tests.browser.admin_kit import sign_in
from tests.browser.conftest import BASE_URL, WEBHOOK_SECRET, start_worker, stop_server
from tests.browser.test_metrc_manifest import _fulfilled_order, _principal
from tests.browser.test_order_flow import BUYER, SELLER
from tests.metrc_kit import PB_DIST
from tests.sandboxes import FleetbaseSandbox, SandboxProcess

WAIT = 45000  # ms; pushes are fast, but this machine may be loaded


def _connect(engine, sb: FleetbaseSandbox, *, enabled: bool = True) -> None:
    with unit_of_work(None, engine=engine) as s:
        lic = s.execute(select(License).where(License.number == PB_DIST)).scalar_one()
        conn = s.execute(
            select(IntegrationConnection).where(
                IntegrationConnection.license_id == lic.id, IntegrationConnection.provider == "fleetbase"
            )
        ).scalar_one_or_none()
        now = utcnow()
        conn = conn or IntegrationConnection(
            entity_id=lic.entity_id, license_id=lic.id, provider="fleetbase", created_at=now
        )
        conn.base_url, conn.enabled, conn.updated_at = sb.base_url, enabled, now
        conn.credentials_encrypted = encrypt_credentials(lic.id, "fleetbase", {"api_key": sb.API_KEY})
        s.add(conn)


def _wait_order(sb: FleetbaseSandbox, internal_id: str, status: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [o for o in sb.orders() if o["internal_id"] == internal_id and o["status"] == status]
        if found:
            return found[0]
        time.sleep(0.3)
    raise AssertionError(f"no {status} Fleetbase order {internal_id!r} after {timeout} s")


@contextmanager
def _delivery_world(browser, app_url: str, demo_db_url: str) -> Iterator[tuple[FleetbaseSandbox, Any, str, Any]]:
    """A Fleetbase sandbox posting signed webhooks to the app, the seller's connection to it, a fulfilled
    order and a real `reup worker`: (sandbox, engine, order number, browser context); all stopped after."""
    process = SandboxProcess("fleetbase")
    sb = FleetbaseSandbox(process)
    sb.register_webhook(f"{BASE_URL}/api/webhooks/fleetbase", WEBHOOK_SECRET)
    engine = build_engine(demo_db_url)
    _connect(engine, sb)
    number = _fulfilled_order(engine, demo_db_url)
    worker = start_worker(demo_db_url, "browser-fleetbase-worker.log")
    ctx = browser.new_context(base_url=app_url, viewport={"width": 1280, "height": 900})
    try:
        yield sb, engine, number, ctx
    finally:
        ctx.close()
        stop_server(worker)
        _connect(engine, sb, enabled=False)
        engine.dispose()
        sb.close()
        process.stop()


def _ship(engine, demo_db_url: str, number: str, **driver: str) -> None:
    seller = _principal(demo_db_url, SELLER)
    with unit_of_work(seller, engine=engine) as s:
        orders.transition(
            s, seller, number, "ship", idempotency_key=uuid.uuid4().hex,
            driver_name="Dana Ruiz", vehicle_make="Ford", vehicle_model="Transit", vehicle_plate="8ABC123", **driver,
        )  # fmt: skip


def _seller_watches_the_dispatched_order(sb, engine, demo_db_url: str, number: str, ctx) -> tuple[dict, Any]:
    """Ship (the worker creates the Fleetbase order); the seller's order page shows it dispatched."""
    _ship(engine, demo_db_url, number)
    order = _wait_order(sb, f"fleetbase:{number}", "dispatched")
    page = ctx.new_page()
    page.set_default_timeout(WAIT)
    sign_in(page, SELLER, timeout=60_000)
    page.goto(f"/orders/{number}")
    expect(page.get_by_test_id("delivery-status")).to_have_text("Dispatched", timeout=WAIT)
    return order, page


def test_buyer_watches_dispatched_to_delivered_without_reloading(browser, app_url, demo_db_url):
    with _delivery_world(browser, app_url, demo_db_url) as (sb, engine, number, ctx):
        buyer = ctx.new_page()
        buyer.set_default_timeout(WAIT)
        sign_in(buyer, BUYER, timeout=60_000)
        buyer.goto(f"/orders/{number}")
        expect(buyer.get_by_test_id("order-status")).to_have_text("Fulfilled", timeout=WAIT)
        expect(buyer.get_by_test_id("delivery-panel")).to_have_count(0, timeout=WAIT)

        _ship(engine, demo_db_url, number, driver_phone="(510) 555-0142")
        expect(buyer.get_by_test_id("order-status")).to_have_text("Shipped", timeout=WAIT)
        order = _wait_order(sb, f"fleetbase:{number}", "dispatched")
        expect(buyer.get_by_test_id("delivery-status")).to_have_text("Dispatched", timeout=WAIT)
        expect(buyer.get_by_test_id("delivery-driver")).to_contain_text("Dana Ruiz", timeout=WAIT)
        expect(buyer.get_by_test_id("delivery-vehicle")).to_have_text("Ford Transit, plate 8ABC123", timeout=WAIT)

        sb.advance(order["id"], "enroute", trip_seconds=600)
        sb.advance_clock(300)
        sb.tick()
        expect(buyer.get_by_test_id("delivery-status")).to_have_text("On the way", timeout=WAIT)
        expect(buyer.get_by_test_id("delivery-progress")).to_have_text("50%", timeout=WAIT)
        expect(buyer.get_by_test_id("delivery-route")).to_be_visible(timeout=WAIT)

        sb.advance_clock(400)
        sb.tick()  # arrived: signature captured, order completed
        expect(buyer.get_by_test_id("delivery-status")).to_have_text("Delivered", timeout=WAIT)
        expect(buyer.get_by_test_id("order-status")).to_have_text("Delivered", timeout=WAIT)
        expect(buyer.get_by_test_id("delivery-proof")).to_be_visible(timeout=WAIT)
        expect(buyer.get_by_role("button", name="Report a problem")).to_be_visible(timeout=WAIT)


def test_seller_cancels_a_dispatched_delivery_with_a_reason(browser, app_url, demo_db_url):
    with _delivery_world(browser, app_url, demo_db_url) as (sb, engine, number, ctx):
        order, page = _seller_watches_the_dispatched_order(sb, engine, demo_db_url, number, ctx)
        page.get_by_test_id("cancel-delivery").click()
        page.get_by_label("Why? (required; the buyer reads it)").fill("Buyer closed for inventory today")
        page.get_by_test_id("confirm-cancel-delivery").click()
        _wait_order(sb, order["internal_id"], "canceled")  # the worker sent it
        expect(page.get_by_test_id("delivery-status")).to_have_text("Cancelled", timeout=WAIT)
        expect(page.get_by_test_id("cancel-delivery")).to_have_count(0, timeout=WAIT)
        expect(page.get_by_test_id("order-status")).to_have_text("Shipped", timeout=WAIT)


def test_seller_sees_a_driver_change_after_the_start_live(browser, app_url, demo_db_url):
    """Fleetbase's dispatcher hands the started delivery to a relief driver (the sandbox's swap scenario):
    the seller's open order page shows the new driver and "Driver changed to ... at HH:MM UTC" without
    reloading, and the deliveries board flags it."""
    with _delivery_world(browser, app_url, demo_db_url) as (sb, engine, number, ctx):
        order, page = _seller_watches_the_dispatched_order(sb, engine, demo_db_url, number, ctx)
        expect(page.get_by_test_id("delivery-driver")).to_contain_text("Dana Ruiz", timeout=WAIT)
        expect(page.get_by_test_id("delivery-driver-change")).to_have_count(0)

        sb.scenarios(swap_driver_on="started", swap_driver_name="Riley Relief", swap_driver_phone="+15105550199")
        sb.advance(order["id"], "started")
        change = page.get_by_test_id("delivery-driver-change")
        expect(change).to_contain_text("Driver changed to Riley Relief at", timeout=WAIT)
        expect(change).to_contain_text("UTC (was Dana Ruiz)")
        expect(page.get_by_test_id("delivery-driver")).to_contain_text("Riley Relief", timeout=WAIT)

        page.goto("/seller/deliveries")
        row = page.get_by_test_id("delivery-row").filter(has_text=number)
        expect(row.get_by_test_id("delivery-driver-changed")).to_be_visible(timeout=WAIT)
        expect(row).to_contain_text("Riley Relief")
