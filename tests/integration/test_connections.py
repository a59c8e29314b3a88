"""METRC connections on MySQL: connect (key encrypted at rest, never in a view), sync now (the
worker's retry pass runs it), disconnect (key wiped), last sync and errors, and refusals for other
businesses, other roles and bad input. "Test connection" against the real sandbox is in
test_connection_check.py."""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import Session, select

from reup_app.errors import Conflict, NotFound, PermissionDenied, ValidationError
from reup_app.jobs import sync_registry
from reup_app.jobs.outbox_sender import Fence
from reup_app.jobs.sync_registry import run_registered_syncs, sync_resource, unregister
from reup_app.models import IntegrationConnection
from reup_app.models.integrations import SyncRun
from reup_app.models.types import utcnow
from reup_app.security.crypto import decrypt_credentials
from reup_app.security.principal import Principal
from reup_app.services.integrations import connections as svc
from reup_app.services.integrations.vendor_access import connection_for_license
from reup_app.settings import get_settings
from tests.factories import make_license, make_user
from tests.integration.orderkit import call, fresh, make_buyer, make_seller

KEY = "user-key-0123456789abcdef"


@pytest.fixture
def seller(session):
    return make_seller(session)


def _conn(engine, license_id) -> IntegrationConnection:
    with fresh(engine) as s:
        return s.exec(select(IntegrationConnection).where(IntegrationConnection.license_id == license_id)).one()


def _admin(session) -> Principal:
    user = make_user(session, is_platform_admin=True)
    return Principal(user_id=user.id, is_platform_admin=True, token_version=user.token_version)


def test_connect_encrypts_the_key_and_views_never_carry_it(engine, session, seller):
    [before] = call(engine, seller.owner, svc.list_connections)
    assert (before.license_id, before.connected, before.status) == (seller.license.id, False, "not_connected")
    view = call(engine, seller.p["admin"], svc.connect_license, seller.license.id, f"  {KEY} ")
    assert view.connected and view.status == svc.QUEUED and view.base_url == get_settings().metrc_base_url
    assert KEY not in repr(view) and KEY not in repr(call(engine, seller.owner, svc.list_connections))
    row = _conn(engine, seller.license.id)
    assert KEY not in row.credentials_encrypted and row.credentials_encrypted.startswith("v1:")
    assert decrypt_credentials(row) == {"user_key": KEY, "state": seller.license.state}
    assert (row.entity_id, row.provider, row.enabled) == (seller.id, "metrc", True)

    # Replacing the key updates the same row.
    call(engine, seller.owner, svc.connect_license, seller.license.id, KEY + "-new")
    again = _conn(engine, seller.license.id)
    assert again.id == row.id and decrypt_credentials(again)["user_key"] == KEY + "-new"


@pytest.mark.parametrize(
    ("key", "message"),
    [("", "Enter the license's METRC user API key"), ("short", "does not look like"), ("has space x", "does not")],
)
def test_bad_keys_are_refused_with_a_specific_message(engine, seller, key, message):
    with pytest.raises(ValidationError, match=message):
        call(engine, seller.owner, svc.connect_license, seller.license.id, key)
    assert call(engine, seller.owner, svc.list_connections)[0].connection_id is None


def test_only_a_platform_admin_chooses_another_base_url(engine, session, seller):
    with pytest.raises(PermissionDenied, match="platform admin"):
        call(engine, seller.owner, svc.connect_license, seller.license.id, KEY, "http://evil.example:9")
    admin = _admin(session)
    with pytest.raises(ValidationError, match="METRC address"):
        call(engine, admin, svc.connect_license, seller.license.id, KEY, "ftp://x")
    view = call(engine, admin, svc.connect_license, seller.license.id, KEY, "https://api-ca.metrc.com/")
    assert view.base_url == "https://api-ca.metrc.com"
    assert call(engine, admin, svc.list_connections, seller.id)[0].base_url == "https://api-ca.metrc.com"


def test_an_inactive_license_cannot_be_connected(engine, session, seller):
    lic = make_license(session, seller.entity, status="suspended")
    with pytest.raises(Conflict, match="suspended"):
        call(engine, seller.owner, svc.connect_license, lic.id, KEY)


def test_other_businesses_roles_and_unknown_ids_are_refused(engine, session, seller):
    call(engine, seller.owner, svc.connect_license, seller.license.id, KEY)
    other, buyer = make_seller(session), make_buyer(session)
    lid = seller.license.id
    for principal in (other.owner, buyer.owner, seller.p["sales"], seller.p["viewer"], seller.p["fulfillment"]):
        for fn, args in (
            (svc.connect_license, (lid, KEY + "x")),
            (svc.sync_now, (lid,)),
            (svc.disconnect, (lid,)),
            (svc.connection_view, (lid,)),
        ):
            with pytest.raises(PermissionDenied):
                call(engine, principal, fn, *args)
        with pytest.raises(PermissionDenied):
            call(engine, principal, svc.list_connections, seller.id)
    for bad in (0, -1, 10**12, "1", True, None):
        with pytest.raises(NotFound):
            call(engine, seller.owner, svc.sync_now, bad)
    row = _conn(engine, lid)
    assert row.enabled and decrypt_credentials(row)["user_key"] == KEY and row.status == svc.QUEUED
    # Each business lists only its own licenses.
    assert [v.license_id for v in call(engine, other.owner, svc.list_connections)] == [other.license.id]


def test_sync_now_queues_a_run_the_worker_picks_up(engine, session, seller, monkeypatch):
    with pytest.raises(Conflict, match="not connected"):
        call(engine, seller.owner, svc.sync_now, seller.license.id)
    call(engine, seller.owner, svc.connect_license, seller.license.id, KEY)
    conn_id = _conn(engine, seller.license.id).id
    with Session(engine) as s:  # as the worker's pass would leave it after the first sync
        row = s.get(IntegrationConnection, conn_id)
        row.status = svc.OK
        s.add(row)
        s.commit()

    seen: list[int] = []
    monkeypatch.setattr(sync_registry, "_RESOURCES", {})  # only this test's sync runs in the pass
    resource = f"test.{uuid.uuid4().hex[:8]}"

    @sync_resource("metrc", resource)
    def fake_sync(ctx, connection):
        if connection.id == conn_id:
            seen.append(connection.id)
            ctx.commit(None, cursor="c1", seen=7, changed=3)

    try:
        view = call(engine, seller.p["admin"], svc.sync_now, seller.license.id)
        assert view.status == svc.QUEUED
        run_registered_syncs(engine, Fence(1, name=f"t-{uuid.uuid4().hex[:8]}"), status=svc.QUEUED)
    finally:
        unregister("metrc", resource)
    assert seen == [conn_id]
    view = call(engine, seller.owner, svc.connection_view, seller.license.id)
    assert view.status == svc.OK and not view.running
    last = view.last_sync
    assert (last.status, last.items_seen, last.items_changed, last.error) == ("succeeded", 7, 3, "")
    assert last.duration_seconds is not None and last.duration_seconds >= 0


def test_a_running_sync_refuses_sync_now_and_a_failure_shows(engine, session, seller):
    call(engine, seller.owner, svc.connect_license, seller.license.id, KEY)
    conn_id = _conn(engine, seller.license.id).id
    with Session(engine) as s:
        s.add(
            SyncRun(
                connection_id=conn_id,
                resource="r",
                status="failed",
                started_at=utcnow(),
                finished_at=utcnow(),
                error="AuthFailed: METRC refused the key",
            )
        )
        s.add(SyncRun(connection_id=conn_id, resource="r", status="running", started_at=utcnow()))
        s.commit()
    view = call(engine, seller.owner, svc.connection_view, seller.license.id)
    assert view.running and view.last_sync.error == "AuthFailed: METRC refused the key"
    with pytest.raises(Conflict, match="already running"):
        call(engine, seller.owner, svc.sync_now, seller.license.id)


def test_disconnect_wipes_the_key_and_stops_syncing(engine, session, seller):
    call(engine, seller.owner, svc.connect_license, seller.license.id, KEY)
    view = call(engine, seller.p["admin"], svc.disconnect, seller.license.id)
    assert (view.connected, view.status) == (False, svc.DISCONNECTED)
    row = _conn(engine, seller.license.id)
    assert (row.enabled, row.credentials_encrypted) == (False, "")
    with fresh(engine) as s:
        assert connection_for_license(s, seller.license.id, "metrc") is None
    with pytest.raises(Conflict, match="not connected"):
        call(engine, seller.owner, svc.disconnect, seller.license.id)
    with pytest.raises(Conflict, match="not connected"):
        call(engine, seller.owner, svc.sync_now, seller.license.id)
    # Connecting again reuses the row.
    assert call(engine, seller.owner, svc.connect_license, seller.license.id, KEY).connected
    assert _conn(engine, seller.license.id).id == row.id
