"""Sign-in and sign-out in real Chromium with a seeded demo account."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from reup_app.seed.demo import DEMO_PASSWORD


def _sign_in(page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.locator("form").get_by_role("button", name="Sign in").click()


def test_buyer_signs_in_and_out(page):
    _sign_in(page, "buyer@greenleaf.demo", DEMO_PASSWORD)
    expect(page).to_have_url(re.compile(r"/marketplace/?$"))
    expect(page.get_by_test_id("signed-in-user")).to_have_text("buyer@greenleaf.demo")
    expect(page.get_by_text("Greenleaf Dispensary")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Password")).to_be_visible()
    expect(page.get_by_test_id("signed-in-user")).to_have_count(0)


def test_wrong_password_is_refused_with_a_clear_message(page):
    _sign_in(page, "buyer@greenleaf.demo", "not-the-password-1")
    expect(page.get_by_role("alert")).to_have_text("Email or password is incorrect.")
    expect(page.get_by_test_id("signed-in-user")).to_have_count(0)
