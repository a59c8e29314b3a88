"""The audit trail in the business's language: sentences naming the member, order and invoice;
filter by kind of record; paging; session and token rows only behind "technical" (MySQL)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from reup_app.db import unit_of_work
from reup_app.errors import ValidationError
from reup_app.models import Invoice, User
from reup_app.security.tokens import issue_refresh_token
from reup_app.services.audit.kinds import KINDS, kind_options
from reup_app.services.audit.log_listing import list_audit
from reup_app.services.ordering import orders
from tests.integration.orderkit import advance, call, fresh, key, make_buyer, make_seller, place_one, stock


def _shipped(session, engine):
    seller, buyer = make_seller(session), make_buyer(session)
    product, _lots = stock(session, seller, qty="50")
    number = place_one(engine, buyer, product, "2")
    advance(engine, seller, number, "accept", "fulfill")
    call(engine, seller.p["fulfillment"], orders.transition, number, "ship", idempotency_key=key())
    return seller, buyer, number


def test_shipping_reads_as_member_shipped_order_with_invoice(session, engine):
    seller, _buyer, number = _shipped(session, engine)
    with fresh(engine) as s:
        shipper = s.get(User, seller.p["fulfillment"].user_id)
        invoice = s.exec(select(Invoice).where(Invoice.seller_entity_id == seller.id)).one()
        page = list_audit(s, seller.owner, kind="orders", page_size=200)
    summaries = [e.summary for e in page.items]
    assert f"{shipper.full_name} shipped order {number} (invoice {invoice.number})" in summaries
    assert all(e.table_name in KINDS["orders"][1] for e in page.items)


def test_session_rows_only_behind_technical_and_kinds_are_a_fixed_list(session, engine):
    seller, _buyer, _number = _shipped(session, engine)
    owner = seller.owner
    with unit_of_work(owner, engine=engine) as s:
        issue_refresh_token(s, user_id=owner.user_id, entity_id=seller.id)
    with fresh(engine) as s:
        business = list_audit(s, owner, page_size=200)
        technical = list_audit(s, owner, technical=True, page_size=200)
        with pytest.raises(ValidationError):
            list_audit(s, owner, kind="refresh_tokens")
    assert not any(e.table_name in ("refresh_tokens", "order_events", "order_line_allocations") for e in business.items)
    assert any(e.table_name == "refresh_tokens" and e.technical for e in technical.items)
    assert technical.total > business.total
    assert [k for k, _label in kind_options()][:2] == ["orders", "invoices"]


def test_audit_pages(session, engine):
    seller, _buyer, _number = _shipped(session, engine)
    with fresh(engine) as s:
        first = list_audit(s, seller.owner, page=1, page_size=3)
        second = list_audit(s, seller.owner, page=2, page_size=3)
    assert first.total > 3 and first.pages == -(-first.total // 3)
    assert len(first.items) == 3 and {e.id for e in first.items}.isdisjoint({e.id for e in second.items})
