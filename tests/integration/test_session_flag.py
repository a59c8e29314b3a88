"""Signed-out page loads make no restore request: the session cookie (HttpOnly) comes with a
presence flag page scripts can read; the restore script asks only when the flag is there. The
loopback aliases of a local app URL are accepted as the app's own origin."""

from __future__ import annotations

import asyncio

import pytest
from starlette.testclient import TestClient

from reup_app.api.auth_routes import COOKIE_NAME
from reup_app.api.routes import build_api
from reup_app.security.ticket_links import SESSION_FLAG_COOKIE
from reup_app.settings import get_settings
from reup_app.state.auth import RESTORE_SCRIPT, AuthState
from tests.factories import DEFAULT_PASSWORD, make_entity, make_member
from tests.integration.test_browser_session import HEADERS, _grant_from

pytestmark = pytest.mark.mysql


@pytest.fixture
def client(engine):
    with TestClient(build_api(), base_url=get_settings().app_url) as c:
        yield c


def _sign_in(session, client, origin: str | None = None):
    entity = make_entity(session, kind="retailer")
    user, _ = make_member(session, entity, role="buyer")
    tab = AuthState()
    events = asyncio.run(tab.login({"email": user.email, "password": DEFAULT_PASSWORD}))
    headers = {**HEADERS, **({"Origin": origin} if origin else {})}
    return client.post("/api/auth/session", json={"grant": _grant_from(events)}, headers=headers)


def test_the_session_cookie_comes_and_goes_with_a_readable_presence_flag(session, client):
    r = _sign_in(session, client)
    assert r.status_code == 200
    cookies = r.headers.get_list("set-cookie")
    flag = next(c for c in cookies if c.startswith(f"{SESSION_FLAG_COOKIE}=1"))
    assert "HttpOnly" not in flag and "Path=/" in flag and "SameSite=strict" in flag
    assert any(c.startswith(f"{COOKIE_NAME}=") and "HttpOnly" in c for c in cookies)
    r = client.post("/api/auth/logout", headers=HEADERS)
    cleared = next(c for c in r.headers.get_list("set-cookie") if c.startswith(f"{SESSION_FLAG_COOKIE}="))
    assert "Max-Age=0" in cleared


def test_restore_script_asks_the_server_only_when_the_flag_is_set():
    check = RESTORE_SCRIPT.index(f"startsWith('{SESSION_FLAG_COOKIE}=')")
    assert check < RESTORE_SCRIPT.index("fetch('/api/auth/restore'")


def test_a_loopback_alias_of_a_local_app_url_is_the_same_origin(session, client, monkeypatch):
    url = get_settings().app_url
    if "localhost" not in url and "127.0.0.1" not in url:
        pytest.skip("the test settings use a non-loopback app URL")
    alias = url.replace("localhost", "127.0.0.1") if "localhost" in url else url.replace("127.0.0.1", "localhost")
    assert _sign_in(session, client, origin=alias).status_code == 200
    assert _sign_in(session, client, origin="http://evil.example").status_code == 403
