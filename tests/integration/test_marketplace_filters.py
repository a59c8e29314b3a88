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
