"""/settings/api in real Chromium: Greenleaf's owner creates a key (name, role, expiry), sees its secret
once (the link is spent, and gone after a reload), uses it over HTTP against /api/v1, sees "last used",
revokes it and the key gets 401; adds a webhook endpoint (signing secret shown once), sends a test
event and sees the signed delivery in the log. A buyer-role member cannot reach the page."""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from playwright.sync_api import expect

from reup_app.jobs import webhook_sender
from reup_app.jobs.outbox_sender import OutboxDelivery
from reup_app.models.types import utcnow
from reup_app.settings import reset_settings_cache
from tests.browser.admin_kit import sign_in
from tests.browser.conftest import _app_env
from tests.browser.seeddb import scalar


class Receiver:
    """A loopback webhook receiver recording (headers, raw body)."""

    def __init__(self) -> None:
        self.got: list[tuple[dict, bytes]] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                outer.got.append((dict(self.headers), self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


@pytest.fixture
def app_db(demo_db_url):
    """This process's database is the app server's, so the webhook sender run here reads its rows."""
    mp = pytest.MonkeyPatch()
    env = _app_env(demo_db_url)
    for name in ("REUP_DATABASE_URL", "REUP_REDIS_URL", "REUP_EVENT_CHANNEL"):
        mp.setenv(name, env[name])
    reset_settings_cache()
    from reup_app import db

    db.reset_engine()
    yield demo_db_url
    mp.undo()
    reset_settings_cache()
    db.reset_engine()


def _reveal(page) -> str:
    """The new secret, through the page's one-time text link (with this browser's session cookie)."""
    expect(page.get_by_test_id("secret-image")).to_be_visible()
    href = page.get_by_role("link", name="Download as a text file").get_attribute("href")
    first = page.request.get(href)
    assert first.status == 200, first.text()
    assert page.request.get(href).status == 404  # spent
    return first.text().strip()


def test_owner_creates_uses_and_revokes_a_key_and_tests_a_webhook(page, app_url, app_db):
    sign_in(page, "owner@greenleaf.demo")
    page.goto("/settings/api")
    expect(page.get_by_role("heading", name="API keys")).to_be_visible()
    name = f"ERP {uuid.uuid4().hex[:6]}"
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_role("combobox", name="Role").click()
    page.get_by_role("option", name="buyer", exact=True).click()
    page.get_by_label("Expires in days (optional)").fill("30")
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_text(f"Key {name} created.")).to_be_visible()
    secret = _reveal(page)
    assert secret.startswith("rk_")
    row = page.get_by_test_id(f"key-{name}")
    expect(row).to_contain_text("buyer")
    expect(row).to_contain_text("active")
    expect(row).to_contain_text(secret[:11] + "…")
    expect(row).not_to_contain_text(secret)
    page.reload()
    expect(row).to_be_visible()
    expect(page.get_by_test_id("secret-image")).to_have_count(0)  # shown once
    assert secret not in page.content()
    expect(row.get_by_role("cell").nth(3)).to_have_text("—")  # never used

    api = httpx.Client(base_url=app_url, headers={"Authorization": f"Bearer {secret}"}, timeout=30)
    r = api.get("/api/v1/orders", params={"side": "buyer", "limit": 5})
    assert r.status_code == 200 and r.json()["data"], r.text  # the demo's Greenleaf orders
    page.reload()
    expect(row.get_by_role("cell").nth(3)).not_to_have_text("—")  # last used

    row.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("The key is revoked.")).to_be_visible()
    expect(row).to_contain_text("revoked")
    r = api.get("/api/v1/orders")
    assert r.status_code == 401 and r.json()["code"] == "unauthenticated"

    receiver = Receiver()
    try:
        page.get_by_label("HTTPS URL").fill(receiver.url)
        page.get_by_role("checkbox", name="order.submitted").click()
        page.get_by_role("button", name="Add endpoint").click()
        expect(page.get_by_text("Endpoint added.")).to_be_visible()
        hook_secret = _reveal(page)
        assert hook_secret.startswith("whsec_")
        endpoint = page.get_by_test_id("endpoint").filter(has_text=receiver.url)
        endpoint.get_by_role("button", name="Send test event").click()
        expect(page.get_by_text("Test event queued")).to_be_visible()
        delivery = page.get_by_test_id("delivery").first
        expect(delivery).to_contain_text("ping")
        expect(delivery).to_contain_text("pending")

        # the worker's part: the outbox row the page's transaction wrote, sent by the real handler
        outbox_id, delivery_id = _outbox_row(app_db, receiver.url)
        msg = OutboxDelivery(
            id=outbox_id,
            kind="webhook.deliver",
            target_table="webhook_deliveries",
            target_id=delivery_id,
            payload={"delivery_id": delivery_id},
            reference=f"webhook:{delivery_id}",
            attempt=1,
            maybe_sent=False,
            created_at=utcnow(),
        )
        webhook_sender.deliver_webhook(msg)
        [(headers, raw)] = receiver.got
        parts = dict(p.split("=", 1) for p in headers["ReUp-Signature"].split(","))
        expected = hmac.new(hook_secret.encode(), f"{parts['t']}.".encode() + raw, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(expected, parts["v1"]) and b'"type":"ping"' in raw
        endpoint.get_by_role("button", name="Deliveries").click()
        expect(delivery).to_contain_text("succeeded")
        expect(delivery).to_contain_text("200")
    finally:
        receiver.server.shutdown()


def _outbox_row(db_url: str, url: str) -> tuple[int, int]:
    delivery_id = scalar(
        db_url,
        "SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id "
        "WHERE e.url = :u AND d.kind = 'ping'",
        u=url,
    )
    outbox_id = scalar(
        db_url,
        "SELECT id FROM outbox_messages WHERE kind = 'webhook.deliver' AND target_id = :d",
        d=delivery_id,
    )
    return int(outbox_id), int(delivery_id)


def test_a_buyer_member_cannot_manage_keys(page, app_url):
    sign_in(page, "buyer@greenleaf.demo")
    page.goto("/settings/api")
    expect(page).to_have_url(re.compile(r"/not-allowed"))
    expect(page.get_by_role("heading", name="API keys")).to_have_count(0)
    page.goto("/settings/profile")
    expect(page.get_by_role("link", name="API", exact=True)).to_have_count(0)
