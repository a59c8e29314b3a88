"""The browser session: one-time tickets, the HttpOnly cookie (grant, restore with rotation and
reuse detection, sign-out), secret display routes, forced MFA enrolment at sign-in, and the
heartbeat that ends other tabs' sessions. On MySQL, through the real Starlette routes."""

from __future__ import annotations

import asyncio
import json
import re
import time

import pyotp
import pytest
from starlette.testclient import TestClient

from reup_app.api.auth_routes import CHALLENGE_COOKIE, COOKIE_NAME, GRANT_PURPOSE
from reup_app.api.routes import build_api
from reup_app.security import tickets
from reup_app.security.ticket_links import RECOVERY, recovery_codes_urls
from reup_app.settings import get_settings
from reup_app.state.auth import AuthState
from reup_app.state.settings import SettingsState
from tests.factories import DEFAULT_PASSWORD, make_entity, make_member, make_user
from tests.integration.statekit import Tab, frontend_json, run

HEADERS = {"X-ReUp-Auth": "1"}


@pytest.fixture
def client(engine):
    with TestClient(build_api(), base_url=get_settings().app_url) as c:
        yield c


def _script_of(events) -> str:
    """The JavaScript of the call_script event a handler returned (its grant or restore code)."""
    events = events if isinstance(events, list) else [events]
    return " ".join(str(e.args) for e in events if e is not None)


def _grant_from(events) -> str:
    return re.search(r"grant: '([A-Za-z0-9_-]{20,})'", _script_of(events)).group(1)


def _frontend_json(state) -> str:
    return json.dumps(state.dict(), default=str)


def _signed_in_tab(user_email: str) -> tuple[AuthState, object]:
    tab = AuthState()
    events = asyncio.run(tab.login({"email": user_email, "password": DEFAULT_PASSWORD}))
    assert tab.signed_in, tab.login_error
    return tab, events


def test_tickets_work_once_for_their_purpose_only():
    code = tickets.issue("purpose-a", {"n": 1})
    assert tickets.take("purpose-b", code) is None
    assert tickets.peek("purpose-a", code) == {"n": 1}
    assert tickets.take("purpose-a", code) == {"n": 1}
    assert tickets.take("purpose-a", code) is None
    for bad in (None, "", 5, "x" * 500, ["code"]):
        assert tickets.take("purpose-a", bad) is None
    short = tickets.issue("purpose-a", {"n": 2}, ttl_seconds=0.05)
    time.sleep(0.2)
    assert tickets.take("purpose-a", short) is None


def test_cookie_grant_restore_rotation_reuse_and_sign_out(session, client):
    entity = make_entity(session, kind="retailer")
    user, _ = make_member(session, entity, role="buyer")
    _tab, events = _signed_in_tab(user.email)
    grant = _grant_from(events)

    # Cross-site attempts are refused before anything else.
    assert client.post("/api/auth/session", json={"grant": grant}).status_code == 403
    assert (
        client.post(
            "/api/auth/session", json={"grant": grant}, headers={**HEADERS, "Origin": "https://evil.example"}
        ).status_code
        == 403
    )

    r = client.post("/api/auth/session", json={"grant": grant}, headers=HEADERS)
    assert r.status_code == 200
    set_cookie = r.headers["set-cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=strict" in set_cookie and "Path=/api/auth" in set_cookie
    first_cookie = client.cookies.get(COOKIE_NAME)
    assert first_cookie
    # A grant is single use.
    assert client.post("/api/auth/session", json={"grant": grant}, headers=HEADERS).status_code == 400

    # A new tab: the cookie rotates and yields a one-time restore code for that tab's own tokens.
    r = client.post("/api/auth/restore", headers=HEADERS)
    assert r.status_code == 200
    code = r.json()["code"]
    second_cookie = client.cookies.get(COOKIE_NAME)
    assert second_cookie and second_cookie != first_cookie
    tab2 = AuthState()
    asyncio.run(tab2.finish_restore(code))
    assert tab2.signed_in and tab2.display_name == user.email
    assert asyncio.run(tab2._principal()).user_id == user.id
    assert first_cookie not in _frontend_json(tab2) and second_cookie not in _frontend_json(tab2)
    tab3 = AuthState()
    asyncio.run(tab3.finish_restore(code))  # the restore code was consumed
    assert not tab3.signed_in

    # Presenting the already-rotated cookie again is theft: the whole family is revoked.
    client.cookies.set(COOKIE_NAME, first_cookie, path="/api/auth")
    assert client.post("/api/auth/restore", headers=HEADERS).status_code == 401
    client.cookies.set(COOKIE_NAME, second_cookie, path="/api/auth")
    assert client.post("/api/auth/restore", headers=HEADERS).status_code == 401


def test_cookie_sign_out_revokes_the_cookie_session(session, client):
    entity = make_entity(session, kind="retailer")
    user, _ = make_member(session, entity, role="buyer")
    _tab, events = _signed_in_tab(user.email)
    assert client.post("/api/auth/session", json={"grant": _grant_from(events)}, headers=HEADERS).status_code == 200
    cookie = client.cookies.get(COOKIE_NAME)
    r = client.post("/api/auth/logout", headers=HEADERS)
    assert r.status_code == 200 and COOKIE_NAME in r.headers["set-cookie"]
    client.cookies.set(COOKIE_NAME, cookie, path="/api/auth")
    assert client.post("/api/auth/restore", headers=HEADERS).status_code == 401


def test_protected_page_restore_failure_goes_to_sign_in():
    tab = AuthState()
    result = asyncio.run(tab.finish_restore_required("not-a-code"))
    assert not tab.signed_in
    assert "/login" in str(result.args)


def _stranger_client():
    return TestClient(build_api(), base_url=get_settings().app_url)


def test_forced_enrolment_at_sign_in_never_puts_the_key_or_codes_in_state(session, client):
    admin = make_user(session, is_platform_admin=True)
    tab = AuthState()
    events = asyncio.run(tab.login({"email": admin.email, "password": DEFAULT_PASSWORD}))
    assert tab.step == "enrol" and not tab.signed_in
    assert tab.enrol_image_url == ""  # no ticket before this browser holds the challenge cookie
    assert "/api/auth/challenge" in _script_of(events)
    r = client.post("/api/auth/challenge", json={"grant": _grant_from(events)}, headers=HEADERS)
    assert r.status_code == 200
    set_cookie = r.headers["set-cookie"]
    assert CHALLENGE_COOKIE in set_cookie and "HttpOnly" in set_cookie and "SameSite=strict" in set_cookie
    assert "Path=/api/auth" in set_cookie and "Max-Age=600" in set_cookie
    nonce = client.cookies.get(CHALLENGE_COOKIE)
    assert nonce and nonce not in _frontend_json(tab)
    tab.challenge_set("200")
    assert tab.enrol_image_url.startswith("/api/auth/reveal/mfa-setup.svg?t=")

    picture = client.get(tab.enrol_image_url)
    assert picture.status_code == 200 and picture.headers["content-type"].startswith("image/svg+xml")
    assert picture.headers["cache-control"] == "no-store"
    key = re.search(r"Key: ([A-Z2-7 ]+)<", picture.text).group(1).replace(" ", "")
    assert key not in _frontend_json(tab)

    asyncio.run(tab.confirm_enrolment({"code": "000000" if pyotp.TOTP(key).now() != "000000" else "111111"}))
    assert not tab.signed_in and "incorrect" in tab.login_error

    events = asyncio.run(tab.confirm_enrolment({"code": pyotp.TOTP(key).now()}))
    assert tab.signed_in and tab.step == "recovery_codes"
    # No recovery-code ticket before the session cookie is set; the codes wait sealed, backend-only.
    assert tab.recovery_image_url == tab.recovery_download_url == ""
    assert tab._codes_sealed  # sealed (checked below: no code appears in it)
    # The enrolment picture stops working once MFA is on.
    assert client.get(picture.url.path + "?" + picture.url.query.decode()).status_code == 404
    r = client.post("/api/auth/session", json={"grant": _grant_from(events)}, headers=HEADERS)
    assert r.status_code == 200 and f'{CHALLENGE_COOKIE}=""' in r.headers["set-cookie"]  # sign-in done
    assert client.cookies.get(CHALLENGE_COOKIE) is None
    tab.cookie_set("200")
    assert tab._codes_sealed == "" and tab.recovery_download_url.startswith("/api/auth/reveal/recovery-codes.txt?t=")
    codes = client.get(tab.recovery_download_url)
    assert codes.status_code == 200 and "attachment" in codes.headers["content-disposition"]
    recovery = re.findall(r"^[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}$", codes.text, flags=re.M)
    assert len(recovery) == 10
    assert client.get(tab.recovery_download_url).status_code == 404  # once
    sent = _frontend_json(tab)
    for secret in (key, *recovery, tab._access_token, tab._refresh_token, admin.password_hash):
        assert secret not in sent
        assert secret not in tab._codes_sealed


def test_forced_enrolment_picture_is_bound_to_the_signing_in_browser(session, client):
    admin = make_user(session, is_platform_admin=True)
    tab = AuthState()
    events = asyncio.run(tab.login({"email": admin.email, "password": DEFAULT_PASSWORD}))
    grant = _grant_from(events)
    assert client.post("/api/auth/challenge", json={"grant": grant}).status_code == 403  # no CSRF header
    assert client.post("/api/auth/challenge", json={"grant": grant}, headers=HEADERS).status_code == 200
    assert client.post("/api/auth/challenge", json={"grant": grant}, headers=HEADERS).status_code == 400  # once
    tab.challenge_set("200")
    url = tab.enrol_image_url
    with _stranger_client() as other:
        assert other.get(url).status_code == 404  # no challenge cookie
        other.cookies.set(CHALLENGE_COOKIE, "guessed-nonce", path="/api/auth")
        assert other.get(url).status_code == 404  # wrong challenge cookie
        # another sign-in attempt's challenge cookie does not fit either
        other_tab = AuthState()
        other_events = asyncio.run(other_tab.login({"email": admin.email, "password": DEFAULT_PASSWORD}))
        other.cookies.clear()
        r = other.post("/api/auth/challenge", json={"grant": _grant_from(other_events)}, headers=HEADERS)
        assert r.status_code == 200 and other.get(url).status_code == 404
    assert client.get(url).status_code == 200  # refusals did not spoil it for the right browser
    assert client.get(url).status_code == 404  # shown once


def test_challenge_callback_without_the_cookie_shows_no_picture(session):
    admin = make_user(session, is_platform_admin=True)
    tab = AuthState()
    asyncio.run(tab.login({"email": admin.email, "password": DEFAULT_PASSWORD}))
    tab.challenge_set("failed")
    assert tab.enrol_image_url == "" and "could not start" in tab.login_error
    signed_out = AuthState()
    signed_out.challenge_set("200")  # no sign-in attempt: nothing to show
    assert signed_out.enrol_image_url == ""


def test_forced_enrolment_recovery_codes_need_the_new_session_cookie(session, client):
    admin = make_user(session, is_platform_admin=True)
    tab = AuthState()
    events = asyncio.run(tab.login({"email": admin.email, "password": DEFAULT_PASSWORD}))
    client.post("/api/auth/challenge", json={"grant": _grant_from(events)}, headers=HEADERS)
    tab.challenge_set("200")
    key = re.search(r"Key: ([A-Z2-7 ]+)<", client.get(tab.enrol_image_url).text).group(1).replace(" ", "")
    events = asyncio.run(tab.confirm_enrolment({"code": pyotp.TOTP(key).now()}))
    assert client.post("/api/auth/session", json={"grant": _grant_from(events)}, headers=HEADERS).status_code == 200
    tab.cookie_set("200")
    svg_url = tab.recovery_image_url
    with _stranger_client() as other:
        assert other.get(svg_url).status_code == 404  # no session cookie
        other.cookies.set(CHALLENGE_COOKIE, "x", path="/api/auth")
        assert other.get(svg_url).status_code == 404
        stranger, _ = make_member(session, make_entity(session, kind="retailer"), role="buyer")
        _t, ev = _signed_in_tab(stranger.email)
        assert other.post("/api/auth/session", json={"grant": _grant_from(ev)}, headers=HEADERS).status_code == 200
        assert other.get(svg_url).status_code == 404  # a stranger's session cookie
    picture = client.get(svg_url)
    assert picture.status_code == 200 and len(re.findall(r">[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}<", picture.text)) == 10
    assert client.get(svg_url).status_code == 404


def test_display_tickets_are_bound_to_the_browser_session_not_just_the_user(session, client):
    entity = make_entity(session, kind="retailer")
    user, _ = make_member(session, entity, role="buyer")
    tab_a, events = _signed_in_tab(user.email)
    assert client.post("/api/auth/session", json={"grant": _grant_from(events)}, headers=HEADERS).status_code == 200
    with _stranger_client() as second:  # the same user signs in from a second browser
        tab_b, events_b = _signed_in_tab(user.email)
        r = second.post("/api/auth/session", json={"grant": _grant_from(events_b)}, headers=HEADERS)
        assert r.status_code == 200
        # a new tab of the first browser restores from its cookie and joins that browser session
        code = client.post("/api/auth/restore", headers=HEADERS).json()["code"]
        tab_a2 = AuthState()
        asyncio.run(tab_a2.finish_restore(code))
        assert tab_a2.signed_in and tab_a2._browser_session == tab_a._browser_session != tab_b._browser_session
        assert tab_a._browser_session not in _frontend_json(tab_a)  # backend-only
        svg_url, txt_url = recovery_codes_urls(user.id, ["ab12-cd34-ef56"], session=tab_a2._browser_session)
        assert second.get(svg_url).status_code == 404  # same user, other browser session
        assert second.get(txt_url).status_code == 404
        assert tickets.peek(RECOVERY, svg_url.split("t=")[1]) is not None  # refused, not consumed
    assert client.get(svg_url).status_code == 200 and client.get(txt_url).status_code == 200
    assert client.get(svg_url).status_code == 404 and client.get(txt_url).status_code == 404  # once


def test_settings_page_tickets_need_this_browser_session(session, client):
    entity = make_entity(session, kind="retailer")
    user, _ = make_member(session, entity, role="buyer")
    tab = Tab()
    auth = tab.state(AuthState)
    events = run(auth.login({"email": user.email, "password": DEFAULT_PASSWORD}))
    assert client.post("/api/auth/session", json={"grant": _grant_from(events)}, headers=HEADERS).status_code == 200
    page = tab.at("/settings/security").state(SettingsState)
    run(page.start_mfa())
    assert page.enrol_image_url.startswith("/api/auth/reveal/mfa-setup.svg?t=") and not page.error
    with _stranger_client() as second:  # the same user, signed in from a second browser
        _t, events_b = _signed_in_tab(user.email)
        r = second.post("/api/auth/session", json={"grant": _grant_from(events_b)}, headers=HEADERS)
        assert r.status_code == 200
        assert second.get(page.enrol_image_url).status_code == 404
        picture = client.get(page.enrol_image_url)  # not spoiled by the refusal
        assert picture.status_code == 200 and client.get(page.enrol_image_url).status_code == 404
        key = re.search(r"Key: ([A-Z2-7 ]+)<", picture.text).group(1).replace(" ", "")
        assert key not in frontend_json(page)

        binding, auth._browser_session = auth._browser_session, ""  # a tab that does not know its session
        run(page.confirm_mfa({"code": pyotp.TOTP(key).now()}))
        assert "could not be confirmed" in page.error and page.recovery_image_url == ""
        session.refresh(user)
        assert not user.mfa_enabled  # refused before any secret was made
        auth._browser_session = binding
        run(page.confirm_mfa({"code": pyotp.TOTP(key).now()}))
        assert page.recovery_download_url.startswith("/api/auth/reveal/recovery-codes.txt?t=") and not page.error
        assert second.get(page.recovery_download_url).status_code == 404
    codes = client.get(page.recovery_download_url)
    assert (
        codes.status_code == 200 and len(re.findall(r"^[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}$", codes.text, re.M)) == 10
    )
    assert client.get(page.recovery_download_url).status_code == 404


def test_codes_not_shown_when_the_session_cookie_failed(session, client):
    admin = make_user(session, is_platform_admin=True)
    tab = AuthState()
    events = asyncio.run(tab.login({"email": admin.email, "password": DEFAULT_PASSWORD}))
    client.post("/api/auth/challenge", json={"grant": _grant_from(events)}, headers=HEADERS)
    tab.challenge_set("200")
    key = re.search(r"Key: ([A-Z2-7 ]+)<", client.get(tab.enrol_image_url).text).group(1).replace(" ", "")
    asyncio.run(tab.confirm_enrolment({"code": pyotp.TOTP(key).now()}))
    tab.cookie_set("failed")
    assert tab.recovery_image_url == "" and tab._codes_sealed == "" and "Settings" in tab.login_error
    assert tab.signed_in


def test_secret_display_refuses_unknown_tickets(client):
    for path in (
        "/api/auth/reveal/mfa-setup.svg?t=nope",
        "/api/auth/reveal/recovery-codes.svg?t=nope",
        "/api/auth/reveal/recovery-codes.txt",
        "/api/auth/reveal/mfa-setup.svg?t=" + "x" * 400,
    ):
        assert client.get(path).status_code == 404


def test_sign_out_in_one_tab_ends_the_others_at_their_next_heartbeat(session):
    entity = make_entity(session, kind="retailer")
    user, _ = make_member(session, entity, role="buyer")
    tab1, _ = _signed_in_tab(user.email)
    tab2, _ = _signed_in_tab(user.email)
    asyncio.run(tab2.check_session("tick"))
    assert tab2.signed_in
    asyncio.run(tab1.logout())
    result = asyncio.run(tab2.check_session("tick"))
    assert not tab2.signed_in and tab2._access_token == "" and "/login" in _script_of(result)


def test_login_next_parameter_only_allows_local_paths():
    from reup_app.state.auth import safe_next

    assert safe_next("/orders/R-1") == "/orders/R-1"
    for bad in ("https://evil.example", "//evil.example/x", "/\\evil", None, 5, "/login?next=/x", "x"):
        assert safe_next(bad) == ""


def test_grant_for_a_disabled_user_is_refused(session, client):
    entity = make_entity(session, kind="retailer")
    user, _ = make_member(session, entity, role="buyer")
    grant = tickets.issue(GRANT_PURPOSE, {"user_id": user.id, "entity_id": entity.id, "tv": user.token_version})
    user.is_active = False
    session.add(user)
    session.commit()
    assert client.post("/api/auth/session", json={"grant": grant}, headers=HEADERS).status_code == 401
