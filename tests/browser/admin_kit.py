"""Signing in as a demo role in browser tests (the platform admin with its authenticator code)."""

from __future__ import annotations

import re
import time

import pyotp
from playwright.sync_api import expect

from reup_app.seed.demo import ADMIN_EMAIL, DEMO_ADMIN_TOTP_SECRET, DEMO_PASSWORD


def sign_in(page, email: str, password: str = DEMO_PASSWORD, *, timeout: float = 15_000) -> None:
    """Sign in through the form and wait until the page has left /login (the cookie is set)."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.locator("form").get_by_role("button", name="Sign in").click()
    if email == ADMIN_EMAIL:
        _admin_code(page)
    expect(page.get_by_test_id("signed-in-user")).to_have_text(email, timeout=timeout)
    # The header shows the user as soon as the tab is signed in; the page leaves /login only once
    # the session cookie is set. Navigating before that cancels the cookie's request, and a later
    # reload or cookie restore would then find no session.
    expect(page).not_to_have_url(re.compile(r"/login/?(\?.*)?$"), timeout=timeout)


def _admin_code(page) -> None:
    """Enter the admin's TOTP code; a code already used in this 30 s window (another test signed
    in just now) is refused, so wait for the next window and use its code."""
    totp = pyotp.TOTP(DEMO_ADMIN_TOTP_SECRET)
    for _ in range(3):
        page.get_by_label("Authentication code").fill(totp.now())
        page.get_by_role("button", name="Verify").click()
        try:
            expect(page).to_have_url(re.compile(r"/admin/"), timeout=6000)
            return
        except AssertionError:
            time.sleep(31 - time.time() % 30)
    raise AssertionError("the admin could not sign in with its authenticator code")
