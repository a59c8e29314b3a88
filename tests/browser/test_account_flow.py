"""The whole identity journey in real Chromium: a business signs up, a platform admin (with MFA)
approves it, the new owner signs in, enrols two-factor authentication, a new tab restores the
session from the HttpOnly cookie, sign-out ends every tab, and the next sign-in asks for MFA."""

from __future__ import annotations

import re
import uuid

import pyotp
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from reup_app.seed.demo import ADMIN_EMAIL, DEMO_PASSWORD
from tests.browser.admin_kit import _admin_code
from tests.factories import DEFAULT_PASSWORD

PASSWORD = "Correct-Horse-Battery-2026"


def _sign_in(page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.locator("form").get_by_role("button", name="Sign in").click()


def _svg_text(page, img_testid: str, show) -> str:
    """The picture the page loads when `show()` runs. Display tickets work once, so the test reads
    the browser's own response, then checks that the link is gone."""
    with page.expect_response(lambda r: "/api/auth/reveal/" in r.url and ".svg" in r.url) as loaded:
        show()
    response = loaded.value
    assert response.ok and response.headers["cache-control"] == "no-store"
    src = page.get_by_test_id(img_testid).get_attribute("src")
    assert src and src.startswith("/api/auth/reveal/") and response.url.endswith(src)
    text = response.text()
    assert page.request.get(src).status == 404  # shown once, then gone
    return text


def test_signup_approval_mfa_sign_in_and_sign_out(browser, app_url):
    tag = uuid.uuid4().hex[:8]
    business, email = f"Smoke Test Dispensary {tag}", f"owner-{tag}@example.test"
    owner_ctx = browser.new_context(base_url=app_url)
    admin_ctx = browser.new_context(base_url=app_url)
    try:
        owner = owner_ctx.new_page()
        owner.set_default_timeout(15000)
        # 1. Sign-up: the business starts pending.
        owner.goto("/signup")
        owner.get_by_label("Business name").fill(business)
        owner.get_by_label("Business type").select_option("retailer")
        owner.get_by_label("License number", exact=True).fill(f"C10-{tag.upper()}-LIC")
        owner.get_by_label("License state", exact=True).select_option("CA")
        owner.get_by_label("License type", exact=True).select_option("adult_use_retail")
        owner.get_by_label("Full name").fill("Sam Smoke")
        owner.get_by_label("Email").fill(email)
        owner.get_by_label("Password", exact=True).fill(PASSWORD)
        owner.get_by_label("Repeat password").fill(PASSWORD)
        owner.get_by_role("button", name="Apply for an account").click()
        expect(owner.get_by_test_id("signup-pending")).to_contain_text(business)

        # A pending business cannot sign in yet, and is told why.
        _sign_in(owner, email, PASSWORD)
        expect(owner.get_by_role("alert")).to_contain_text("awaiting approval")

        # 2. The platform admin signs in with the authenticator code and approves it.
        admin = admin_ctx.new_page()
        admin.set_default_timeout(15000)
        _sign_in(admin, ADMIN_EMAIL, DEMO_PASSWORD)
        _admin_code(admin)  # waits for the next 30 s window if another test just used this code
        expect(admin).to_have_url(re.compile(r"/admin/businesses/?$"))
        card = admin.get_by_test_id("business-review").filter(has_text=business)
        expect(card).to_contain_text(email)
        card.get_by_role("button", name="Approve", exact=True).click()
        expect(admin.get_by_role("status")).to_contain_text(f"{business} is approved")

        # 3. The owner signs in and enrols an authenticator app.
        _sign_in(owner, email, PASSWORD)
        expect(owner.get_by_test_id("signed-in-user")).to_have_text(email)
        expect(owner).to_have_url(re.compile(r"/marketplace/?$"))  # left /login once the cookie was set
        owner.goto("/settings/security")
        expect(owner.get_by_test_id("mfa-status")).to_contain_text("off")
        setup = owner.get_by_role("button", name="Set up two-factor authentication")
        try:
            svg = _svg_text(owner, "mfa-setup-image", setup.click)
        except PlaywrightTimeoutError:
            # Once, in a full CI run on a freshly started server, the page was reset to its start right
            # after the picture loaded (cause not pinned down; the page's load handler starts afresh),
            # taking the shown-once picture with it. Start the enrolment again, as a person would.
            expect(setup).to_be_visible()
            svg = _svg_text(owner, "mfa-setup-image", setup.click)
        key = re.search(r"Key: ([A-Z2-7 ]+)<", svg).group(1)
        key = key.replace(" ", "")
        owner.get_by_label("Authentication code").fill(pyotp.TOTP(key).now())
        turn_on = owner.get_by_role("button", name="Turn on two-factor authentication")
        codes_svg = _svg_text(owner, "recovery-codes-image", turn_on.click)
        recovery = re.findall(r">([a-z0-9]{4,}(?:-[a-z0-9]{4,})+)<", codes_svg)
        assert len(recovery) == 10, codes_svg
        owner.get_by_role("button", name="I have saved them").click()
        expect(owner.get_by_test_id("mfa-status")).to_contain_text("10 recovery codes left")
        # The key and codes were never part of the page's state: only ticket URLs were.
        assert key not in owner.content() and recovery[0] not in owner.content()

        # 4. A new tab restores the session from the HttpOnly cookie (no sign-in form).
        cookies = {c["name"]: c for c in owner_ctx.cookies()}
        assert cookies["reup_session"]["httpOnly"] and cookies["reup_session"]["sameSite"] == "Strict"
        assert cookies["reup_session"]["path"] == "/api/auth"
        second_tab = owner_ctx.new_page()
        second_tab.set_default_timeout(15000)
        second_tab.goto("/settings/profile")
        expect(second_tab.get_by_test_id("signed-in-user")).to_have_text(email)
        expect(second_tab.get_by_label("Full name")).to_have_value("Sam Smoke")

        # 5. Sign-out in one tab ends the other tab's session too (heartbeat, within 60 s).
        owner.get_by_role("button", name="Sign out").click()
        expect(owner.get_by_label("Password", exact=True)).to_be_visible()
        expect(second_tab.get_by_test_id("signed-in-user")).to_have_count(0, timeout=60000)
        assert "reup_session" not in {c["name"] for c in owner_ctx.cookies()}

        # 6. The next sign-in asks for the second factor; a recovery code works once.
        _sign_in(owner, email, PASSWORD)
        owner.get_by_label("Authentication code").fill(recovery[0])
        owner.get_by_role("button", name="Verify").click()
        expect(owner.get_by_test_id("signed-in-user")).to_have_text(email)
        owner.get_by_role("button", name="Sign out").click()
        expect(owner.get_by_test_id("signed-in-user")).to_have_count(0)
    finally:
        owner_ctx.close()
        admin_ctx.close()


def test_protected_page_sends_a_signed_out_visitor_to_sign_in_and_back(page):
    page.goto("/settings/team")
    expect(page).to_have_url(re.compile(r"/login\?next=(%2F|/)settings(%2F|/)team/?$"))
    page.get_by_label("Email").fill("owner@greenleaf.demo")
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    page.locator("form").get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/settings/team/?$"))
    expect(page.get_by_role("button", name="Remove buyer@greenleaf.demo")).to_be_visible()


def test_role_gated_page_shows_not_allowed(page):
    page.goto("/login?next=/settings/team")
    page.get_by_label("Email").fill("viewer@greenleaf.demo")
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    page.locator("form").get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/not-allowed/?$"))
    expect(page.get_by_role("alert")).to_contain_text("not allowed")


def _new_platform_admin(db_url: str) -> str:
    """A platform admin without MFA yet (the next sign-in forces enrolment), straight in the demo DB."""
    from sqlmodel import Session, create_engine

    from tests.factories import make_user

    engine = create_engine(db_url)
    try:
        with Session(engine) as session:
            email = make_user(session, is_platform_admin=True).email
            session.commit()
    finally:
        engine.dispose()
    return email


def test_forced_enrolment_pictures_are_bound_to_the_signing_in_browser(browser, app_url, demo_db_url):
    email = _new_platform_admin(demo_db_url)
    ctx, other_ctx = browser.new_context(base_url=app_url), browser.new_context(base_url=app_url)
    try:
        page = ctx.new_page()
        page.set_default_timeout(15000)
        with page.expect_response(lambda r: "/api/auth/reveal/mfa-setup.svg" in r.url) as loaded:
            _sign_in(page, email, DEFAULT_PASSWORD)
        assert loaded.value.ok
        assert any(c["name"] == "reup_challenge" and c["httpOnly"] for c in ctx.cookies())
        src = page.get_by_test_id("mfa-setup-image").get_attribute("src")
        # another browser cannot open the sign-in picture (and does not spoil it); this one saw it once
        assert other_ctx.request.get(app_url + src).status == 404
        key = re.search(r"Key: ([A-Z2-7 ]+)<", loaded.value.text()).group(1).replace(" ", "")
        assert page.request.get(src).status == 404

        page.get_by_label("Authentication code").fill(pyotp.TOTP(key).now())
        codes_svg = _svg_text(
            page, "recovery-codes-image", page.get_by_role("button", name="Turn on and sign in").click
        )
        assert len(re.findall(r">([a-z0-9]{4}(?:-[a-z0-9]{4})+)<", codes_svg)) == 10
        assert not any(c["name"] == "reup_challenge" for c in ctx.cookies())  # cleared at sign-in
        assert any(c["name"] == "reup_session" for c in ctx.cookies())
        download = page.get_by_role("link", name="Download recovery codes").get_attribute("href")
        assert other_ctx.request.get(app_url + download).status == 404  # no session cookie there
        assert page.request.get(download).status == 200  # the signed-in browser, once
        assert page.request.get(download).status == 404
        assert key not in page.content()
        page.get_by_role("button", name="I have saved them").click()
        expect(page).to_have_url(re.compile(r"/admin/businesses/?$"))
    finally:
        ctx.close()
        other_ctx.close()
