"""The wholesaler's own catalog on MySQL: product CRUD with per-field errors, cross-entity refusal,
CSV export/import (good + bad rows, bad files), inventory lots with lab fields, events."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from reup_app.errors import NotFound, PermissionDenied, ValidationError
from reup_app.models import Brand, Product
from reup_app.models.catalog import product_search_text
from reup_app.services.catalog import product_csv, product_fields, products
from reup_app.services.catalog.product_fields import ProductFieldErrors
from reup_app.services.inventory import lot_management as lot_management_service
from tests.integration.orderkit import EventLog, call, fresh, make_seller, product_row, stock

pytestmark = pytest.mark.mysql

D = Decimal


def _form(unique: str, **kw) -> dict[str, str]:
    base = {
        "sku": f"SKU-{unique}",
        "name": f"Blue Dream {unique}",
        "brand": f"Coastal {unique}",
        "category": "flower",
        "strain_name": "Blue Dream",
        "strain_type": "hybrid",
        "thc_percent": "21.5",
        "cbd_percent": "",
        "unit_of_measure": "g",
        "unit_price": "12.50",
        "case_size": "10",
        "case_price": "115.00",
        "min_order_qty": "2",
        "listing_state": "available",
        "description": "Dense buds",
    }
    base.update(kw)
    return base


@pytest.fixture
def seller(session):
    return make_seller(session)


def test_create_edit_archive_and_search_text(engine, seller, unique):
    with EventLog() as log:
        row = call(engine, seller.p["sales"], products.create_product, _form(unique))
    assert (row.sku, row.unit_price, row.case_price, row.case_size, row.thc_percent) == (
        f"SKU-{unique}",
        D("12.50"),
        D("115.00"),
        10,
        D("21.50"),
    )
    saved = product_row(engine, row.id)
    assert saved.entity_id == seller.id and saved.min_order_qty == D("2.000")
    assert saved.search_text == product_search_text(
        f"Blue Dream {unique}", f"Coastal {unique}", "Blue Dream", f"SKU-{unique}"
    )
    assert log.of("product.changed")[0].payload == {"product_ids": [row.id]}
    # the brand was created once and is reused, case-insensitively
    call(engine, seller.owner, products.create_product, _form(unique, sku=f"SKU2-{unique}", brand=f"coastal {unique}"))
    with fresh(engine) as s:
        assert len(s.execute(select(Brand).where(Brand.entity_id == seller.id)).scalars().all()) == 1

    edited = call(
        engine,
        seller.owner,
        products.update_product,
        row.id,
        _form(unique, name=f"Renamed {unique}", listing_state="internal", case_price="", case_size="1"),
    )
    assert edited.name == f"Renamed {unique}" and edited.case_price is None
    assert product_row(engine, row.id).search_text.startswith(f"renamed {unique}")

    page = call(engine, seller.p["viewer"], products.list_own_products, text=f"renamed {unique}")
    assert [p.id for p in page.items] == [row.id] and page.counts["internal"] == 1
    assert call(engine, seller.owner, products.list_own_products, listing_state="archived").total == 0
    call(engine, seller.owner, products.archive_product, row.id)
    archived = call(engine, seller.owner, products.list_own_products, listing_state="archived")
    assert [p.id for p in archived.items] == [row.id]
    assert call(engine, seller.owner, products.unarchive_product, row.id).listing_state == "internal"
    with pytest.raises(ValidationError, match="not archived"):
        call(engine, seller.owner, products.unarchive_product, row.id)


def test_every_bad_field_is_named_and_nothing_is_saved(engine, seller, unique):
    bad = _form(
        unique,
        sku="bad sku!",
        name=" ",
        category="weed",
        thc_percent="140",
        unit_price="-3",
        case_size="0",
        min_order_qty="0",
        listing_state="hidden",
        strain_type=5,
    )
    with pytest.raises(ProductFieldErrors) as err:
        call(engine, seller.owner, products.create_product, bad)
    assert set(err.value.errors) == {
        "sku",
        "name",
        "category",
        "thc_percent",
        "unit_price",
        "case_size",
        "min_order_qty",
        "listing_state",
        "strain_type",
    }
    assert "weed" in err.value.errors["category"] and "100" in err.value.errors["thc_percent"]
    with fresh(engine) as s:
        assert s.execute(select(Product).where(Product.entity_id == seller.id)).first() is None
    call(engine, seller.owner, products.create_product, _form(unique))
    with pytest.raises(ProductFieldErrors) as dup:
        call(engine, seller.owner, products.create_product, _form(unique, name="Other"))
    assert "already have a product with SKU" in dup.value.errors["sku"]
    with pytest.raises(ValidationError, match="case size of 2"):
        call(engine, seller.owner, products.create_product, _form(unique, sku=f"X-{unique}", case_size="1"))


def test_another_entitys_product_is_not_found_and_unchanged(engine, session, seller, unique):
    other = make_seller(session)
    theirs, _ = stock(session, other, name=f"Theirs {unique}")
    before = product_row(engine, theirs.id)
    for fn, args in (
        (products.update_product, (theirs.id, _form(unique))),
        (products.archive_product, (theirs.id,)),
        (products.get_own_product, (theirs.id,)),
    ):
        with pytest.raises(NotFound):
            call(engine, seller.owner, fn, *args)
    after = product_row(engine, theirs.id)
    assert (after.name, after.listing_state, after.updated_at) == (before.name, before.listing_state, before.updated_at)
    assert theirs.id not in [p.id for p in call(engine, seller.owner, products.list_own_products).items]
    # roles: viewers and fulfillment can look, not edit
    for role in ("viewer", "fulfillment", "buyer"):
        with pytest.raises(PermissionDenied):
            call(engine, seller.p[role], products.create_product, _form(unique, sku=f"R-{role}"))


def test_csv_export_imports_back_unchanged(engine, seller, unique):
    call(engine, seller.owner, products.create_product, _form(unique, name='=HYPERLINK("x")'))
    call(
        engine,
        seller.owner,
        products.create_product,
        _form(
            unique,
            sku=f"B-{unique}",
            brand="",
            thc_percent="",
            case_price="",
            case_size="1",
            listing_state="archived",
            description="Line one\nline, two",
        ),
    )
    text = call(engine, seller.owner, product_csv.export_products_csv)
    lines = text.splitlines()
    assert lines[0].split(",") == list(product_fields.FIELDS)
    assert "'=HYPERLINK" in text  # formula-safe
    report = call(engine, seller.owner, product_csv.import_products_csv, text.encode())
    assert (report.rows, report.created, report.updated, report.unchanged, report.errors) == (2, 0, 0, 2, [])
    assert call(engine, seller.owner, products.list_own_products, text="hyperlink").items[0].name == '=HYPERLINK("x")'


def test_csv_import_saves_good_rows_and_names_each_bad_row(engine, seller, unique):
    existing = call(engine, seller.owner, products.create_product, _form(unique))
    csv_text = (
        "SKU,Name,Category,Unit price,THC %,Listing state,Colour\n"
        f"SKU-{unique},Updated Name {unique},flower,13.00,,available,green\n"  # row 2: update
        f"NEW1-{unique},Fresh Vape {unique},vapes,30,80,backorder,\n"  # row 3: create
        f"NEW2-{unique},,edibles,abc,,available,\n"  # row 4: bad name + price
        "\n"
        f"NEW1-{unique},Duplicate,vapes,30,,available,\n"  # row 6: duplicate SKU
        f"NEW3-{unique},Gummies {unique},candy,4,,available,\n"  # row 7: bad category
    )
    report = call(engine, seller.owner, product_csv.import_products_csv, csv_text.encode())
    assert (report.rows, report.created, report.updated) == (5, 1, 1)
    assert report.ignored_columns == ["Colour"]
    assert [(e.row, e.column) for e in report.errors] == [(4, "Name"), (4, "Unit price"), (6, "SKU"), (7, "Category")]
    assert "row 3" in report.errors[2].problem and "candy" in report.errors[3].problem
    updated = product_row(engine, existing.id)
    assert updated.name == f"Updated Name {unique}" and updated.unit_price == D("13.00")
    assert updated.thc_percent is None  # a present but blank column clears
    assert updated.case_size == 10 and updated.case_price == D("115.00")  # absent columns keep their values
    skus = {p.sku for p in call(engine, seller.owner, products.list_own_products).items}
    assert skus == {f"SKU-{unique}", f"NEW1-{unique}"}
    report_csv = product_csv.error_report_csv(report.errors)
    assert report_csv.splitlines()[0] == "row,column,problem" and report_csv.splitlines()[1].startswith("4,Name,")


def test_csv_import_of_a_large_semicolon_file(engine, seller, unique):
    import time

    lines = ["SKU;Name;Brand;Category;Unit price"]
    lines += [f"L{i}-{unique};Bulk item {i};Brand {i % 7};flower;{i % 50 + 1}.25" for i in range(2000)]
    started = time.monotonic()
    report = call(engine, seller.owner, product_csv.import_products_csv, "\n".join(lines).encode())
    assert (report.created, report.errors) == (2000, [])
    assert time.monotonic() - started < 30
    assert call(engine, seller.owner, products.list_own_products, text=f"l1999-{unique}").items[0].unit_price == D(
        "50.25"
    )


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "an image, not a CSV file"),
        ("sku,name,category,unit_price\nA,Caf\u00e9,flower,1\n".encode("latin-1"), "not UTF-8"),
        (b"sku,name,price_each\nA,B,1\n", "missing required columns: category, unit_price"),
        (b"sku,name,category,unit_price\n" + b"x" * (2 * 1024 * 1024), "limit is 2 MB"),
        (b'sku,name,category,unit_price\n"A,B\n', "not valid CSV"),
    ],
)
def test_a_bad_file_is_refused_with_a_clear_message_and_changes_nothing(engine, seller, unique, data, message):
    call(engine, seller.owner, products.create_product, _form(unique))
    with pytest.raises(ValidationError, match=message):
        call(engine, seller.owner, product_csv.import_products_csv, data)
    assert [p.sku for p in call(engine, seller.owner, products.list_own_products).items] == [f"SKU-{unique}"]


def test_inventory_lot_with_lab_fields_and_events(engine, seller, unique):
    product = call(engine, seller.owner, products.create_product, _form(unique))
    licenses = call(engine, seller.p["fulfillment"], lot_management_service.list_own_licenses)
    assert [x.id for x in licenses] == [seller.license.id]
    label = ("1A40" + unique.upper() + "0" * 20)[:24]
    with EventLog() as log:
        lot = call(
            engine,
            seller.p["fulfillment"],
            lot_management_service.create_lot,
            product_id=product.id,
            license_id=seller.license.id,
            package_label=label,
            quantity_on_hand="40",
            batch_number="B-1",
            lab_test_state="passed",
            lab_thc_percent="22.4",
            lab_name="SC Labs",
            lab_tested_on="2026-11-01",
        )
    assert (lot.lab_thc_percent, lot.lab_name, str(lot.lab_tested_on)) == (D("22.40"), "SC Labs", "2026-11-01")
    assert [e.payload["product_ids"] for e in log.of("inventory.changed")] == [[product.id]]
    with pytest.raises(ValidationError, match="between 0 and 100"):
        call(
            engine,
            seller.owner,
            lot_management_service.create_lot,
            product_id=product.id,
            license_id=seller.license.id,
            package_label=label[:-1] + "9",
            quantity_on_hand="1",
            lab_thc_percent="101",
        )
    with EventLog() as log:
        call(engine, seller.owner, lot_management_service.adjust_lot, lot.id, delta="-5", reason="Damaged")
    assert log.of("inventory.changed")[0].payload["product_ids"] == [product.id]
    assert product_row(engine, product.id).available_qty == D("35.000")


def test_reserve_release_and_consume_all_emit_inventory_changed_with_product_ids(engine, session):
    from tests.integration.orderkit import EventLog, advance, make_buyer, place

    seller, buyer = make_seller(session), make_buyer(session)
    product, _ = stock(session, seller, qty="20")
    with EventLog() as log:
        number = place(engine, buyer, [(product, "2")]).orders[0].number  # reserve
    assert [e.payload["product_ids"] for e in log.of("inventory.changed")] == [[product.id]]
    with EventLog() as log:
        advance(engine, seller, number, "accept", "fulfill", "ship")  # consume: on hand moves, available doesn't
    assert [e.payload["product_ids"] for e in log.of("inventory.changed")][-1] == [product.id]
    with EventLog() as log:
        other = place(engine, buyer, [(product, "1")]).orders[0].number
        advance(engine, seller, other, "reject")  # release
    assert [e.payload["product_ids"] for e in log.of("inventory.changed")] == [[product.id], [product.id]]
    assert all(e.entity_ids == (seller.id,) for e in log.of("inventory.changed"))
