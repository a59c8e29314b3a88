"""/settings/integrations through its page state: owners and admins only, the user key never in a
state var, actions with their messages, and a running sync's progress events moving the bar live
(the same path the push hub takes: `_on_domain_event` on the open page)."""

from __future__ import annotations

import uuid

import pytest

from reup_app.events.event import DomainEvent
from reup_app.events.kinds import SYNC_PROGRESS
from reup_app.jobs.outbox_sender import Fence
from reup_app.jobs.sync import run_sync
from reup_app.realtime.listeners import listeners_for
from reup_app.state.integrations import IntegrationsState
from tests.integration.orderkit import EventLog, make_seller
from tests.integration.statekit import Tab, email_of, event_arg, frontend_json, run

KEY = "page-user-key-0123456789"


@pytest.fixture
def seller(session):
    return make_seller(session)


def _page(session, principal) -> IntegrationsState:
    page = Tab().sign_in(email_of(session, principal)).at("/settings/integrations").state(IntegrationsState)
    run(page.load())
    return page


def _root(state):
    while state.parent_state is not None:
        state = state.parent_state
    return state


def _row(page, license_id) -> dict:
    return next(r for r in page.rows if r["license_id"] == str(license_id))


def test_members_without_the_right_are_sent_away(session, seller):
    for role in ("sales", "viewer", "fulfillment"):
        page = Tab().sign_in(email_of(session, seller.p[role])).at("/settings/integrations").state(IntegrationsState)
        assert event_arg(run(page.load()), "path") == "/not-allowed"
        assert page.rows == []


def test_connect_from_the_page_never_puts_the_key_in_state(session, seller):
    page = _page(session, seller.owner)
    assert page.has_licenses and _row(page, seller.license.id)["status"] == "not_connected"
    run(page.open_connect(str(seller.license.id)))
    assert page.connect_for == str(seller.license.id)
    run(page.connect({"license_id": str(seller.license.id), "user_key": "bad key"}))
    assert "does not look like" in page.error and page.connect_for
    run(page.connect({"license_id": str(seller.license.id), "user_key": KEY}))
    assert page.error == "" and "connected to METRC" in page.notice and page.connect_for == ""
    row = _row(page, seller.license.id)
    assert row["connected"] == "1" and row["status_label"] == "Sync queued" and row["last_sync"] == "Never synced"
    dump = frontend_json(_root(page))
    assert seller.license.number in dump and KEY not in dump  # the whole tree the browser may see

    run(page.sync_now(str(seller.license.id)))
    assert "within 15 seconds" in page.notice
    run(page.disconnect(str(seller.license.id)))  # not confirmed yet
    assert page.error == "Confirm the disconnect first." and _row(page, seller.license.id)["connected"] == "1"
    run(page.ask_disconnect(str(seller.license.id)))
    run(page.disconnect(str(seller.license.id)))
    assert "erased" in page.notice and _row(page, seller.license.id)["status"] == "disconnected"
    for bad in ("", "abc", "-1", "99999999999"):
        run(page.sync_now(bad))
        assert page.error in ("Unknown license.", "That license does not exist.")


def test_progress_events_move_the_bar_and_the_end_reloads_the_row(session, engine, seller):
    assert IntegrationsState in listeners_for(SYNC_PROGRESS)
    page = _page(session, seller.p["admin"])
    run(page.connect({"license_id": str(seller.license.id), "user_key": KEY}))
    row = _row(page, seller.license.id)
    conn_id = int(row["connection_id"])

    def work(ctx):
        for done in (1, 2, 3):
            ctx.commit(None, cursor=f"w{done}", seen=10, changed=2)
            ctx.progress(done, 4, force=True)
        raise RuntimeError("METRC went away in window 4")

    with EventLog() as log:
        run_sync(engine, Fence(1, name=f"t-{uuid.uuid4().hex[:8]}"), connection_id=conn_id, resource="r", fn=work)
    events = log.of(SYNC_PROGRESS)
    assert [e.payload["done"] for e in events] == [1, 2, 3, 0] and events[-1].payload["finished"]
    assert all(e.entity_ids == (seller.id,) for e in events)

    run(page._on_domain_event(events[1]))
    bar = page.progress[str(conn_id)]
    assert (bar["done"], bar["total"], bar["percent"]) == ("2", "4", "50")
    assert bar["label"] == "r: 2 of 4 pages/windows"
    assert _row(page, seller.license.id)["running"] == "1"
    # Another business's event, and one about a connection this page does not show, change nothing.
    run(page._on_domain_event(DomainEvent(SYNC_PROGRESS, (seller.id + 10_000,), {**events[2].payload})))
    run(page._on_domain_event(DomainEvent(SYNC_PROGRESS, (seller.id,), {**events[2].payload, "connection_id": 0})))
    assert page.progress[str(conn_id)]["done"] == "2"
    run(page._on_domain_event(events[2]))
    assert page.progress[str(conn_id)]["done"] == "3"

    run(page._on_domain_event(events[-1]))  # the run is recorded: the bar goes, the outcome shows
    assert str(conn_id) not in page.progress
    row = _row(page, seller.license.id)
    assert row["running"] == "" and row["status"] == "error"
    assert "METRC went away in window 4" in row["last_error"] and "failed" in row["last_sync"]
