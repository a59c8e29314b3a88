"""A wholesaler manages its catalog in the browser: create a product (with a field error first),
find it in its list, import a CSV with one bad row, and open the dashboard's charts."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from tests.browser.admin_kit import sign_in


def test_wholesaler_creates_a_product_imports_csv_and_sees_dashboard_charts(page: Page, tmp_path):
    tag = uuid.uuid4().hex[:6].upper()
    sign_in(page, "sales@pacificbloom.demo")
    page.get_by_role("link", name="Products").first.click()
    expect(page).to_have_url(re.compile(r"/seller/products$"))
    expect(page.get_by_test_id("seller-product-row").first).to_be_visible()

    # create: a bad price is named next to its field and nothing typed is lost
    page.get_by_role("button", name="New product").click()
    form = page.get_by_test_id("product-form")
    form.get_by_label("Name").fill(f"Browser Kush {tag}")
    form.get_by_label("SKU").fill(f"BR-{tag}")
    form.get_by_label("Category").select_option("pre_rolls")
    form.get_by_label("Unit price").fill("abc")
    form.get_by_role("button", name="Create product").click()
    expect(page.locator("#product-unit_price-error")).to_contain_text("Unit price")
    expect(form.get_by_label("Name")).to_have_value(f"Browser Kush {tag}")
    form.get_by_label("Unit price").fill("7.25")
    form.get_by_role("button", name="Create product").click()
    expect(page.get_by_role("status").filter(has_text=f"Created Browser Kush {tag}")).to_be_visible()
    page.get_by_label("Search your products").fill(f"browser kush {tag.lower()}")
    row = page.get_by_test_id("seller-product-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(f"BR-{tag}")
    expect(row).to_contain_text("$7.25")

    # CSV import: the good rows are saved, the bad one is named by its row number
    csv_file = tmp_path / "products.csv"
    csv_file.write_text(
        "sku,name,category,unit_price\n"
        f"CSV1-{tag},CSV Flower {tag},flower,11.00\n"
        f"CSV2-{tag},CSV Vape {tag},not-a-category,20.00\n"
        f"CSV3-{tag},CSV Gummies {tag},edibles,4.50\n"
    )
    page.get_by_role("button", name="Import CSV").click()
    page.locator("#csv_upload input[type=file]").set_input_files(str(csv_file))
    expect(page.get_by_test_id("csv-selected")).to_contain_text("products.csv")
    page.get_by_role("button", name="Upload and import").click()
    expect(page.get_by_test_id("import-summary")).to_contain_text("2 created")
    errors = page.get_by_test_id("import-errors")
    expect(errors).to_contain_text("Row 3")
    expect(errors).to_contain_text("not-a-category")
    page.get_by_label("Search your products").fill(f"csv {tag.lower()}")
    expect(page.get_by_test_id("seller-product-row")).to_have_count(2)

    # dashboard: queues and charts render (recharts draws an svg)
    page.get_by_role("link", name="Dashboard").first.click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.get_by_test_id("queue-incoming")).to_be_visible()
    expect(page.get_by_test_id("sales-chart").locator("svg.recharts-surface").first).to_be_visible()
    expect(page.get_by_test_id("product-chart").locator("svg.recharts-surface").first).to_be_visible()
    page.get_by_label("Period").select_option("7")
    expect(page.get_by_label("Period")).to_have_value("7")
    expect(page.get_by_test_id("sales-chart").locator("svg.recharts-surface").first).to_be_visible()


def test_dashboard_redirects_to_login_when_signed_out(page: Page):
    page.goto("/dashboard")
    expect(page).to_have_url(re.compile(r"/login\?next=(%2F|/)dashboard/?$"))


def test_retailer_sees_buyer_dashboard_and_no_seller_links(page: Page):
    sign_in(page, "buyer@greenleaf.demo")
    nav = page.locator("header")
    expect(nav.get_by_role("link", name="Dashboard")).to_be_visible()
    expect(nav.get_by_role("link", name="Products")).to_have_count(0)
    expect(nav.get_by_role("link", name="Inventory")).to_have_count(0)
    nav.get_by_role("link", name="Dashboard").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.get_by_test_id("spend-chart").locator("svg.recharts-surface").first).to_be_visible()
    recent = page.get_by_test_id("recently-ordered").get_by_role("link").first
    expect(recent).to_have_attribute("href", re.compile(r"^/(products|orders)/"))
    expect(page.get_by_test_id("incoming-queue")).to_have_count(0)


def _png(width: int, height: int) -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\x30\xa0\x40" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def test_seller_uploads_an_image_and_oversized_or_fake_files_are_explained(page: Page, tmp_path):
    good, fake, huge = tmp_path / "bud.png", tmp_path / "fake.png", tmp_path / "huge.png"
    good.write_bytes(_png(40, 30))
    fake.write_bytes(b"<html>not an image</html>")
    huge.write_bytes(_png(2, 2) + b"\x00" * (6 * 1024 * 1024))
    sign_in(page, "owner@emeraldcoast.demo")
    page.get_by_role("link", name="Products").first.click()
    expect(page).to_have_url(re.compile(r"/seller/products$"))
    page.get_by_test_id("seller-product-row").first.get_by_role("button", name=re.compile("^Edit ")).click()
    form = page.get_by_test_id("product-form")
    upload = page.locator("#image_upload input[type=file]")
    upload.set_input_files([str(good), str(fake)])
    form.get_by_role("button", name="Upload images").click()
    expect(form.get_by_role("alert")).to_contain_text("fake.png is not a PNG, JPEG or WebP image.")
    image = form.get_by_role("img", name="Product image").first
    expect(image).to_be_visible()
    page.wait_for_function(
        "() => [...document.querySelectorAll('img[alt=\"Product image\"]')]"
        ".some(i => i.complete && i.naturalWidth === 40)"
    )
    upload.set_input_files(str(huge))
    expect(form.get_by_role("alert")).to_contain_text("huge.png is larger than 5 MB.")
    expect(form).to_be_visible()  # the connection survived: nothing was lost
