"""Running a service from a page state and turning a failure into the message to show."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from reup_app.errors import ServiceError
from reup_app.state.base import AppState, error_message

log = logging.getLogger(__name__)


async def attempt(state: AppState, fn: Callable[..., Any], *args: Any, **kw: Any) -> tuple[Any, str]:
    """`(result, "")` on success, `(None, message)` on failure: service errors verbatim, anything
    else logged and shown generically (see `error_message`)."""
    try:
        return await state._call(fn, *args, **kw), ""
    except Exception as err:
        if not isinstance(err, ServiceError):
            log.exception("%s failed", getattr(fn, "__name__", fn))
        return None, error_message(err)
