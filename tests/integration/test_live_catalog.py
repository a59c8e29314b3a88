"""The live catalog page when stock changes (what the push hub calls, `CatalogState._on_domain_event`)
on MySQL: the cards showing the changed products take their current availability in one
primary-key read, not a search per tab; the value is read after the change, so an event carrying
an older figure (overtaken by a later one) still shows the latest; the list is searched again only
when it may change (a card running out under the in-stock filter, a product no longer listed)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import event as sa_event

from reup_app.events.core import DomainEvent
from reup_app.formatting import quantity
from reup_app.models.catalog import Product
from reup_app.state.catalog import CatalogState
from tests.integration.orderkit import make_buyer, make_seller, place_one, stock
from tests.integration.statekit import Tab, run

pytestmark = pytest.mark.mysql


def _stock_changed(seller, *products, shown: str = "999") -> DomainEvent:
    ids = [p.id for p in products]
    return DomainEvent(
        "inventory.changed",
        (seller.id,),
        {"product_ids": ids, "available": {str(i): shown for i in ids}, "public": True},
    )


class _Statements:
    """The SQL statements the engine runs while active."""

    def __init__(self, engine) -> None:
        self.engine, self.seen = engine, []

    def _record(self, conn, cursor, statement, *args) -> None:
        self.seen.append(statement)

    def __enter__(self):
        sa_event.listen(self.engine, "before_cursor_execute", self._record)
        return self.seen

    def __exit__(self, *exc) -> None:
        sa_event.remove(self.engine, "before_cursor_execute", self._record)


def _card(page, product) -> dict[str, str]:
    return next(i for i in page.items if i["id"] == str(product.id))


def test_a_stock_change_updates_the_shown_cards_in_one_read(session, engine):
    seller, buyer = make_seller(session), make_buyer(session)
    sold, other = stock(session, seller, qty="100")[0], stock(session, seller, qty="40")[0]
    page = Tab().at("/marketplace", {"seller": str(seller.id)}).state(CatalogState)
    run(page.load())
    assert _card(page, sold)["available"] == quantity(Decimal("100"))

    place_one(engine, buyer, sold, "7")  # the checkout commits, then its event reaches the tab
    with _Statements(engine) as statements:
        run(page._on_domain_event(_stock_changed(seller.entity, sold, shown="100")))
    assert _card(page, sold)["available"] == quantity(Decimal("93"))  # the database's, not the payload's
    assert _card(page, sold)["in_stock"] == "yes"
    assert _card(page, other)["available"] == quantity(Decimal("40"))
    assert len(statements) == 1 and "available_qty" in statements[0], statements

    unrelated = stock(session, seller, qty="5", name="Elsewhere")[0]
    with _Statements(engine) as statements:
        run(page._on_domain_event(_stock_changed(seller.entity, unrelated)))
    assert statements == [] and str(unrelated.id) not in {i["id"] for i in page.items}


def test_the_list_is_searched_again_when_it_may_change(session, engine):
    seller = make_seller(session)
    running_out, staying = stock(session, seller, qty="3")[0], stock(session, seller, qty="50")[0]
    in_stock = Tab().at("/marketplace", {"seller": str(seller.id), "in_stock": "1"}).state(CatalogState)
    everything = Tab().at("/marketplace", {"seller": str(seller.id)}).state(CatalogState)
    run(in_stock.load())
    run(everything.load())

    product = session.get(Product, running_out.id)
    assert product is not None
    product.available_qty = Decimal("0")
    session.add(product)
    session.commit()
    changed = _stock_changed(seller.entity, running_out)
    run(in_stock._on_domain_event(changed))
    run(everything._on_domain_event(changed))
    assert {i["id"] for i in in_stock.items} == {str(staying.id)} and in_stock.total == 1
    assert _card(everything, running_out)["in_stock"] == "no" and everything.total == 2

    product.listing_state = "archived"  # no longer listed: the card goes
    session.add(product)
    session.commit()
    run(everything._on_domain_event(_stock_changed(seller.entity, running_out)))
    assert {i["id"] for i in everything.items} == {str(staying.id)}
