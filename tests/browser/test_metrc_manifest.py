"""The METRC manifest live in real Chromium: the seller ships an order in the browser, a real
`reup worker` creates the outgoing template in the METRC sandbox, the sandbox registers it, the worker
captures the ManifestNumber, and the buyer's already-open order page shows it without reloading."""

from __future__ import annotations

import time
import uuid

from playwright.sync_api import expect
from sqlalchemy import select

from reup_app.db import build_engine, unit_of_work
from reup_app.models import IntegrationConnection, License
from reup_app.models.types import utcnow
from reup_app.security.crypto import encrypt_credentials
from reup_app.security.principal import Principal
from reup_app.services.ordering import cart, checkout_flow, orders
from tests.browser.admin_kit import sign_in
from tests.browser.conftest import start_worker, stop_server
from tests.browser.seeddb import rows, scalar
from tests.browser.test_order_flow import BUYER, SELLER, _orderable
from tests.metrc_kit import GREENLEAF, PB_DIST
from tests.sandboxes import MetrcSandbox


def _principal(url: str, email: str) -> Principal:
    uid, eid, role = rows(
        url,
        "SELECT u.id, m.entity_id, m.role FROM users u JOIN memberships m ON m.user_id = u.id WHERE u.email = :e",
        e=email,
    )[0]
    return Principal(user_id=uid, entity_id=eid, roles=frozenset({role}))


def _fulfilled_order(engine, url: str) -> str:
    """An order of Greenleaf from Pacific Bloom, accepted and fulfilled through the services."""
    pid, _name, qty = _orderable(url, "Pacific Bloom Distribution")
    buyer, seller = _principal(url, BUYER), _principal(url, SELLER)
    license_id = scalar(url, "SELECT id FROM licenses WHERE number = :n", n=GREENLEAF)
    with unit_of_work(buyer, engine=engine) as s:
        cart.add_to_cart(s, buyer, pid, qty)
    with unit_of_work(buyer, engine=engine) as s:
        result = checkout_flow.checkout(s, buyer, buyer_license_id=license_id, idempotency_key=uuid.uuid4().hex)
    number = result.orders[0].number
    for action in ("accept", "fulfill"):
        with unit_of_work(seller, engine=engine) as s:
            orders.transition(s, seller, number, action, idempotency_key=uuid.uuid4().hex)
    return number


def _connect(engine, sb: MetrcSandbox, *, enabled: bool = True) -> None:
    """Connect (or disconnect) Pacific Bloom's distributor license to the sandbox."""
    with unit_of_work(None, engine=engine) as s:
        lic = s.execute(select(License).where(License.number == PB_DIST)).scalar_one()
        conn = s.execute(
            select(IntegrationConnection).where(
                IntegrationConnection.license_id == lic.id, IntegrationConnection.provider == "metrc"
            )
        ).scalar_one_or_none()
        now = utcnow()
        conn = conn or IntegrationConnection(
            entity_id=lic.entity_id, license_id=lic.id, provider="metrc", created_at=now
        )
        conn.base_url, conn.enabled, conn.updated_at = sb.base_url, enabled, now
        conn.credentials_encrypted = encrypt_credentials(lic.id, "metrc", {"user_key": sb.user_key("pacificbloom")})
        s.add(conn)


def _wait_template(sb: MetrcSandbox, name: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [t for t in sb.templates() if t["Name"] == name]
        if found:
            return found[0]
        time.sleep(0.3)
    raise AssertionError(f"the worker did not create the METRC template {name!r} in {timeout} s")


def test_seller_ships_and_buyers_open_page_shows_the_manifest_number(browser, app_url, demo_db_url, metrc_sandbox):
    sb = metrc_sandbox
    engine = build_engine(demo_db_url)
    _connect(engine, sb)
    number = _fulfilled_order(engine, demo_db_url)
    worker = start_worker(
        demo_db_url,
        "browser-metrc-worker.log",
        REUP_METRC_VENDOR_KEY=MetrcSandbox.VENDOR_KEY,
        REUP_METRC_TRANSFER_POLL_SECONDS="1",
    )
    buyer_ctx = browser.new_context(base_url=app_url, viewport={"width": 1280, "height": 900})
    seller_ctx = browser.new_context(base_url=app_url, viewport={"width": 1280, "height": 900})
    try:
        buyer = buyer_ctx.new_page()
        buyer.set_default_timeout(15000)
        sign_in(buyer, BUYER)
        buyer.goto(f"/orders/{number}")
        expect(buyer.get_by_test_id("order-status")).to_have_text("Fulfilled")
        expect(buyer.get_by_test_id("order-manifest")).to_have_count(0)

        seller = seller_ctx.new_page()
        seller.set_default_timeout(15000)
        sign_in(seller, SELLER)
        seller.goto(f"/orders/{number}")
        seller.get_by_label("Driver", exact=True).fill("Dana Ruiz")
        seller.get_by_label("Driver phone").fill("(510) 555-0142")
        seller.get_by_label("License plate").fill("8ABC123")
        seller.get_by_role("button", name="Ship", exact=True).click()
        expect(seller.get_by_test_id("order-status")).to_have_text("Shipped")
        expect(buyer.get_by_test_id("manifest-number")).to_have_text("not issued yet", timeout=10000)

        template = _wait_template(sb, f"ReUp {number}")
        transfer = sb.register_template(template["Id"])  # the licensee registers it in METRC
        # pushed to the buyer's open page by the worker's event: no reload
        expect(buyer.get_by_test_id("manifest-number")).to_have_text(transfer["ManifestNumber"], timeout=20000)
        expect(buyer.get_by_test_id("manifest-status")).to_have_text("Manifest issued")
        expect(seller.get_by_test_id("manifest-number")).to_have_text(transfer["ManifestNumber"])
    finally:
        buyer_ctx.close()
        seller_ctx.close()
        stop_server(worker)
        _connect(engine, sb, enabled=False)  # later browser tests ship Pacific Bloom orders unconnected
        engine.dispose()
