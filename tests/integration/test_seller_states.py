"""Seller page states called as the browser would (any arguments), on MySQL: per-field errors keep
what was typed, hostile arguments are refused, another entity's ids change nothing, CSV import
results, inventory form errors, and the dashboard's chart data."""

from __future__ import annotations

import asyncio
import json

import pytest

from reup_app.state.arg_guard import MALFORMED
from reup_app.state.dashboard import DashboardState
from reup_app.state.seller_inventory import SellerInventoryState
from reup_app.state.seller_pricing import SellerPricingState
from reup_app.state.seller_products import SellerProductsState
from tests.integration.orderkit import call, make_buyer, make_seller, place, product_row, stock

pytestmark = pytest.mark.mysql


class Upload:
    """What Reflex hands an upload handler: a file name and an async read()."""

    def __init__(self, filename: str, data: bytes):
        self.filename, self._data = filename, data

    async def read(self, size: int = -1) -> bytes:
        return self._data if size < 0 else self._data[:size]


def as_member(monkeypatch, state_cls, principal):
    async def _principal(self):
        return principal

    monkeypatch.setattr(state_cls, "_principal", _principal)
    return state_cls()


def run(coro):
    return asyncio.run(coro)


def test_product_form_errors_keep_input_and_ids_of_others_change_nothing(engine, session, monkeypatch, unique):
    seller, other = make_seller(session), make_seller(session)
    theirs, _ = stock(session, other, name=f"Theirs {unique}")
    st = as_member(monkeypatch, SellerProductsState, seller.p["sales"])
    run(st.load())
    st.new_product()
    for bad in (None, "x"):  # not a form: refused by the argument guard before the handler runs
        assert MALFORMED in str(run(st.save_product(bad)))
    for bad in ({"name": ["list"]}, {"name": {"a": 1}}):
        run(st.save_product(bad))
        assert st.form_error == "The form could not be read; reload the page and try again."
    form = {
        "name": f"Typed {unique}",
        "sku": f"T-{unique}",
        "category": "flower",
        "unit_price": "abc",
        "thc_percent": "150",
        "listing_state": "available",
        "evil": "ignored",
    }
    run(st.save_product(form))
    assert st.field_errors["unit_price"].startswith("Unit price") and "100" in st.field_errors["thc_percent"]
    assert st.field_errors["name"] == "" and st.form_values["name"] == f"Typed {unique}" and st.form_open
    run(st.save_product(form | {"unit_price": "9.99", "thc_percent": "19"}))
    assert st.notice == f"Created Typed {unique} (T-{unique})." and not st.form_open
    assert [i["name"] for i in st.items] == [f"Typed {unique}"] and st.items[0]["price"] == "$9.99 / unit"

    # another entity's product: refused, untouched, never shown
    for handler in (st.archive, st.edit_product):
        run(handler(str(theirs.id)))
        assert st.error == "That product was not found."
    for junk in ("1; drop", "-1", None, {"id": 1}, "9" * 40):
        run(st.archive(junk))
        assert st.error == "Unknown product."
    assert product_row(engine, theirs.id).listing_state == "available"
    assert f"Theirs {unique}" not in json.dumps(st.dict(), default=str)
    run(st.set_listing_filter("nonsense"))
    assert st.error == "Unknown listing state."


def test_csv_import_handler_reports_bad_rows_and_bad_files(engine, session, monkeypatch, unique):
    seller = make_seller(session)
    st = as_member(monkeypatch, SellerProductsState, seller.owner)
    run(st.load())
    data = (
        f"sku,name,category,unit_price\nA-{unique},Good {unique},flower,5\nB-{unique},Bad {unique},flower,free\n"
    ).encode()
    run(st.import_csv([Upload("p.csv", data)]))
    assert st.import_summary.startswith("Imported 2 rows: 1 created, 0 updated, 1 row with problems")
    assert st.import_errors == [{"row": "3", "column": "unit_price", "problem": st.import_errors[0]["problem"]}]
    assert "free" in st.import_errors[0]["problem"]
    download = st.download_error_report()
    assert download is not None and "import-errors.csv" in str(download)
    run(st.import_csv([Upload("p.xlsx", b"PK\x03\x04\x00\x00binary")]))
    assert st.import_summary.startswith("Nothing was imported: That file is a spreadsheet or ZIP file")
    run(st.import_csv([]))
    assert st.import_summary == "Choose one CSV file to import."
    assert [i["sku"] for i in st.items] == [f"A-{unique}"]
    exported = run(st.export_csv())
    assert exported is not None and "products.csv" in str(exported)


def test_inventory_form_errors_and_adjust(engine, session, monkeypatch, unique):
    seller = make_seller(session)
    product, lots = stock(session, seller, qty="10")
    st = as_member(monkeypatch, SellerInventoryState, seller.p["fulfillment"])
    run(st.load())
    assert [x["package_label"] for x in st.lots] == [lots[0].package_label]
    assert st.license_totals[0]["available"] == "10"
    st.open_form()
    run(st.create_lot({"product_id": "", "license_id": "x", "lab_test_state": "maybe", "package_label": "short"}))
    assert (st.lot_errors["product_id"], st.lot_errors["license_id"]) == ("Choose a product.", "Choose a license.")
    assert st.lot_errors["quantity_on_hand"] and st.lot_errors["lab_test_state"]
    form = {
        "product_id": str(product.id),
        "license_id": str(seller.license.id),
        "package_label": "short",
        "quantity_on_hand": "5",
        "lab_test_state": "passed",
    }
    run(st.create_lot(form))
    assert "24 characters" in st.lot_errors["package_label"]
    label = ("1a40" + unique + "0" * 20)[:24]
    run(st.create_lot(form | {"package_label": label, "lab_thc_percent": "18.5"}))
    assert st.notice.startswith(f"Added package {label.upper()}") and not st.form_open
    new = next(x for x in st.lots if x["package_label"] == label.upper())
    assert new["lab_thc"] == "18.5%" and new["available"] == "5"
    st.start_adjust(new["id"])
    run(st.adjust({"mode": "change", "amount": "-9", "reason": "Count"}))
    assert "has only 5 on hand" in st.adjust_error
    run(st.adjust({"mode": "change", "amount": "-2", "reason": " "}))
    assert "reason" in st.adjust_error
    run(st.adjust({"mode": "count", "amount": "3", "reason": "Cycle count"}))
    assert st.adjusting_id == 0 and "on hand is now 3" in st.notice
    assert product_row(engine, product.id).available_qty == 13


def test_pricing_handlers(engine, session, monkeypatch, unique):
    seller, buyer = make_seller(session), make_buyer(session)
    product, _ = stock(session, seller, price="10.00")
    stranger = make_buyer(session)
    place(engine, buyer, [(product, "1")])  # an order makes the buyer a customer (no relationship row yet)
    st = as_member(monkeypatch, SellerPricingState, seller.p["sales"])
    run(st.load())
    run(st.create_tier({"name": f"Gold {unique}"}))
    assert st.selected_tier and st.tier_products[0]["tier_price"] == ""
    run(st.set_tier_price(str(product.id), "nope"))
    # what was typed stays in the field, with the reason next to it, and no stale confirmation
    assert "not a valid amount" in st.error and st.tier_products[0]["tier_price"] == "nope"
    assert "not a valid amount" in st.row_errors[str(product.id)] and st.notice == ""
    run(st.set_tier_price(str(product.id), "8.5"))
    assert st.error == "" and st.tier_products[0]["tier_price"] == "8.50" and st.row_errors == {}
    assert "$8.50" in st.notice  # the save is confirmed
    assert [c["id"] for c in st.customers] == [str(buyer.id)]
    run(st.assign(str(stranger.id), st.selected_tier))
    assert st.error == "That customer was not found."
    run(st.assign(str(buyer.id), st.selected_tier))
    assert st.error == "" and st.customers[0]["tier"] == st.selected_tier
    assert st.notice == f"{buyer.entity.name} now pays Gold {unique}."


def test_dashboard_state_builds_chart_rows(engine, session, monkeypatch):
    seller, buyer = make_seller(session), make_buyer(session)
    product, _ = stock(session, seller, price="10.00", name="Chart Kush")
    place(engine, buyer, [(product, "3")])
    st = as_member(monkeypatch, DashboardState, seller.p["viewer"])

    async def kind(self):
        return "wholesaler"

    monkeypatch.setattr(DashboardState, "_entity_kind", kind)
    run(st.set_period("13"))
    assert st.error == "Choose 7, 30 or 90 days."
    run(st.set_period("7"))
    assert st.show_seller and not st.show_buyer and st.error == ""
    assert st.queue_counts["incoming"] == "1" and st.incoming[0]["total"].startswith("$")
    assert len(st.sales_over_time) == 7  # submitted orders are not sales until accepted
    run(st.set_period("90"))
    assert len(st.sales_over_time) in (13, 14)  # weekly buckets
    assert st.product_series[0] == "" and len(st.product_series) == 6


def test_pushed_stock_and_product_events_reload_the_seller_pages(engine, session, monkeypatch):
    from reup_app.events import DomainEvent
    from reup_app.services.inventory import lot_management as lot_management_service

    seller, buyer = make_seller(session), make_buyer(session)
    product, lots = stock(session, seller, qty="10")
    inv = as_member(monkeypatch, SellerInventoryState, seller.p["fulfillment"])
    prods = as_member(monkeypatch, SellerProductsState, seller.p["fulfillment"])
    run(inv.load())
    run(prods.load())
    place(engine, buyer, [(product, "4")])  # another session reserves stock
    call(engine, seller.owner, lot_management_service.adjust_lot, lots[0].id, delta="5", reason="Found a case")
    event = DomainEvent(kind="inventory.changed", entity_ids=(seller.id,), payload={"product_ids": [product.id]})
    run(inv._on_domain_event(DomainEvent(kind="order.message", entity_ids=(seller.id,))))
    assert inv.lots[0]["available"] == "10"  # unrelated events don't reload
    run(inv._on_domain_event(event))
    run(prods._on_domain_event(event))
    assert (inv.lots[0]["on_hand"], inv.lots[0]["reserved"], inv.lots[0]["available"]) == ("15", "4", "11")
    assert prods.items[0]["available"] == "11"


def test_viewers_see_products_and_stock_but_get_no_write_controls(engine, session, monkeypatch):
    seller = make_seller(session)
    product, lots = stock(session, seller, qty="7")
    viewer_products = as_member(monkeypatch, SellerProductsState, seller.p["viewer"])
    run(viewer_products.load())
    assert not viewer_products.can_manage and [i["id"] for i in viewer_products.items] == [str(product.id)]
    viewer_stock = as_member(monkeypatch, SellerInventoryState, seller.p["viewer"])
    run(viewer_stock.load())
    assert not viewer_stock.can_manage and viewer_stock.error == "" and viewer_stock.lots[0]["available"] == "7"
    run(
        viewer_stock.create_lot(
            {
                "product_id": str(product.id),
                "license_id": str(seller.license.id),
                "package_label": "1A4060300002EE1000099999",
                "quantity_on_hand": "1",
                "lab_test_state": "passed",
            }
        )
    )
    assert viewer_stock.lot_error == "You are not allowed to do that."
    sales = as_member(monkeypatch, SellerProductsState, seller.p["sales"])
    run(sales.load())
    assert sales.can_manage


def test_auth_state_exposes_the_entity_kind_for_navigation(session):
    from reup_app.state.auth import AuthState
    from tests.factories import DEFAULT_PASSWORD, make_entity, make_member

    for kind in ("wholesaler", "retailer", "both"):
        entity = make_entity(session, kind=kind)
        user, _ = make_member(session, entity, role="viewer")
        state = AuthState()
        run(state.login({"email": user.email, "password": DEFAULT_PASSWORD}))
        assert state.entity_kind == kind
        run(state.logout())
        assert state.entity_kind == ""


def test_images_refused_by_the_browser_are_explained(monkeypatch, session):
    seller = make_seller(session)
    st = as_member(monkeypatch, SellerProductsState, seller.owner)
    st.images_rejected(
        [{"name": "huge.png", "codes": ["file-too-large"]}, {"name": "doc.pdf", "codes": ["file-invalid-type"]}]
    )
    assert st.image_error == "huge.png is larger than 5 MB. doc.pdf is not a PNG, JPEG or WebP image."
    for junk in (None, "x", [1, "a", {"name": 3, "codes": "file-too-large"}]):
        st.images_rejected(junk)
        assert st.image_error
    st.csv_rejected([{"name": "book.xlsx", "codes": ["file-invalid-type"]}])
    assert st.import_summary == "Nothing was imported: book.xlsx is not a CSV file."
