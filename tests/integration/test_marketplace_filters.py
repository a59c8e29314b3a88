"""The marketplace page's filters (strain type, THC and price ranges, in stock) through
CatalogState on MySQL, and the clear messages for bad ranges."""

from __future__ import annotations

import uuid
from decimal import Decimal

from reup_app.state.catalog import CatalogState
from tests.factories import make_entity, make_license, make_lot, make_product
from tests.integration.statekit import Tab, run


def _names(state) -> set[str]:
    return {i["name"] for i in state.items}


def test_strain_thc_price_and_stock_filters(session):
    tag = uuid.uuid4().hex[:8]
    seller = make_entity(session, kind="wholesaler")
    license = make_license(session, seller)
    specs = {  # name: (strain type, THC %, price, units in stock)
        f"Filterkush {tag} A": ("indica", "28.0", "40.00", "5"),
        f"Filterkush {tag} B": ("sativa", "18.0", "22.00", "5"),
        f"Filterkush {tag} C": ("indica", "12.0", "15.00", "0"),
    }
    for name, (strain, thc, price, qty) in specs.items():
        product = make_product(
            session, seller, name=name, strain_type=strain, thc_percent=Decimal(thc), unit_price=Decimal(price)
        )
        if qty != "0":
            make_lot(session, product, license, Decimal(qty))
    page = Tab().at("/marketplace", {"q": f"Filterkush {tag}"}).state(CatalogState)
    run(page.load())
    assert _names(page) == set(specs)

    run(page.set_strain_type("indica"))
    assert _names(page) == {f"Filterkush {tag} A", f"Filterkush {tag} C"}
    run(page.set_in_stock(True))
    assert _names(page) == {f"Filterkush {tag} A"}
    run(page.set_in_stock(False))
    run(page.apply_ranges({"thc_min": "10", "thc_max": "20", "price_min": "", "price_max": ""}))
    assert _names(page) == {f"Filterkush {tag} C"}
    run(page.set_strain_type("all"))
    run(page.apply_ranges({"thc_min": "", "thc_max": "", "price_min": "20", "price_max": "30"}))
    assert _names(page) == {f"Filterkush {tag} B"} and page.error == ""

    # A bad range is named and the last good results stay on screen.
    run(page.apply_ranges({"thc_min": "", "thc_max": "", "price_min": "50", "price_max": "10"}))
    assert "price" in page.error.lower() and _names(page) == {f"Filterkush {tag} B"}
    run(page.apply_ranges({"thc_min": "lots", "thc_max": "", "price_min": "", "price_max": ""}))
    assert "thc" in page.error.lower()
    run(page.set_strain_type("banana"))
    assert page.error == "Unknown strain type."

    run(page.clear_filters())
    assert page.error == "" and page.in_stock is False and page.thc_min == ""


def test_filters_come_from_shareable_links(session):
    page = (
        Tab()
        .at("/marketplace", {"strain_type": "sativa", "in_stock": "1", "thc_min": "15", "price_max": "30"})
        .state(CatalogState)
    )
    run(page.load())
    assert (page.strain_type, page.in_stock, page.thc_min, page.price_max) == ("sativa", True, "15", "30")
    assert page.error == ""
    for item in page.items:
        assert item["strain_type"] == "Sativa" and item["in_stock"] == "yes"


def test_price_filter_and_sort_use_the_price_this_buyer_pays(session, engine):
    """A buyer with a price tier filters and sorts by its tier prices (what its cards show); a buyer
    without one by list prices. Both the full-text path (q) and the storefront path (seller)."""
    from reup_app.models import TradeRelationship
    from reup_app.services.catalog import price_tiers
    from tests.integration.orderkit import call, make_buyer, make_seller, stock
    from tests.integration.test_cart_page import email_of

    tag = uuid.uuid4().hex[:8]
    seller = make_seller(session)
    a, _ = stock(session, seller, price="30.00", name=f"Tierweed {tag} A")  # tier 12: under the max
    b, _ = stock(session, seller, price="20.00", name=f"Tierweed {tag} B")  # no tier price
    c, _ = stock(session, seller, price="15.00", name=f"Tierweed {tag} C")  # tier 25: over the max
    tier = call(engine, seller.owner, price_tiers.create_tier, f"Gold {tag}")
    call(engine, seller.owner, price_tiers.set_tier_price, tier.id, a.id, "12.00")
    call(engine, seller.owner, price_tiers.set_tier_price, tier.id, c.id, "25.00")
    tiered, plain = make_buyer(session), make_buyer(session)
    session.add(TradeRelationship(seller_entity_id=seller.id, buyer_entity_id=tiered.id))
    session.commit()
    call(engine, seller.owner, price_tiers.assign_tier, tiered.id, tier.id)

    def shown(buyer, where: dict[str, str], sort: str, price_max: str = "") -> list[tuple[str, str]]:
        page = Tab().sign_in(email_of(session, buyer.p["buyer"])).at("/marketplace", where).state(CatalogState)
        run(page.load())
        run(page.set_sort(sort))
        run(page.apply_ranges({"thc_min": "", "thc_max": "", "price_min": "", "price_max": price_max}))
        assert page.error == ""
        return [(i["name"][-1], i["price"].split(" ")[0]) for i in page.items]

    for where in ({"q": f"Tierweed {tag}"}, {"seller": str(seller.id)}):
        assert shown(tiered, where, "price_asc", "18") == [("A", "$12.00")]
        assert shown(tiered, where, "price_asc") == [("A", "$12.00"), ("B", "$20.00"), ("C", "$25.00")]
        assert shown(tiered, where, "price_desc") == [("C", "$25.00"), ("B", "$20.00"), ("A", "$12.00")]
        assert shown(plain, where, "price_asc", "18") == [("C", "$15.00")]
        assert shown(plain, where, "price_asc") == [("C", "$15.00"), ("B", "$20.00"), ("A", "$30.00")]
