"""/admin/jobs state: a platform admin sees dead outbox messages and failing syncs and retries them;
anyone else is sent away."""

from __future__ import annotations

import uuid

from sqlmodel import Session

from reup_app.jobs.outbox_sender import Fence
from reup_app.jobs.sync import run_sync
from reup_app.models.integrations import IntegrationConnection
from reup_app.models.outbox import OutboxMessage
from reup_app.services.integrations.outbox import enqueue
from tests.factories import make_entity, make_license, make_member, make_user


def _admin_tab(session):
    from reup_app.services.identity.auth import _issue
    from reup_app.state.auth import AuthState
    from tests.integration.statekit import Tab

    admin = make_user(session, is_platform_admin=True)
    tab = Tab()
    result = _issue(session, admin, None, None, client_ip=None, user_agent=None)
    session.commit()
    tab.state(AuthState)._accept(result, cookie=False)
    return tab


def test_admin_sees_the_error_queue_and_retries(session, engine):
    from reup_app.state.admin_jobs import AdminJobsState
    from tests.integration.statekit import Tab, event_arg, run

    ref = f"ReUp ORD-{uuid.uuid4().hex[:8]}"
    dead = enqueue(session, "metrc.create_transfer", target_table="orders", target_id=1, payload={}, reference=ref)
    dead.status, dead.attempts, dead.last_error = "dead", 8, "Unavailable: vendor down"
    entity = make_entity(session, "wholesaler")
    conn = IntegrationConnection(
        entity_id=entity.id,
        license_id=make_license(session, entity).id,
        provider="metrc",
        base_url="http://127.0.0.1:9",
        credentials_encrypted="x",
    )
    session.add_all([dead, conn])
    session.commit()

    def boom(ctx):
        raise RuntimeError("METRC answered 500")

    failed = run_sync(
        engine, Fence(1, f"t-{uuid.uuid4().hex[:6]}"), connection_id=conn.id, resource="packages", fn=boom
    )

    page = _admin_tab(session).at("/admin/jobs").state(AdminJobsState)
    assert run(page.load()) == []
    mine = [m for m in page.messages if m["reference"] == ref]
    assert mine and mine[0]["attempts"] == "8" and "vendor down" in mine[0]["error"]
    run_row = [r for r in page.runs if r["id"] == str(failed.id)]
    assert run_row and "500" in run_row[0]["error"] and run_row[0]["connection"] == f"metrc #{conn.id}"

    run(page.retry_message(mine[0]["id"]))
    assert "Queued again" in page.notice and ref not in [m["reference"] for m in page.messages]
    with Session(engine) as s:
        assert s.get(OutboxMessage, dead.id).status == "pending"
    run(page.retry_message("not-a-number"))
    assert page.error == "Unknown item."
    run(page.retry_sync(run_row[0]["id"]))
    with Session(engine) as s:
        assert s.get(IntegrationConnection, conn.id).status == "retry"

    owner, _ = make_member(session, entity, role="owner")
    outsider = Tab().sign_in(owner.email).at("/admin/jobs").state(AdminJobsState)
    assert event_arg(run(outsider.load()), "path") == "/not-allowed" and outsider.messages == []
