"""Saved order guides per store: par quantities, add all to the cart up to par, other businesses
kept out."""

from __future__ import annotations

from decimal import Decimal

import pytest

from reup_app.errors import Conflict, NotFound, ValidationError
from reup_app.services.ordering import cart_view, order_guides
from tests.integration.orderkit import call, make_buyer, make_seller, stock

pytestmark = pytest.mark.mysql

D = Decimal


def test_guide_par_quantities_and_add_all_up_to_par(engine, session):
    seller = make_seller(session)
    p1, _ = stock(session, seller, qty="100", price="10.00", name="Guide Gummies")
    p2, _ = stock(session, seller, qty="4", price="5.00", name="Guide Pre-roll", unit_of_measure="each")
    buyer = make_buyer(session)
    me = buyer.p["buyer"]
    gid = call(engine, me, order_guides.create_guide, "Weekly restock", buyer.license.id)
    with pytest.raises(Conflict):
        call(engine, me, order_guides.create_guide, "Weekly restock", buyer.license.id)
    call(engine, me, order_guides.set_par, gid, p1.id, "12")
    call(engine, me, order_guides.set_par, gid, p2.id, "6")
    [guide] = call(engine, me, order_guides.list_guides)
    assert guide.name == "Weekly restock" and buyer.license.number in guide.store
    assert {(i.name, i.par_qty) for i in guide.items} == {
        ("Guide Gummies", D("12.000")),
        ("Guide Pre-roll", D("6.000")),
    }

    result = call(engine, me, order_guides.add_guide_to_cart, gid)
    assert sorted((a.product_id, a.quantity) for a in result.added) == sorted([(p1.id, D("12.000")), (p2.id, D("4"))])
    assert result.trimmed == [{"name": "Guide Pre-roll", "wanted": "6", "added": "4"}]
    again = call(engine, me, order_guides.add_guide_to_cart, gid)  # already at par: nothing more
    assert again.added == [] and again.skipped == [
        {"name": "Guide Pre-roll", "reason": "Your cart already holds all that is in stock."}
    ]
    lines = {ln.product_id: ln.quantity for g in call(engine, me, cart_view.get_cart).groups for ln in g.lines}
    assert lines == {p1.id: D("12.000"), p2.id: D("4.000")}

    call(engine, me, order_guides.set_par, gid, p2.id, "0")  # out of the guide
    assert [i.product_id for i in call(engine, me, order_guides.list_guides)[0].items] == [p1.id]


def test_guides_belong_to_their_business(engine, session):
    seller = make_seller(session)
    product, _ = stock(session, seller)
    buyer, other = make_buyer(session), make_buyer(session)
    gid = call(engine, buyer.p["buyer"], order_guides.create_guide, "Mine", buyer.license.id)
    for fn, args in (
        (order_guides.set_par, (gid, product.id, "1")),
        (order_guides.add_guide_to_cart, (gid,)),
        (order_guides.delete_guide, (gid,)),
    ):
        with pytest.raises(NotFound):
            call(engine, other.p["buyer"], fn, *args)
    with pytest.raises(ValidationError, match="one of your stores"):
        call(engine, other.p["buyer"], order_guides.create_guide, "Theirs", buyer.license.id)
    assert call(engine, other.p["buyer"], order_guides.list_guides) == []
    call(engine, buyer.p["buyer"], order_guides.delete_guide, gid)
    assert call(engine, buyer.p["buyer"], order_guides.list_guides) == []
