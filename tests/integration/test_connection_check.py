""" "Test connection" against the real METRC sandbox over a socket: a working key, a refused key, a key
that does not reach the license, METRC unreachable, and no database lock held while METRC answers."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from reup_app.errors import Conflict, PermissionDenied
from reup_app.models import IntegrationConnection, License
from reup_app.security.principal import Principal
from reup_app.services.integrations import connections as svc
from reup_app.services.integrations.connection_check import test_connection as check
from reup_app.settings import reset_settings_cache
from tests.factories import make_license, make_user
from tests.integration.orderkit import call, fresh, make_seller
from tests.metrc_kit import PB_DIST
from tests.sandboxes import free_port


@pytest.fixture
def metrc(metrc_sandbox):
    """The sandbox, with the app's METRC settings pointing at it."""
    with pytest.MonkeyPatch.context() as m:
        m.setenv("REUP_METRC_VENDOR_KEY", metrc_sandbox.VENDOR_KEY)
        m.setenv("REUP_METRC_BASE_URL", metrc_sandbox.base_url)
        reset_settings_cache()
        yield metrc_sandbox
    reset_settings_cache()


@pytest.fixture
def seller(session):
    """A wholesaler holding the demo's Pacific Bloom distributor license number (in a state no other
    row uses for it, so the demo seed and other tests never collide with it)."""
    party = make_seller(session)
    used = set(session.exec(select(License.state).where(License.number == PB_DIST)).all())
    state = next(f"Q{c}" for c in "ABCDEFGHIJKLMNOPRSTUVWXYZ" if f"Q{c}" not in used)
    party.license = make_license(session, party.entity, number=PB_DIST, state=state)
    return party


def _status(engine, license_id) -> tuple[str, str | None]:
    with fresh(engine) as s:
        row = s.exec(select(IntegrationConnection).where(IntegrationConnection.license_id == license_id)).one()
        return row.status, row.last_error


def test_a_working_key_reaches_the_license(engine, metrc, seller):
    call(engine, seller.owner, svc.connect_license, seller.license.id, metrc.user_key("pacificbloom"))
    result = check(seller.owner, seller.license.id)
    assert result.ok and PB_DIST in result.message and result.facilities >= 2
    assert _status(engine, seller.license.id) == (svc.QUEUED, None)  # the queued first sync still runs
    assert metrc.calls()["by_path"].get("GET /facilities/v2", 0) >= 1


def test_a_refused_key_and_a_key_of_another_business(engine, metrc, seller):
    call(engine, seller.owner, svc.connect_license, seller.license.id, "not-a-real-user-key")
    result = check(seller.owner, seller.license.id)
    assert not result.ok and "refused the user API key (401)" in result.message
    assert _status(engine, seller.license.id) == (svc.ERROR, result.message)

    call(engine, seller.owner, svc.connect_license, seller.license.id, metrc.user_key("emeraldcoast"))
    result = check(seller.owner, seller.license.id)
    assert not result.ok and f"does not reach license {PB_DIST}" in result.message
    assert _status(engine, seller.license.id) == (svc.ERROR, result.message)

    call(engine, seller.owner, svc.connect_license, seller.license.id, metrc.user_key("pacificbloom"))
    assert check(seller.owner, seller.license.id).ok
    assert _status(engine, seller.license.id) == (svc.QUEUED, None)


def test_metrc_unreachable(engine, session, metrc, seller):
    user = make_user(session, is_platform_admin=True)
    admin = Principal(user_id=user.id, is_platform_admin=True, token_version=user.token_version)
    dead = f"http://127.0.0.1:{free_port()}"
    call(engine, admin, svc.connect_license, seller.license.id, metrc.user_key("pacificbloom"), dead)
    result = check(seller.owner, seller.license.id)
    assert not result.ok and f"could not be reached at {dead}" in result.message
    assert _status(engine, seller.license.id)[0] == svc.ERROR


def test_refusals_before_any_call(engine, session, metrc, seller):
    with pytest.raises(Conflict, match="not connected"):
        check(seller.owner, seller.license.id)
    call(engine, seller.owner, svc.connect_license, seller.license.id, metrc.user_key("pacificbloom"))
    other = make_seller(session)
    for principal in (other.owner, seller.p["sales"]):
        with pytest.raises(PermissionDenied):
            check(principal, seller.license.id)
    assert metrc.calls()["total"] == 0  # refused before METRC was asked


def test_no_database_lock_is_held_while_metrc_answers(engine, metrc, seller):
    call(engine, seller.owner, svc.connect_license, seller.license.id, metrc.user_key("pacificbloom"))
    metrc.fault(latency_ms=1500, path_prefix="/facilities")
    base = engine.pool.checkedout()  # the fixtures' own session
    out: list = []
    worker = threading.Thread(target=lambda: out.append(check(seller.owner, seller.license.id)))
    worker.start()
    time.sleep(0.6)  # the vendor call is in flight
    held = engine.pool.checkedout() - base  # the check holds no connection while METRC answers
    with Session(engine) as s:
        s.execute(text("SET SESSION innodb_lock_wait_timeout = 1"))
        locked = s.execute(
            text("SELECT status FROM integration_connections WHERE license_id = :l FOR UPDATE NOWAIT"),
            {"l": seller.license.id},
        ).all()
        s.rollback()
    worker.join(20)
    assert held == 0 and locked and out and out[0].ok
