"""Forms and page furniture in real Chromium: sign-up reports every error at once next to its
field; a bad reset code is named before typing; a 404 page inside the shell; titles name the
product and order; tier prices keep what was typed after an error and confirm a save."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.admin_kit import sign_in
from tests.browser.seeddb import rows

expect.set_options(timeout=20_000)  # a loaded CI machine: page loads restore the session first


def test_signup_shows_every_error_next_to_its_field(page):
    page.goto("/signup")
    expect(page.get_by_label("License state", exact=True)).to_have_js_property("tagName", "SELECT")
    expect(page.get_by_label("License type", exact=True)).to_have_js_property("tagName", "SELECT")
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_label("Password", exact=True).fill("Correct-Horse-Battery-2026")
    page.get_by_label("Repeat password").fill("something else")
    page.get_by_role("button", name="Apply for an account").click()
    expect(page.get_by_role("alert").filter(has_text="Please correct the")).to_be_visible()
    for field_id in ("business_name", "email", "password_again", "full_name"):
        expect(page.locator(f"#signup-{field_id}-error")).to_be_visible()
    expect(page.locator("#signup-license-1-error")).to_contain_text("US state")
    expect(page.get_by_label("Email")).to_have_attribute("aria-describedby", "signup-email-error")
    expect(page.get_by_label("Email")).to_have_value("not-an-email")  # what was typed stays


def test_reset_link_404_and_titles(page, demo_db_url):
    page.goto("/reset-password/not-a-real-code")
    expect(page.get_by_test_id("reset-invalid")).to_contain_text("invalid, expired or already used")
    expect(page.get_by_label("New password")).to_have_count(0)

    page.goto("/there-is-no-such-page")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.get_by_role("banner")).to_be_visible()  # inside the shell
    expect(page).to_have_title(re.compile("Page not found"))

    ((pid, name),) = rows(
        demo_db_url, "SELECT id, name FROM products WHERE listing_state='available' ORDER BY id LIMIT 1"
    )
    page.goto(f"/products/{pid}")
    expect(page).to_have_title(f"{name} · ReUp")


def test_order_title_and_tier_price_keeps_typed_input_after_an_error(page, demo_db_url):
    ((number,),) = rows(
        demo_db_url,
        "SELECT o.number FROM orders o JOIN entities e ON e.id = o.seller_entity_id "
        "WHERE e.name = 'Pacific Bloom Distribution' ORDER BY o.id LIMIT 1",
    )
    sign_in(page, "owner@pacificbloom.demo")
    page.goto(f"/orders/{number}")
    expect(page).to_have_title(f"Order {number} · ReUp")

    page.goto("/seller/pricing")
    page.get_by_label("New tier name").fill("Browser tier")
    page.get_by_role("button", name="Create tier").click()
    field = page.get_by_label(re.compile(r"^Tier price for ")).first
    field.fill("twelve")
    field.blur()
    expect(page.get_by_test_id("tier-price-error").first).to_contain_text("not a valid amount")
    expect(page.get_by_label(re.compile(r"^Tier price for ")).first).to_have_value("twelve")
    field = page.get_by_label(re.compile(r"^Tier price for ")).first
    field.fill("12")
    field.blur()
    expect(page.get_by_role("status").filter(has_text="$12.00")).to_be_visible()
    expect(page.get_by_test_id("tier-price-error").first).to_have_text("")
