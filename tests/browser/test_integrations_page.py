"""The connections page in real Chromium: the demo wholesaler's licenses are connected (demo seed), a
bad key is refused with its message, and a running sync's progress events move the bar without a
reload (published on the app's Redis event bus, as the worker does)."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import create_engine, text

from reup_app.events.bus import RedisBus
from reup_app.events.event import DomainEvent
from reup_app.events.kinds import SYNC_PROGRESS
from reup_app.seed.demo import DEMO_PASSWORD
from tests.browser.conftest import _app_env
from tests.dbutil import REDIS_URL

LICENSE = "C11-0000347-LIC"  # Pacific Bloom's distributor license


def _connection(db_url: str) -> tuple[int, int]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as c:
            row = c.execute(
                text(
                    "SELECT c.id, c.entity_id FROM integration_connections c JOIN licenses l ON l.id = c.license_id "
                    "WHERE l.number = :n AND c.provider = 'metrc'"
                ),
                {"n": LICENSE},
            ).one()
    finally:
        engine.dispose()
    return int(row[0]), int(row[1])


def test_owner_sees_connections_and_live_sync_progress(page, demo_db_url):
    page.goto("/login")
    page.get_by_label("Email").fill("owner@pacificbloom.demo")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.locator("form").get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/(marketplace|dashboard)/?$"))
    page.get_by_role("link", name="Integrations").first.click()
    expect(page).to_have_url(re.compile(r"/settings/integrations/?$"))
    card = page.get_by_test_id(f"connection-{LICENSE}")
    expect(card.get_by_test_id("connection-status")).to_have_text(re.compile("Connected|Sync queued|Error"))

    card.get_by_role("button", name=f"Replace key {LICENSE}", exact=True).click()  # connected: its visible text
    card.get_by_label("METRC user API key").fill("bad key")
    card.get_by_role("button", name="Save and connect").click()
    expect(page.get_by_role("alert").first).to_contain_text("does not look like a METRC user API key")
    card.get_by_role("button", name="Cancel").click()

    conn_id, entity_id = _connection(demo_db_url)
    bus = RedisBus(REDIS_URL, _app_env(demo_db_url)["REUP_EVENT_CHANNEL"])
    payload = {"connection_id": conn_id, "resource": "packages.active", "done": 3, "total": 8, "finished": False}
    bus.publish(DomainEvent(SYNC_PROGRESS, (entity_id,), payload))
    expect(card.get_by_test_id("sync-progress")).to_have_text("packages.active: 3 of 8 pages/windows")
    expect(card.get_by_test_id("connection-status")).to_have_text("Syncing")
    expect(card.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "37")
    bus.publish(DomainEvent(SYNC_PROGRESS, (entity_id,), {**payload, "done": 0, "total": 0, "finished": True}))
    expect(card.get_by_test_id("sync-progress")).to_have_count(0)
    bus.close()
