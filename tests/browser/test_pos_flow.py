"""/pos in real Chromium against the Dutchie sandbox (seeded with the demo stores' 90 days of sales):
Greenleaf's owner connects the demo store with its location key, tests it, asks for a sync, the
syncs run (the worker's job functions through the real sync runtime over a socket), the store's
suggestions appear with their math, and one and then all of them go into the cart."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, select
from sqlmodel import Session

from reup_app.models import CartItem, IntegrationConnection, License
from reup_app.seed.demo import DEMO_PASSWORD
from reup_app.seed.demo_connections import demo_dutchie_key
from reup_app.settings import reset_settings_cache
from tests.browser.conftest import _app_env
from tests.dutchie_kit import sync_all

LICENSE = "C10-0000712-LIC"  # Greenleaf Dispensary - Mission


@pytest.fixture
def app_settings(demo_db_url, dutchie_sandbox):
    """This process's settings as the app server's (its database, Redis channel and Dutchie sandbox), so the
    syncs run here write and publish where the app reads."""
    mp = pytest.MonkeyPatch()
    env = _app_env(demo_db_url)
    for name in ("REUP_DATABASE_URL", "REUP_REDIS_URL", "REUP_EVENT_CHANNEL"):
        mp.setenv(name, env[name])
    mp.setenv("REUP_DUTCHIE_BASE_URL", dutchie_sandbox.base_url)
    reset_settings_cache()
    yield dutchie_sandbox
    mp.undo()
    reset_settings_cache()


def test_retailer_connects_syncs_and_adds_suggestions_to_cart(page, app_url, demo_db_url, app_settings):
    page.goto("/login")
    page.get_by_label("Email").fill("owner@greenleaf.demo")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.locator("form").get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/(marketplace|dashboard)/?$"))
    page.goto("/pos")
    card = page.get_by_test_id(f"pos-store-{LICENSE}")
    # the demo seed may have connected it already: then the same form replaces the key
    card.get_by_role("button", name=re.compile(f"^(Connect store|Replace key for store) {LICENSE}$")).click()
    card.get_by_label("Dutchie location API key").fill(demo_dutchie_key(LICENSE))
    card.get_by_role("button", name="Save key").click()
    expect(card.get_by_role("button", name=f"Test store {LICENSE}")).to_be_visible()
    card.get_by_role("button", name=f"Test store {LICENSE}").click()
    expect(card).to_contain_text("Dutchie location: ")
    expect(card.get_by_test_id("pos-warning")).to_have_count(0)  # the location's licence is the store's

    engine = create_engine(demo_db_url)
    try:
        with Session(engine) as s:
            lic = s.exec(select(License).where(License.number == LICENSE)).scalars().one()
            conn = (
                s.exec(
                    select(IntegrationConnection).where(
                        IntegrationConnection.license_id == lic.id, IntegrationConnection.provider == "dutchie"
                    )
                )
                .scalars()
                .one()
            )
            assert conn.base_url == app_settings.base_url  # the key just saved, pointed at the sandbox
            entity_id = lic.entity_id
        card.get_by_role("button", name=f"Sync now: store {LICENSE}").click()
        expect(card.get_by_test_id("pos-status")).to_have_text("Sync queued")
        runs = sync_all(engine, conn)
        assert all(run.status == "succeeded" for run in runs.values()), runs

        card.get_by_role("button", name="Show suggestions").click()
        suggestions = page.get_by_test_id("suggestion")
        expect(suggestions.first).to_be_visible()
        count = suggestions.count()
        assert count >= 2
        expect(suggestions.first.get_by_test_id("suggestion-math")).to_contain_text("velocity")
        first_name = suggestions.first.get_by_role("button", name=re.compile("^Add ")).get_attribute("aria-label")
        suggestions.first.get_by_role("button", name=re.compile("^Add ")).click()
        expect(page.get_by_text("Added to your cart.")).to_be_visible()
        with Session(engine) as s:
            assert len(s.exec(select(CartItem).where(CartItem.buyer_entity_id == entity_id)).all()) == 1, first_name
        page.get_by_role("button", name="Add all to cart").click()
        expect(page.get_by_text(re.compile(r"Added \d+ suggestion\(s\) to your cart"))).to_be_visible()
        with Session(engine) as s:
            items = s.exec(select(CartItem).where(CartItem.buyer_entity_id == entity_id)).all()
        assert len(items) >= 2
    finally:
        engine.dispose()
