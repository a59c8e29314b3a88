"""The platform admin console in real Chromium: read-only audited "view as business", metrics
charts, integration health, recent users; navigation by role; the audit trail in words."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from reup_app.seed.demo import ADMIN_EMAIL
from tests.browser.admin_kit import sign_in

SELLER = "Pacific Bloom Distribution"
expect.set_options(timeout=20_000)  # a loaded CI machine: page loads restore the session first


def test_admin_views_a_business_read_only_and_the_business_sees_it_in_its_trail(browser, app_url):
    admin_ctx = browser.new_context(base_url=app_url)
    owner_ctx = browser.new_context(base_url=app_url)
    try:
        admin = admin_ctx.new_page()
        admin.set_default_timeout(20000)
        sign_in(admin, ADMIN_EMAIL)
        admin.goto("/admin/users")  # opens with recent accounts, not an empty table
        expect(admin.get_by_role("row").nth(1)).to_be_visible()
        sections = admin.get_by_role("navigation", name="Admin sections")
        sections.get_by_role("link", name="Metrics").click()
        expect(admin.get_by_test_id("metric-gmv")).to_have_text(re.compile(r"\$[\d,]+\.\d\d"))
        expect(admin.get_by_test_id("metric-charts").locator("svg.recharts-surface")).to_have_count(4)
        sections.get_by_role("link", name="Integrations").click()
        expect(admin.get_by_test_id("connection-health").filter(has_text=SELLER).first).to_be_visible()

        sections.get_by_role("link", name="View as business").click()
        admin.get_by_label("Business").select_option(label=f"{SELLER} (wholesaler, approved)")
        admin.get_by_label("Reason").fill("Ticket 77: cannot find an order")
        admin.get_by_role("button", name="Open read-only view").click()
        expect(admin).to_have_url(re.compile(r"/orders/?$"))
        expect(admin.get_by_test_id("support-banner")).to_contain_text(SELLER)
        expect(admin.get_by_test_id("order-row").first).to_be_visible()
        nav = admin.get_by_role("banner")
        expect(nav.get_by_role("link", name="Dashboard")).to_be_visible()
        expect(nav.get_by_role("link", name="Pricing")).to_have_count(0)
        admin.goto("/settings/team")
        expect(admin.locator("#main")).to_contain_text("owner@pacificbloom.demo")
        admin.get_by_role("button", name="End support view").click()
        expect(admin).to_have_url(re.compile(r"/admin/support/?$"))
        expect(admin.get_by_test_id("support-banner")).to_have_count(0)

        owner = owner_ctx.new_page()
        owner.set_default_timeout(20000)
        sign_in(owner, "owner@pacificbloom.demo")
        expect(owner.get_by_test_id("signed-in-name")).to_have_text("Maya Okafor")  # the header names the person
        owner.goto("/settings/audit")
        owner.get_by_label("Kind of record").select_option("business")
        owner.get_by_role("button", name="Filter").click()
        opened = "opened a read-only support view (ReUp support): Ticket 77"
        expect(owner.get_by_test_id("audit-summary").filter(has_text=opened)).to_have_count(1)
    finally:
        admin_ctx.close()
        owner_ctx.close()


def test_navigation_shows_only_what_a_role_can_use_and_the_trail_reads_as_sentences(browser, app_url):
    ctx = browser.new_context(base_url=app_url)
    try:
        page = ctx.new_page()
        page.set_default_timeout(20000)
        sign_in(page, "fulfillment@pacificbloom.demo")
        header = page.get_by_role("banner")
        expect(header.get_by_role("link", name="Inventory")).to_be_visible()
        expect(header.get_by_role("link", name="Pricing")).to_have_count(0)
        page.get_by_role("button", name="Sign out").click()
        sign_in(page, "buyer@greenleaf.demo")
        page.goto("/settings/profile")
        sections = page.get_by_role("navigation", name="Settings sections")
        expect(sections.get_by_role("link", name="Profile")).to_be_visible()
        expect(sections.get_by_role("link", name="Team")).to_have_count(0)
        expect(sections.get_by_role("link", name="Audit trail")).to_have_count(0)
        page.get_by_role("button", name="Sign out").click()

        sign_in(page, "owner@pacificbloom.demo")
        page.goto("/settings/audit")
        page.get_by_label("Kind of record").select_option("orders")
        page.get_by_role("button", name="Filter").click()
        summaries = page.get_by_test_id("audit-summary")
        expect(summaries.first).to_contain_text(re.compile(r"order RU-"))
        expect(page.locator("#main")).not_to_contain_text("refresh_tokens")
        page.get_by_label("Technical: show sessions, sign-in codes and bookkeeping rows").click()
        page.get_by_label("Kind of record").select_option("all")
        page.get_by_role("button", name="Filter").click()
        expect(page.locator("#main")).to_contain_text("refresh_tokens")
        expect(page.get_by_text(re.compile(r"Page 1 of \d+"))).to_be_visible()
    finally:
        ctx.close()
