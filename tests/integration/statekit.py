"""Driving Reflex page states directly in tests: a state tree per "browser tab", signed in through
AuthState.login with a real password, and handler calls run to completion."""

from __future__ import annotations

import asyncio
import inspect
import json
from typing import Any

import reflex as rx
from reflex.istate.data import RouterData

from reup_app.models import User
from reup_app.security.principal import Principal
from reup_app.state.auth import AuthState
from tests.factories import DEFAULT_PASSWORD


class Tab:
    """One browser tab's state tree."""

    def __init__(self) -> None:
        self.root = rx.State()

    def state(self, cls):
        return self.root.get_substate(cls.get_full_name().split(".")[1:])

    def at(self, path: str, query: dict[str, str] | None = None) -> Tab:
        """Pretend the tab is showing `path` (what on_load handlers read)."""
        qs = "&".join(f"{k}={v}" for k, v in (query or {}).items())
        self.root.router = RouterData.from_router_data(
            {
                "pathname": path,
                "asPath": path + (f"?{qs}" if qs else ""),
                "query": query or {},
                "headers": {"origin": "http://localhost:3000"},
            }
        )
        return self

    def sign_in(self, email: str, password: str = DEFAULT_PASSWORD) -> Tab:
        auth = self.state(AuthState)
        run(auth.login({"email": email, "password": password}))
        assert auth.signed_in, auth.login_error
        return self


def run(result: Any) -> list[Any]:
    """Run a handler's coroutine or async generator to the end; returns what it returned/yielded."""

    async def drive():
        if inspect.isasyncgen(result):
            return [item async for item in result]
        if inspect.iscoroutine(result):
            return [await result]
        return [result]

    return [x for x in asyncio.run(drive()) if x is not None]


def event_arg(events: list[Any], name: str) -> str | None:
    """The literal value of argument `name` (e.g. "path" of rx.redirect, "url" of rx.download) in the
    first returned/yielded event that has it."""
    for ev in events:
        for spec in ev if isinstance(ev, (list, tuple)) else [ev]:
            for key, value in getattr(spec, "args", ()):
                if str(key) == name:
                    return getattr(value, "_var_value", None)
    return None


def email_of(session, principal: Principal) -> str:
    return session.get(User, principal.user_id).email


def frontend_json(state) -> str:
    return json.dumps(state.dict(), default=str)
