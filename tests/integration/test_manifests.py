"""METRC manifests on MySQL: what both parties see after the ship, the job's updates through
record_manifest_update (validation, idempotence, the event to both parties, the live reload of
the other party's open order page), the printable PDF over a download ticket, and refusals for
everyone else."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
import redis
import redis.asyncio as aioredis
from reflex.istate.manager.redis import StateManagerRedis
from reflex.utils.token_manager import LocalTokenManager, SocketRecord
from sqlalchemy import select
from starlette.testclient import TestClient

from reup_app.api.routes import build_api
from reup_app.errors import Conflict, NotFound, PermissionDenied, ValidationError
from reup_app.events.bus import InProcessBus
from reup_app.models import ComplianceManifest
from reup_app.realtime.hub import PushHub
from reup_app.realtime.registry import RedisRegistry, SessionInfo
from reup_app.security.principal import system_principal
from reup_app.services.billing import download_tickets
from reup_app.services.compliance import manifest_pdf, manifests
from reup_app.services.ordering import orders
from reup_app.state.order_detail import OrderDetailState
from tests.integration.orderkit import (
    EventLog,
    advance,
    call,
    fresh,
    key,
    make_buyer,
    make_seller,
    order_row,
    place_one,
    stock,
)
from tests.integration.statekit import Tab, email_of, event_arg, run

D = Decimal
METRC = system_principal("metrc")


@pytest.fixture
def shipped(session, engine):
    """(seller, buyer, order number, lot, manifest id) of an order shipped with driver and vehicle."""
    seller, buyer = make_seller(session), make_buyer(session)
    product, (lot,) = stock(session, seller, qty="10", price="12.50")
    number = place_one(engine, buyer, product, "4")
    advance(engine, seller, number, "accept", "fulfill")
    call(
        engine,
        seller.owner,
        orders.transition,
        number,
        "ship",
        idempotency_key=key(),
        driver_name="Dana Ruiz",
        vehicle="Van 7",
        eta="2026-12-01T18:00:00+00:00",
    )
    with fresh(engine) as s:
        manifest_id = s.execute(
            select(ComplianceManifest.id).where(ComplianceManifest.order_id == order_row(engine, number).id)
        ).scalar_one()
    return seller, buyer, number, lot, manifest_id


def _page(session, principal, number) -> OrderDetailState:
    page = Tab().sign_in(email_of(session, principal)).at(f"/orders/{number}").state(OrderDetailState)
    run(page.load())
    return page


def test_both_parties_see_the_pending_manifest(engine, shipped):
    seller, buyer, number, lot, _mid = shipped
    for principal in (buyer.p["viewer"], seller.p["fulfillment"]):
        m = call(engine, principal, manifests.get_order_manifest, number)
        # the seller's license has no METRC connection in this fixture: shipped, marked not connected
        assert (m.order_number, m.status, m.manifest_number) == (number, "not_connected", None)
        assert m.last_error.startswith(f"Shipping license {seller.license.number} is not connected to METRC")
        assert (m.shipper.license_number, m.recipient.license_number) == (seller.license.number, buyer.license.number)
        assert m.shipper.name == seller.entity.name and m.recipient.name == buyer.entity.name
        assert (m.driver_name, m.vehicle) == ("Dana Ruiz", "Van 7")
        assert m.arrival == datetime(2026, 12, 1, 18, 0, tzinfo=UTC) and m.departure is not None
        [pkg] = m.packages
        assert (pkg.package_label, pkg.quantity, pkg.wholesale_price, pkg.wholesale_value) == (
            lot.package_label,
            D("4"),
            D("12.50"),
            D("50.00"),
        )


def test_no_manifest_before_shipping(session, engine):
    seller, buyer = make_seller(session), make_buyer(session)
    product, _ = stock(session, seller)
    number = place_one(engine, buyer, product, "1")
    assert call(engine, buyer.owner, manifests.get_order_manifest, number) is None
    with pytest.raises(NotFound, match="has no manifest yet"):
        call(engine, seller.owner, manifest_pdf.create_manifest_ticket, number)


def test_other_businesses_cannot_read_the_manifest_or_its_pdf(session, engine, shipped):
    _seller, _buyer, number, _lot, _mid = shipped
    for stranger in (make_buyer(session).owner, make_seller(session).owner):
        for fn in (manifests.get_order_manifest, manifest_pdf.render_manifest_pdf, manifest_pdf.create_manifest_ticket):
            with pytest.raises(NotFound, match=f"Order {number} was not found."):
                call(engine, stranger, fn, number)


def test_only_the_integration_records_updates(engine, shipped):
    seller, buyer, _number, _lot, mid = shipped
    for principal in (seller.owner, buyer.owner):
        with pytest.raises(PermissionDenied, match="Only the METRC integration"):
            call(engine, principal, manifests.record_manifest_update, mid, status="accepted", manifest_number="1")


def test_updates_are_validated(engine, shipped):
    _seller, _buyer, _number, _lot, mid = shipped
    with pytest.raises(ValidationError, match="Unknown manifest status 'shipped'"):
        call(engine, METRC, manifests.record_manifest_update, mid, status="shipped")
    with pytest.raises(ValidationError, match="A failed manifest needs the error"):
        call(engine, METRC, manifests.record_manifest_update, mid, status="failed")
    with pytest.raises(NotFound, match="Manifest 999999999 was not found."):
        call(engine, METRC, manifests.record_manifest_update, 999999999, status="submitted")
    with pytest.raises(ValidationError):
        call(engine, METRC, manifests.record_manifest_update, "1; DROP TABLE x", status="submitted")
    call(engine, METRC, manifests.record_manifest_update, mid, status="accepted", manifest_number="0000123456")
    with pytest.raises(Conflict, match="already has number 0000123456"):
        call(engine, METRC, manifests.record_manifest_update, mid, status="accepted", manifest_number="0000999999")
    call(engine, METRC, manifests.record_manifest_update, mid, status="voided")
    with pytest.raises(Conflict, match="was voided; it can't become accepted"):
        call(engine, METRC, manifests.record_manifest_update, mid, status="accepted")


def test_updates_reach_both_parties_once_and_reload_the_buyers_open_page(session, engine, shipped):
    seller, buyer, number, _lot, mid = shipped
    buyer_page = _page(session, buyer.p["viewer"], number)
    seller_page = _page(session, seller.p["sales"], number)
    assert buyer_page.manifest["status"] == "not_connected" and buyer_page.manifest["number"] == ""
    assert buyer_page.manifest["status_label"] == "Not connected to METRC"

    def update(**kw):
        return call(engine, METRC, manifests.record_manifest_update, mid, **kw)

    with EventLog() as log:
        failed = update(status="failed", last_error="Recipient license inactive.")
        replay = update(status="failed", last_error="Recipient license inactive.")
    assert failed.changed and not replay.changed
    [event] = log.of("manifest.status_changed")  # the replay emitted nothing
    assert set(event.entity_ids) == {buyer.id, seller.id}
    run(seller_page._on_domain_event(event))  # the refusal reaches the seller's open page
    assert seller_page.manifest["last_error"] == "Recipient license inactive."
    assert seller_page.manifest["status_label"] == "METRC refused it"

    with EventLog() as log:
        issued = update(
            status="accepted",
            manifest_number="0001234567",
            external_transfer_id="9001",
            submitted_at="2026-11-28T10:00:00+00:00",
        )
    assert issued.changed
    [event] = log.of("manifest.status_changed")
    assert set(event.entity_ids) == {buyer.id, seller.id}
    assert event.payload == {
        "order_number": number,
        "buyer_entity_id": buyer.id,
        "seller_entity_id": seller.id,
        "manifest_status": "accepted",
        "from_status": "failed",
        "manifest_number": "0001234567",
    }
    # An event about another order leaves the buyer's page alone; this order's event reloads it.
    other = type(event)(event.kind, event.entity_ids, {**event.payload, "order_number": "RU-0"})
    run(buyer_page._on_domain_event(other))
    assert buyer_page.manifest["number"] == ""
    run(buyer_page._on_domain_event(event))
    assert buyer_page.manifest["number"] == "0001234567" and buyer_page.manifest["status_label"] == "Manifest issued"
    assert buyer_page.manifest["last_error"] == ""
    with fresh(engine) as s:
        row = s.get(ComplianceManifest, mid)
    assert (row.external_transfer_id, row.submitted_at) == ("9001", datetime(2026, 11, 28, 10, 0, tzinfo=UTC))


def test_manifest_pdf_downloads_once_for_either_party(session, engine, shipped):
    seller, buyer, number, lot, mid = shipped
    call(engine, METRC, manifests.record_manifest_update, mid, status="accepted", manifest_number="0007654321")
    with TestClient(build_api()) as client:
        for principal in (buyer.p["viewer"], seller.p["fulfillment"]):
            page = _page(session, principal, number)
            events = run(page.download_manifest())
            url = event_arg(events, "url")
            assert url.startswith(f"/api/orders/{number}/manifest.pdf?ticket="), url
            res = client.get(url)
            assert res.status_code == 200, res.text
            assert res.headers["content-type"] == "application/pdf" and res.content.startswith(b"%PDF")
            assert f'filename="manifest-{number}.pdf"' in res.headers["content-disposition"]
            for text in ("0007654321", lot.package_label, seller.license.number, buyer.license.number, "Dana Ruiz"):
                assert text.encode() in res.content, text
            assert client.get(url).status_code == 401  # single use

        # A ticket for an invoice of the same order doesn't open the manifest (and vice versa).
        invoice = "INV-" + number.split("-", 1)[1]
        ticket = call(engine, buyer.owner, download_tickets.create_invoice_ticket, invoice)
        assert client.get(f"/api/orders/{number}/manifest.pdf?ticket={ticket}").status_code == 401
        assert client.get(f"/api/orders/{number}/manifest.pdf").status_code == 401


def test_push_hub_routes_the_update_to_both_parties_open_order_pages(session, engine, shipped, redis_url, unique):
    """The real hub plan on real Redis: the manifest event goes to the buyer's and the seller's
    sessions that have an order page loaded, never to another business's."""
    seller, buyer, _number, _lot, mid = shipped
    stranger = make_buyer(session)
    registry, tm, raw = (
        RedisRegistry(redis_url, f"reup:test:{unique}"),
        LocalTokenManager(),
        redis.Redis.from_url(redis_url),
    )
    app = SimpleNamespace(
        event_namespace=SimpleNamespace(_token_manager=tm),
        state_manager=StateManagerRedis(redis=aioredis.Redis.from_url(redis_url)),
    )
    tokens = {}
    for name, party, role in (("buyer", buyer, "viewer"), ("seller", seller, "sales"), ("stranger", stranger, "owner")):
        token = tokens[name] = f"{unique}-{name}"
        tm.token_to_socket[token] = SocketRecord(instance_id=tm.instance_id, sid=f"sid-{token}")
        registry.register(token, SessionInfo(party.p[role].user_id, party.id, (role,)))
        raw.set(f"{token}_{OrderDetailState.get_full_name()}", b"x", ex=60)
    try:
        with EventLog() as log:
            call(engine, METRC, manifests.record_manifest_update, mid, status="submitted")
        [event] = log.of("manifest.status_changed")
        hub = PushHub(app, bus=InProcessBus(), registry=registry)
        plan = hub.plan(event, hub.owned_tokens())
        assert plan == {tokens["buyer"]: [OrderDetailState], tokens["seller"]: [OrderDetailState]}
    finally:
        raw.delete(
            *[f"{registry.prefix}{t}" for t in tokens.values()],
            *[f"{t}_{OrderDetailState.get_full_name()}" for t in tokens.values()],
        )
        raw.close()
        registry.close()
