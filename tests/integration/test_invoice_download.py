"""Invoice PDFs over HTTP: single-use, short-lived download tickets bound to user and invoice."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from reup_app.api.routes import build_api
from reup_app.errors import NotFound
from reup_app.security import ratelimit
from reup_app.services.billing import download_tickets
from reup_app.state.order_detail import OrderDetailState
from tests.integration.orderkit import advance, call, make_buyer, make_seller, order_row, place_one, stock
from tests.integration.statekit import Tab, email_of, event_arg, run


@pytest.fixture
def client():
    with TestClient(build_api()) as c:
        yield c


@pytest.fixture
def shipped(session, engine):
    """(seller, buyer, invoice number) of a shipped order."""
    seller, buyer = make_seller(session), make_buyer(session)
    product, _ = stock(session, seller, price="12.00")
    number = place_one(engine, buyer, product, "2")
    advance(engine, seller, number, "accept", "fulfill", "ship")
    return seller, buyer, "INV-" + order_row(engine, number).number.split("-", 1)[1]


def _url(invoice: str, ticket: str) -> str:
    return f"/api/invoices/{invoice}.pdf?ticket={ticket}"


def test_ticket_downloads_once_for_either_party(client, engine, shipped):
    seller, buyer, invoice = shipped
    for principal in (buyer.p["viewer"], seller.p["fulfillment"]):
        ticket = call(engine, principal, download_tickets.create_invoice_ticket, invoice)
        res = client.get(_url(invoice, ticket))
        assert res.status_code == 200, res.text
        assert res.headers["content-type"] == "application/pdf" and res.content.startswith(b"%PDF")
        assert res.headers["cache-control"] == "no-store"
        assert f'filename="{invoice}.pdf"' in res.headers["content-disposition"]
        again = client.get(_url(invoice, ticket))  # reused
        assert again.status_code == 401 and again.text == download_tickets.EXPIRED


def test_missing_malformed_and_foreign_tickets_are_refused(client, engine, session, shipped):
    seller, buyer, invoice = shipped
    assert client.get(f"/api/invoices/{invoice}.pdf").status_code == 401
    assert client.get(_url(invoice, "x' OR 1=1")).status_code == 401
    assert client.get(_url(invoice, "A" * 43)).status_code == 401  # well-formed, never issued

    # Another business can't even get a ticket for the invoice.
    stranger = make_buyer(session)
    with pytest.raises(NotFound):
        call(engine, stranger.owner, download_tickets.create_invoice_ticket, invoice)

    # A ticket for the stranger's own invoice doesn't open this one (and is burnt by trying).
    other_seller = make_seller(session)
    product, _ = stock(session, other_seller)
    their = place_one(engine, stranger, product, "1")
    advance(engine, other_seller, their, "accept", "fulfill", "ship")
    their_invoice = "INV-" + their.split("-", 1)[1]
    ticket = call(engine, stranger.owner, download_tickets.create_invoice_ticket, their_invoice)
    res = client.get(_url(invoice, ticket))
    assert res.status_code == 403 and "another file" in res.text
    assert client.get(_url(their_invoice, ticket)).status_code == 401


def test_ticket_expires_after_a_minute(client, engine, shipped):
    _seller, buyer, invoice = shipped
    now = [1000.0]
    ratelimit.set_backend(ratelimit.MemoryBackend(clock=lambda: now[0]))
    try:
        ticket = call(engine, buyer.owner, download_tickets.create_invoice_ticket, invoice)
        now[0] += download_tickets.TICKET_SECONDS + 1
        res = client.get(_url(invoice, ticket))
        assert res.status_code == 401 and res.text == download_tickets.EXPIRED
        fresh_ticket = call(engine, buyer.owner, download_tickets.create_invoice_ticket, invoice)
        now[0] += download_tickets.TICKET_SECONDS - 5
        assert client.get(_url(invoice, fresh_ticket)).status_code == 200
    finally:
        ratelimit.set_backend(None)


def test_ticket_of_a_removed_member_is_refused(client, engine, session, shipped):
    from sqlalchemy import delete

    from reup_app.models import Membership
    from reup_app.services.identity import principal_cache

    _seller, buyer, invoice = shipped
    who = buyer.p["buyer"]
    ticket = call(engine, who, download_tickets.create_invoice_ticket, invoice)
    session.execute(delete(Membership).where(Membership.user_id == who.user_id))
    session.commit()
    principal_cache.invalidate_users(None, who.user_id)
    res = client.get(_url(invoice, ticket))
    assert res.status_code == 401 and "session has ended" in res.text


def test_order_page_download_handler_issues_a_working_ticket(client, session, engine, shipped):
    seller, buyer, invoice = shipped
    number = "RU-" + invoice.split("-", 1)[1]
    page = Tab().sign_in(email_of(session, buyer.p["buyer"])).at(f"/orders/{number}").state(OrderDetailState)
    run(page.load())
    url = event_arg(run(page.download_invoice()), "url")
    assert url.startswith(f"/api/invoices/{invoice}.pdf?ticket=")
    assert client.get(url).content.startswith(b"%PDF")
    assert client.get(url).status_code == 401
    assert "ticket" not in str(page.dict())  # the ticket went to the browser once, not into state
