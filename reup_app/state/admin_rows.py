"""What the platform admin's list pages (e-mails, integrations, jobs) share: the gated load, and a
row's Retry. Plain functions over the page state (no shared state class: Reflex would share its vars)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reup_app.errors import ServiceError
from reup_app.state.base import error_message
from reup_app.state.inputs import parse_id


async def admin_load(page: Any) -> Any:
    """The page's on_load: the platform-admin gate, messages cleared, the rows reloaded (`page._reload`)."""
    if (denied := await page._gate(platform_admin=True)) is not None:
        return denied
    page.error = page.notice = ""
    await page._reload()
    return None


async def retry_row(page: Any, fn: Callable[..., Any], raw_id: object, unknown: str, done: str | Callable[[Any], str]):
    """A row's Retry: the id the page sent parsed, `fn(id)` run by the service, the outcome in error / notice
    (`done` may word it from the service's answer), the rows reloaded."""
    ident = parse_id(raw_id)
    if ident is None:
        page.error, page.notice = unknown, ""
        return
    try:
        result = await page._call(fn, ident)
    except ServiceError as err:
        page.error, page.notice = error_message(err), ""
        return
    page.error, page.notice = "", done(result) if callable(done) else done
    await page._reload()
