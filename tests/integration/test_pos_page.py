"""/pos through its page state, against the Dutchie sandbox: a retailer owner connects a store (the
key never in a state var), tests it (/whoami fills the location name), a sync runs, the page
refreshes on `pos.synced` (the push hub's path) and shows suggestions with their math, and Add all
puts them in the cart. Buyers see suggestions but not the connections; wholesalers are sent away."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import select, update
from sqlmodel import Session

from reup_app.events.event import DomainEvent
from reup_app.events.kinds import POS_SYNCED
from reup_app.models import CartItem, IntegrationConnection
from reup_app.realtime.listeners import listeners_for
from reup_app.settings import reset_settings_cache
from reup_app.state.pos import PosState
from tests.dutchie_kit import sync_all
from tests.factories import make_lot
from tests.integration.orderkit import make_buyer, make_seller, stock
from tests.integration.statekit import Tab, email_of, event_arg, frontend_json, run


@pytest.fixture
def env(engine, dutchie_sandbox):
    mp = pytest.MonkeyPatch()
    mp.setenv("REUP_DUTCHIE_BASE_URL", dutchie_sandbox.base_url)
    reset_settings_cache()
    yield dutchie_sandbox
    mp.undo()
    reset_settings_cache()
    with Session(engine) as s:
        s.execute(
            update(IntegrationConnection)
            .where(IntegrationConnection.base_url == dutchie_sandbox.base_url)
            .values(enabled=False)
        )
        s.commit()


def _page(session, principal) -> PosState:
    page = Tab().sign_in(email_of(session, principal)).at("/pos").state(PosState)
    run(page.load())
    return page


def test_connect_test_sync_suggest_and_add_all(session, engine, env):
    sb = env
    seller = make_seller(session)
    product, lots = stock(session, seller, qty="300", price="9.00")
    make_lot(session, product, seller.license, D("10"))
    buyer = make_buyer(session)
    key = f"t-{uuid.uuid4().hex}"
    sb.new_location(key, "Mission Store", buyer.license.number, [{"productId": 1, "sku": product.sku}],
                    [{"product_id": 1, "quantity": 2}])  # fmt: skip
    now = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    for age in range(1, 15):
        sb.sale(key, 1, 3, at=(now - timedelta(days=age)).isoformat())
    page = _page(session, buyer.owner)
    assert page.can_manage and [s["license"] for s in page.stores] == [buyer.license.number]
    assert PosState in listeners_for(POS_SYNCED)
    run(page.open_connect(str(buyer.license.id)))
    run(page.connect({"license_id": str(buyer.license.id), "location_key": key}))
    assert page.error == "" and key not in frontend_json(page)
    run(page.test_store(str(buyer.license.id)))
    assert "Connected to Mission Store" in page.notice and page.stores[0]["location_name"] == "Mission Store"
    with Session(engine) as s:
        conn = s.execute(
            select(IntegrationConnection).where(IntegrationConnection.license_id == buyer.license.id)
        ).scalar_one()
    sync_all(engine, conn)
    assert page.rows == []  # not reloaded yet: the push does it
    event = DomainEvent(kind=POS_SYNCED, entity_ids=(buyer.id,), payload={"license_id": buyer.license.id})
    run(page._on_domain_event(event))
    [row] = page.rows
    assert row["quantity"] == str(3 * (3 + 14) - 2) and "velocity 3.00/day" in row["math"]
    assert len(page.trends[row["pos_id"]]) == 12
    run(page.add_all())
    assert "Added 1 suggestion" in page.notice, page.error
    with Session(engine) as s:
        cart = s.execute(select(CartItem).where(CartItem.buyer_entity_id == buyer.id)).scalars().all()
    assert [(c.product_id, c.quantity) for c in cart] == [(product.id, D(49))]


def test_buyers_see_suggestions_but_not_connections_and_wholesalers_are_sent_away(session, env):
    buyer = make_buyer(session)
    page = _page(session, buyer.p["buyer"])
    assert page.can_manage is False and page.stores == []
    seller = make_seller(session)
    tab = Tab().sign_in(email_of(session, seller.owner)).at("/pos").state(PosState)
    assert event_arg(run(tab.load()), "path") == "/not-allowed"
