"""Sign-in gate for pages that need a signed-in member (used from on_load handlers)."""

from __future__ import annotations

import reflex as rx

from reup_app.security.principal import Principal
from reup_app.state.base import AppState


async def signed_in_principal(state: AppState) -> Principal | None:
    """The re-validated principal, or None when nobody (or nobody any more) is signed in."""
    principal = await state._principal()
    return principal if principal.is_authenticated else None


def to_login():
    return rx.redirect("/login")
