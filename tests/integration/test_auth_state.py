"""AuthState handlers on MySQL: sign-in, refusal, sign-out, and no secret in browser-bound vars."""

from __future__ import annotations

import asyncio
import json

from reup_app.state.auth import AuthState
from tests.factories import DEFAULT_PASSWORD, make_entity, make_member


def _frontend_json(state) -> str:
    """Everything of this state that Reflex would send to the browser."""
    return json.dumps(state.dict(), default=str)


def test_sign_in_keeps_tokens_out_of_browser_state_and_sign_out_ends_session(session):
    retailer = make_entity(session, kind="retailer")
    user, _ = make_member(session, retailer, role="buyer")
    state = AuthState()

    asyncio.run(state.login({"email": user.email, "password": DEFAULT_PASSWORD}))

    assert state.signed_in and state.display_name == user.email and state.role == "buyer"
    assert state._access_token and state._refresh_token
    sent = _frontend_json(state)
    for secret in (state._access_token, state._refresh_token, user.password_hash):
        assert secret not in sent
    principal = asyncio.run(state._principal())
    assert principal.user_id == user.id and principal.entity_id == retailer.id

    access = state._access_token
    asyncio.run(state.logout())
    assert not state.signed_in and state._access_token == ""
    # The signed-out access token is refused even if replayed into a state.
    state._access_token = access
    assert not asyncio.run(state._principal()).is_authenticated


def test_wrong_password_and_unknown_user_get_the_same_message(session):
    retailer = make_entity(session, kind="retailer")
    user, _ = make_member(session, retailer, role="buyer")
    s1, s2 = AuthState(), AuthState()
    asyncio.run(s1.login({"email": user.email, "password": "Wrong-Password-123"}))
    asyncio.run(s2.login({"email": "nobody-" + user.email, "password": "Wrong-Password-123"}))
    assert s1.login_error == s2.login_error == "Email or password is incorrect."
    assert not s1.signed_in and s1._access_token == ""


def test_login_handler_rejects_malformed_arguments(session):
    from reup_app.state.arg_guard import MALFORMED

    state = AuthState()
    for bad in (None, "x", 5):  # not a form at all: refused before the handler runs
        assert MALFORMED in str(asyncio.run(state.login(bad)))
        assert not state.signed_in
    for bad in ({"email": 5, "password": []}, {"email": "", "password": ""}, {}):
        asyncio.run(state.login(bad))
        assert state.login_error == "Enter your email and password."
        assert not state.signed_in
