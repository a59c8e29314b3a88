"""The marketplace catalog in real Chromium against the production build and seeded MySQL."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.seeddb import scalar

PUBLIC = "('available','backorder','sample')"


def _public_count(url: str, where: str = "1=1", **params) -> int:
    return scalar(
        url,
        f"SELECT COUNT(*) FROM products p JOIN entities e ON e.id = p.entity_id "
        f"WHERE e.status = 'approved' AND p.listing_state IN {PUBLIC} AND {where}",
        **params,
    )


def test_catalog_lists_searches_filters_and_pages(page, demo_db_url):
    total = _public_count(demo_db_url)
    assert total > 24, "the demo seed should fill more than one page"

    page.goto("/marketplace")
    cards = page.get_by_test_id("product-card")
    expect(cards).to_have_count(24)
    expect(page.get_by_test_id("result-count")).to_have_text(f"{total} products")
    pages = -(-total // 24)
    expect(page.get_by_test_id("page-indicator")).to_have_text(f"Page 1 of {pages}")

    # Next page shows different products.
    first_on_page_1 = cards.first.locator(".product-name").inner_text()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_test_id("page-indicator")).to_have_text(f"Page 2 of {pages}")
    expect(cards.first.locator(".product-name")).not_to_have_text(first_on_page_1)
    page.get_by_role("button", name="Previous").click()
    expect(page.get_by_test_id("page-indicator")).to_have_text(f"Page 1 of {pages}")

    # Filter by category: every card shows that category and the count matches the database.
    edibles = _public_count(demo_db_url, "p.category = 'edibles'")
    assert edibles > 0
    page.get_by_role("combobox", name="Category").click()
    page.get_by_role("option", name="Edibles").click()
    expect(page.get_by_test_id("result-count")).to_have_text(f"{edibles} products")
    badges = cards.locator("span", has_text=re.compile(r"^Edibles$"))
    expect(cards).to_have_count(min(edibles, 24))
    expect(badges).to_have_count(min(edibles, 24))

    # Search by a brand name (with the category filter cleared) narrows to that brand.
    page.get_by_role("combobox", name="Category").click()
    page.get_by_role("option", name="All categories").click()
    expect(page.get_by_test_id("result-count")).to_have_text(f"{total} products")
    brand = scalar(
        demo_db_url,
        f"SELECT b.name FROM brands b JOIN products p ON p.brand_id = b.id JOIN entities e ON e.id = p.entity_id "
        f"WHERE e.status='approved' AND p.listing_state IN {PUBLIC} GROUP BY b.name ORDER BY COUNT(*) DESC, b.name LIMIT 1",
    )
    brand_count = _public_count(demo_db_url, "p.brand_id IN (SELECT id FROM brands WHERE name = :b)", b=brand)
    page.get_by_label("Search").fill(brand)
    expect(page.get_by_test_id("result-count")).to_have_text(f"{brand_count} products")
    first_card_text = cards.first.inner_text()
    assert brand in first_card_text

    # A search with no match says so and offers to clear the filters.
    page.get_by_label("Search").fill("zzqx-no-such-product")
    expect(page.get_by_text("No products match your search.")).to_be_visible()
    page.get_by_role("button", name="Clear filters").click()
    expect(page.get_by_test_id("result-count")).to_have_text(f"{total} products")


def test_catalog_is_usable_at_phone_width(browser, app_url):
    context = browser.new_context(base_url=app_url, viewport={"width": 375, "height": 800})
    page = context.new_page()
    try:
        page.goto("/marketplace")
        expect(page.get_by_test_id("product-card")).to_have_count(24)
        # Navigation collapses into a menu button; cards fit the viewport without sideways scroll.
        expect(page.get_by_role("button", name="Open navigation")).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"page scrolls sideways at phone width ({width}px)"
    finally:
        context.close()


def test_catalog_range_and_stock_filters(page, demo_db_url):
    in_range = _public_count(demo_db_url, "p.thc_percent >= 20 AND p.thc_percent <= 25 AND p.available_qty > 0")
    page.goto("/marketplace")
    expect(page.get_by_test_id("product-card").first).to_be_visible()
    page.get_by_label("Min THC %").fill("20")
    page.get_by_label("Max THC %").fill("25")
    page.get_by_role("button", name="Apply").click()
    page.get_by_text("In stock only").click()
    expect(page.get_by_test_id("result-count")).to_have_text(f"{in_range} products")
    # An impossible price range is named; what was typed stays in the form.
    page.get_by_label("Min price").fill("90")
    page.get_by_label("Max price").fill("10")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("alert")).to_contain_text("price")
    expect(page.get_by_label("Min price")).to_have_value("90")


def test_cards_and_gallery_offer_small_lazy_thumbnails_that_the_server_serves(page):
    """Phones get small pictures: the card's <img> lists sized WebP variants in srcset (lazy), each
    URL answers 200 with an image smaller than the uploaded original; the gallery does the same."""
    page.goto("/marketplace")
    image = page.get_by_test_id("product-card").first.get_by_test_id("product-image")
    expect(image).to_have_attribute("srcset", re.compile(r"\?w=320 320w"))
    expect(image).to_have_attribute("loading", "lazy")
    expect(image).to_have_attribute("sizes", re.compile(r"100vw"))
    src, srcset = image.get_attribute("src"), image.get_attribute("srcset")
    original = page.request.get(src)
    assert original.ok
    for candidate in srcset.split(", "):
        url, width = candidate.split(" ")
        if "?w=" not in url:
            continue
        thumb = page.request.get(url)
        assert thumb.status == 200 and thumb.headers["content-type"] == "image/webp", (url, thumb.status)
        assert len(thumb.body()) < len(original.body()), (url, len(thumb.body()), len(original.body()))
        assert width == url.split("?w=")[1] + "w"
    # the phone-width browser picks the 320 px variant
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    first = page.get_by_test_id("product-card").first.get_by_test_id("product-image")
    first.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => { const i = document.querySelector('[data-testid=product-image]'); return i && i.complete && i.currentSrc; }"
    )
    assert "?w=320" in first.evaluate("i => i.currentSrc")
    # the product page's gallery
    page.get_by_test_id("product-card").first.get_by_role("link").first.click()
    gallery = page.get_by_test_id("product-gallery").get_by_test_id("product-image")
    expect(gallery).to_have_attribute("srcset", re.compile(r"\?w=320 320w"))
