"""MFA enrolment and recovery-code display tickets: bound to the browser session that asked, shown once,
and the recovery codes never in plain text in the ticket store (Redis in production)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from starlette.testclient import TestClient

from reup_app.api.routes import build_api
from reup_app.errors import NotAuthenticated
from reup_app.security import ticket_links, tickets
from reup_app.security.ratelimit import get_backend
from reup_app.services.identity import browser_sessions, mfa_settings
from reup_app.settings import get_settings
from tests.factories import make_entity, make_member

CODES = ["ab12-cd34-ef56", "gh78-ij90-kl12", "mn34-op56-qr78"]


@pytest.fixture
def client(engine):
    with TestClient(build_api(), base_url=get_settings().app_url) as c:
        yield c


def make_user(session):
    """A member of a business (a session cookie needs a subject the sign-in would accept)."""
    user, principal = make_member(session, make_entity(session, "retailer"))
    _ENTITY[user.id] = principal.entity_id
    return user


_ENTITY: dict[int, int] = {}


def _cookie_for(session, user, family_id: str | None = None) -> str:
    raw = browser_sessions.issue_cookie_token(
        session, user_id=user.id, entity_id=_ENTITY[user.id], token_version=user.token_version, family_id=family_id
    )
    session.commit()
    return raw


def _browser_session(session, user) -> tuple[str, str]:
    """(session cookie, binding) of a new browser session of `user`."""
    family_id, binding = ticket_links.new_browser_session()
    return _cookie_for(session, user, family_id), binding


def _ticket(url: str) -> str:
    return parse_qs(urlparse(url).query)["t"][0]


def test_recovery_codes_are_sealed_in_the_store_and_each_link_works_once(session, client):
    user = make_user(session)
    svg_url, txt_url = ticket_links.recovery_codes_urls(user.id, CODES)
    for url in (svg_url, txt_url):
        stored = get_backend().get(tickets.ticket_key(ticket_links.RECOVERY, _ticket(url)))
        assert stored and not any(code in stored for code in CODES)
        assert "ab12" not in stored
    text = client.get(txt_url)
    assert text.status_code == 200 and all(code in text.text for code in CODES)
    assert client.get(txt_url).status_code == 404  # shown once, then gone
    picture = client.get(svg_url)
    assert picture.status_code == 200 and all(code in picture.text for code in CODES)
    assert client.get(svg_url).status_code == 404


def test_another_users_browser_cannot_redeem_and_does_not_spoil_the_link(session, client):
    owner, stranger = make_user(session), make_user(session)
    stranger_cookie = _cookie_for(session, stranger)
    svg_url, _ = ticket_links.recovery_codes_urls(owner.id, CODES)
    client.cookies.set("reup_session", stranger_cookie, path="/api/auth")
    assert client.get(svg_url).status_code == 404
    client.cookies.clear()
    client.cookies.set("reup_session", _cookie_for(session, owner), path="/api/auth")
    assert client.get(svg_url).status_code == 200  # the owner still sees it once


def test_a_ticket_issued_from_a_signed_in_page_needs_that_browser_sessions_cookie(session, client):
    owner = make_user(session)
    cookie, binding = _browser_session(session, owner)
    _, txt_url = ticket_links.recovery_codes_urls(owner.id, CODES, session=binding)
    stored = get_backend().get(tickets.ticket_key(ticket_links.RECOVERY, _ticket(txt_url)))
    assert binding in stored and cookie not in stored  # the ticket names the session by a hash only
    assert client.get(txt_url).status_code == 404  # no session cookie: not this user's browser
    client.cookies.set("reup_session", cookie, path="/api/auth")
    assert client.get(txt_url).status_code == 200
    assert client.get(txt_url).status_code == 404


def test_the_same_users_other_browser_session_is_refused(session, client):
    owner = make_user(session)
    first_cookie, binding = _browser_session(session, owner)
    second_cookie, _ = _browser_session(session, owner)  # the same user signed in from a second browser
    svg_url, txt_url = ticket_links.recovery_codes_urls(owner.id, CODES, session=binding)
    setup_url = ticket_links.mfa_setup_url(owner.id, session=binding)
    client.cookies.set("reup_session", second_cookie, path="/api/auth")
    for url, purpose in ((svg_url, ticket_links.RECOVERY), (txt_url, ticket_links.RECOVERY)):
        assert client.get(url).status_code == 404
        assert tickets.peek(purpose, _ticket(url)) is not None  # refused, not consumed
    assert client.get(setup_url).status_code == 404
    assert tickets.peek(ticket_links.MFA_SETUP, _ticket(setup_url)) is not None
    client.cookies.clear()
    client.cookies.set("reup_session", first_cookie, path="/api/auth")
    assert client.get(txt_url).status_code == 200
    picture = client.get(svg_url)
    assert picture.status_code == 200 and all(code in picture.text for code in CODES)
    assert client.get(txt_url).status_code == 404 and client.get(svg_url).status_code == 404  # once


def test_a_binding_asked_for_but_unknown_is_refused_at_issue():
    with pytest.raises(NotAuthenticated):
        ticket_links.recovery_codes_urls(1, CODES, session="")
    with pytest.raises(NotAuthenticated):
        ticket_links.mfa_setup_url(1, session="")


def test_mfa_setup_picture_is_bound_and_shown_once(session, client):
    owner, stranger = make_user(session), make_user(session)
    _, binding = _browser_session(session, owner)
    url = ticket_links.mfa_setup_url(owner.id, session=binding)
    stored = get_backend().get(tickets.ticket_key(ticket_links.MFA_SETUP, _ticket(url)))
    assert stored
    client.cookies.set("reup_session", _cookie_for(session, stranger), path="/api/auth")
    assert client.get(url).status_code == 404
    assert tickets.peek(ticket_links.MFA_SETUP, _ticket(url)) is not None  # refused, not consumed


def test_a_sign_in_challenge_ticket_needs_the_matching_challenge_cookie(session, client):
    owner, principal = make_member(session, make_entity(session, "retailer"))
    mfa_settings.begin_mfa_enrolment(session, principal)
    _ENTITY[owner.id] = principal.entity_id
    session.commit()
    grant, nonce_hash = ticket_links.challenge_grant()
    nonce = tickets.peek(ticket_links.CHALLENGE_GRANT, grant)["nonce"]
    url = ticket_links.mfa_setup_url(owner.id, challenge=nonce_hash)
    stored = get_backend().get(tickets.ticket_key(ticket_links.MFA_SETUP, _ticket(url)))
    assert nonce not in stored and nonce_hash in stored  # the ticket holds the hash only
    client.cookies.set("reup_session", _cookie_for(session, owner), path="/api/auth")
    assert client.get(url).status_code == 404  # the owner's session cookie alone is not the sign-in browser
    client.cookies.set("reup_challenge", nonce + "x", path="/api/auth")
    assert client.get(url).status_code == 404
    assert tickets.peek(ticket_links.MFA_SETUP, _ticket(url)) is not None  # refused, not consumed
    client.cookies.clear()
    client.cookies.set("reup_challenge", nonce, path="/api/auth")
    picture = client.get(url)  # the sign-in browser's cookie
    assert picture.status_code == 200 and "Key: " in picture.text
    assert client.get(url).status_code == 404  # shown once
