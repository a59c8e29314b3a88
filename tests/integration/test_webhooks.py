"""Outgoing webhooks: written with the change through the outbox, signed Stripe-style (checked by a
reference verifier written here), retried against a receiver that fails then recovers, surviving a
process killed between commit and send, and disabling an endpoint that fails for 24 hours."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlmodel import Session, select

from reup_app import db, migrations, settings
from reup_app.db import build_engine, unit_of_work
from reup_app.errors import NotFound
from reup_app.jobs import webhook_sender  # noqa: F401  registers the handler
from reup_app.jobs.outbox_sender import Fence, claim_due, deliver
from reup_app.models import Notification, OutboxMessage, WebhookDelivery, WebhookEndpoint
from reup_app.models.types import utcnow
from reup_app.services.public_api import webhooks
from tests.dbutil import drop_mysql_database, fresh_mysql_database
from tests.integration.apikit import ROOT
from tests.integration.orderkit import make_buyer, make_seller, place_one, stock

pytestmark = pytest.mark.mysql
LATER = timedelta(hours=2)


def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """Reference verifier, as a receiver would write it from the docs."""
    parts = dict(p.split("=", 1) for p in header.split(","))
    t = int(parts["t"])
    if abs(time.time() - t) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


class Receiver:
    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first, self.got = fail_first, []
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                outer.got.append((dict(self.headers), raw))
                code = 500 if len(outer.got) <= outer.fail_first else 200
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self):
        self.server.shutdown()


@pytest.fixture(scope="module")
def engine():
    """An own database: the sender claims every due row."""
    name = f"reup_webhooks_{uuid.uuid4().hex[:10]}"
    url = fresh_mysql_database(name)
    eng = build_engine(url)
    migrations.upgrade(url)
    eng.url_text = url  # type: ignore[attr-defined]
    # the outbox handler opens its units of work on the app's engine: make this database the app's
    previous = os.environ.get("REUP_DATABASE_URL")
    os.environ["REUP_DATABASE_URL"] = url
    settings.reset_settings_cache()
    db.reset_engine()
    yield eng
    if previous is None:
        os.environ.pop("REUP_DATABASE_URL", None)
    else:
        os.environ["REUP_DATABASE_URL"] = previous
    settings.reset_settings_cache()
    db.reset_engine()
    eng.dispose()
    drop_mysql_database(name)


@pytest.fixture
def session(engine):
    with Session(engine, expire_on_commit=False) as s:
        yield s


def subscribe(engine, seller, url, kinds=("order.submitted", "order.status_changed")) -> tuple[int, str]:
    with unit_of_work(seller.owner, engine=engine) as s:
        view, secret = webhooks.create_endpoint(s, seller.owner, url=url, event_kinds=list(kinds))
    return view.id, secret


def drain(engine, passes=10):
    fence = Fence(1, name=f"t-{uuid.uuid4().hex[:8]}")
    for _ in range(passes):
        claimed = claim_due(engine, fence, now=utcnow() + LATER)
        if not claimed:
            return
        for msg in claimed:
            deliver(engine, fence, msg)


def deliveries(engine, endpoint_id):
    with Session(engine) as s:
        return s.exec(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)).all()


def test_signed_delivery_retried_until_the_receiver_recovers(engine, session):
    seller, buyer = make_seller(session), make_buyer(session)
    product, _ = stock(session, seller)
    receiver = Receiver(fail_first=2)
    try:
        endpoint_id, secret = subscribe(engine, seller, receiver.url)
        started = time.monotonic()
        number = place_one(engine, buyer, product, "1")
        assert time.monotonic() - started < 5 and receiver.got == []  # the request never waits for receivers
        [d] = deliveries(engine, endpoint_id)
        assert d.status == "pending" and d.kind == "order.submitted"
        drain(engine)
        assert len(receiver.got) == 3  # 500, 500, 200
        for headers, raw in receiver.got:
            assert verify(secret, headers["ReUp-Signature"], raw)
            assert not verify("whsec_wrong", headers["ReUp-Signature"], raw)
            assert not verify(secret, headers["ReUp-Signature"], raw + b" ")
        event = json.loads(receiver.got[-1][1])
        assert event["type"] == "order.submitted" and event["data"]["order_number"] == number
        assert event["id"] == receiver.got[0][0]["ReUp-Event-Id"]  # the same event on every try
        [d] = deliveries(engine, endpoint_id)
        assert (d.status, d.attempts, d.last_status_code) == ("succeeded", 3, 200)
        assert d.last_duration_ms is not None
        # resend from the page
        with unit_of_work(seller.owner, engine=engine) as s:
            webhooks.resend(s, seller.owner, d.id)
        drain(engine)
        assert len(receiver.got) == 4
    finally:
        receiver.close()


def test_other_business_sees_no_endpoint_and_no_event(engine, session):
    seller, other, buyer = make_seller(session), make_seller(session), make_buyer(session)
    product, _ = stock(session, seller)
    receiver = Receiver()
    try:
        other_endpoint, _ = subscribe(engine, other, receiver.url)
        endpoint_id, _ = subscribe(engine, seller, receiver.url)
        place_one(engine, buyer, product, "1")
        assert deliveries(engine, other_endpoint) == []
        with unit_of_work(other.owner, engine=engine) as s, pytest.raises(NotFound):
            webhooks.list_deliveries(s, other.owner, endpoint_id)
    finally:
        receiver.close()


KILL_SCRIPT = """
import os, sys
from reup_app.db import build_engine, unit_of_work
from reup_app.errors import NotFound
from reup_app.services.audit.trail import install_audit_listener
from reup_app.services.ordering import cart, checkout_flow
from reup_app.security.principal import Principal
install_audit_listener()
engine = build_engine(sys.argv[1])
p = Principal(user_id=int(sys.argv[2]), entity_id=int(sys.argv[3]), roles=frozenset({"owner"}))
with unit_of_work(p, engine=engine) as s:
    cart.add_to_cart(s, p, int(sys.argv[4]), "1")
with unit_of_work(p, engine=engine) as s:
    checkout_flow.checkout(s, p, buyer_license_id=int(sys.argv[5]), idempotency_key="kill-" + sys.argv[4])
os._exit(9)  # dies right after the commit: nothing was sent
"""


def test_outbox_survives_a_kill_between_commit_and_send(engine, session):
    seller, buyer = make_seller(session), make_buyer(session)
    product, _ = stock(session, seller)
    receiver = Receiver()
    try:
        endpoint_id, secret = subscribe(engine, seller, receiver.url)
        owner = buyer.owner
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                KILL_SCRIPT,
                engine.url_text,
                str(owner.user_id),
                str(buyer.id),
                str(product.id),
                str(buyer.license.id),
            ],
            cwd=ROOT,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            timeout=120,
        )
        assert proc.returncode == 9, proc.stderr.decode()[-2000:]
        assert receiver.got == []
        drain(engine)  # another process (this one) sends it
        assert len(receiver.got) == 1 and verify(secret, receiver.got[0][0]["ReUp-Signature"], receiver.got[0][1])
    finally:
        receiver.close()


def test_failing_for_24_hours_disables_the_endpoint_with_a_notification(engine, session):
    seller, buyer = make_seller(session), make_buyer(session)
    product, _ = stock(session, seller)
    receiver = Receiver(fail_first=1000)
    try:
        endpoint_id, _ = subscribe(engine, seller, receiver.url)
        place_one(engine, buyer, product, "1")
        drain(engine, passes=2)
        [d] = deliveries(engine, endpoint_id)
        assert d.status == "failing" and d.attempts == 2
        with Session(engine) as s:  # the first try was a day ago
            row = s.get(WebhookDelivery, d.id)
            row.created_at = utcnow() - timedelta(hours=24, minutes=1)
            s.add(row)
            s.commit()
        drain(engine, passes=3)
        with Session(engine) as s:
            assert s.get(WebhookDelivery, d.id).status == "dead"
            ep = s.get(WebhookEndpoint, endpoint_id)
            assert not ep.enabled and "24 hours" in (ep.disabled_reason or "")
            msg = s.exec(select(OutboxMessage).where(OutboxMessage.reference == f"webhook:{d.id}")).one()
            assert msg.status == "dead"
            notes = s.exec(
                select(Notification).where(Notification.entity_id == seller.id, Notification.kind == "sync.failed")
            ).all()
            assert notes
        sent = len(receiver.got)
        place_one(engine, buyer, product, "1")  # a disabled endpoint gets nothing new
        drain(engine)
        assert len(receiver.got) == sent
    finally:
        receiver.close()


def _kinds_delivered(engine, endpoint_id) -> list[str]:
    return [d.kind for d in sorted(deliveries(engine, endpoint_id), key=lambda d: d.id)]


def test_every_event_kind_reaches_its_subscribers_as_its_webhook_kind(engine, session):
    """Each subscribable kind, made by the services that make it; `invoice.paid` only for the payment
    that settles the invoice (a partial one is `invoice.payment_recorded` alone)."""
    from decimal import Decimal

    from reup_app.models import ComplianceManifest, Delivery, Invoice, Order
    from reup_app.security.principal import system_principal
    from reup_app.services.billing import payments
    from reup_app.services.compliance import manifests
    from reup_app.services.inventory import lot_management
    from reup_app.services.logistics.fleetbase_events import emit_delivery_updated
    from reup_app.services.ordering import messages, orders
    from tests.integration.orderkit import advance, call, key

    seller, buyer = make_seller(session), make_buyer(session)
    product, (lot,) = stock(session, seller, qty="10", price="12.50")
    seller_ep, _ = subscribe(engine, seller, "https://seller.example/hook", kinds=webhooks.WEBHOOK_KINDS)
    buyer_ep, _ = subscribe(engine, buyer, "https://buyer.example/hook", kinds=("invoice.paid", "order.message"))

    number = place_one(engine, buyer, product, "4")
    advance(engine, seller, number, "accept")
    call(engine, buyer.owner, messages.post_message, number, "Can you deliver before noon?")
    call(engine, seller.owner, lot_management.adjust_lot, lot.id, delta="-1", reason="damaged")
    advance(engine, seller, number, "fulfill")
    call(engine, seller.owner, orders.transition, number, "ship", idempotency_key=key(), driver_name="Dana Ruiz")
    with Session(engine) as s:
        order = s.exec(select(Order).where(Order.number == number)).one()
        manifest_id = s.exec(select(ComplianceManifest.id).where(ComplianceManifest.order_id == order.id)).one()
        invoice = s.exec(select(Invoice).where(Invoice.order_id == order.id)).one()
    call(engine, system_principal("metrc"), manifests.record_manifest_update, manifest_id, status="submitted")
    with unit_of_work(system_principal("fleetbase"), engine=engine) as s:
        delivery = s.exec(select(Delivery).where(Delivery.order_id == order.id)).one()
        emit_delivery_updated(s, delivery)
    half = (invoice.total / 2).quantize(Decimal("0.01"))
    call(engine, seller.owner, payments.record_payment, invoice.number, half, "ach", "first half")
    assert _kinds_delivered(engine, buyer_ep) == ["order.message"]  # a partial payment is not "paid"
    call(engine, seller.owner, payments.record_payment, invoice.number, invoice.total - half, "ach", "rest")

    got = _kinds_delivered(engine, seller_ep)
    assert set(got) == set(webhooks.WEBHOOK_KINDS), got
    assert got.count("invoice.payment_recorded") == 2 and got.count("invoice.paid") == 1
    assert _kinds_delivered(engine, buyer_ep) == ["order.message", "invoice.paid"]
    [paid] = [d for d in deliveries(engine, seller_ep) if d.kind == "invoice.paid"]
    body = json.loads(paid.payload)
    assert body["type"] == "invoice.paid" and body["data"]["status"] == "paid" and body["data"]["balance"] == "0.00"
