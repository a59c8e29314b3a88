"""Loads shared by the tabs one pushed event reaches in a worker: the first tab (or the hub's
`_prepare_domain_event`) runs the query, the others wait for its result, kept a few seconds.

Only a cache: every tab re-validates its principal and takes only what it may see."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

MEMO_SECONDS = 5.0
MEMO: dict[tuple, asyncio.Future] = {}
LOAD_ALONE = object()  # what a promised result turns into when the batch that promised it failed


def promise(key: tuple) -> asyncio.Future:
    """A result for `key` that is on its way: `shared` callers wait for it (for a few seconds)."""
    loop = asyncio.get_running_loop()
    fut = MEMO[key] = loop.create_future()
    loop.call_later(MEMO_SECONDS, MEMO.pop, key, None)
    return fut


async def shared(key: tuple, load: Callable[[], Awaitable[Any]]) -> Any:
    """Run `load` once per key in this worker and share the result for a few seconds: one event
    reaching ten tabs costs one query, not ten. A result promised by a batch that then failed is
    loaded here instead."""
    fut = MEMO.get(key)
    if fut is not None:
        value = await asyncio.shield(fut)
        if value is not LOAD_ALONE:
            return value
        fut = MEMO.get(key)
        if fut is not None and fut.done() and fut.result() is LOAD_ALONE:
            fut = None
    if fut is None:
        fut = promise(key)
        try:
            fut.set_result(await load())
        except Exception as err:
            fut.set_exception(err)
            MEMO.pop(key, None)
    return await asyncio.shield(fut)
