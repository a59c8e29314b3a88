"""Type-checks the arguments of every public event handler before it runs.

Reflex converts some event arguments by their annotations but never rejects a mismatch, so a
tampered browser can send a dict where a handler expects a string. `AppState.__init_subclass__`
wraps each public handler of every page state with `guard`: when an argument does not match its
annotation (str, int, float, bool, dict, list, or Optional/unions of those; other annotations are
not checked), the call is refused, logged, and answered with an error toast; the handler never runs.
"""

from __future__ import annotations

import functools
import inspect
import logging
import types
import typing
from typing import Any

log = logging.getLogger(__name__)

_SIMPLE = (str, int, float, bool, dict, list)
MALFORMED = "That request was malformed and was ignored."


def _accepts(hint: Any, value: Any) -> bool:
    if hint is Any or hint is inspect.Parameter.empty:
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_accepts(h, value) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    base = origin or hint
    if base not in _SIMPLE:
        return True
    if base is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if base is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, base)


def _mismatch(fn, hints: dict[str, Any], args: tuple, kwargs: dict) -> str | None:
    bound = inspect.signature(fn).bind_partial(None, *args, **kwargs).arguments
    for name, value in list(bound.items())[1:]:
        if name in hints and not _accepts(hints[name], value):
            return name
    return None


def guard(fn):
    """Wrap a handler function (sync, async or async generator) with the argument check."""
    hints_cache: list[dict[str, Any]] = []

    def check(args, kwargs) -> str | None:
        if not hints_cache:
            try:
                hints_cache.append(typing.get_type_hints(fn))
            except Exception:  # unresolvable annotations: do not check
                hints_cache.append({})
        try:
            return _mismatch(fn, hints_cache[0], args, kwargs)
        except TypeError:
            return "(arguments)"

    def refuse(self, bad: str):
        import reflex as rx

        log.warning("refused %s.%s: argument %s has the wrong type", type(self).__name__, fn.__name__, bad)
        return rx.toast.error(MALFORMED)

    if inspect.isasyncgenfunction(fn):

        @functools.wraps(fn)
        async def agen_wrapper(self, *args, **kwargs):
            if (bad := check(args, kwargs)) is not None:
                yield refuse(self, bad)
                return
            async for item in fn(self, *args, **kwargs):
                yield item

        return agen_wrapper
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(self, *args, **kwargs):
            if (bad := check(args, kwargs)) is not None:
                return refuse(self, bad)
            return await fn(self, *args, **kwargs)

        return async_wrapper

    @functools.wraps(fn)
    def sync_wrapper(self, *args, **kwargs):
        if (bad := check(args, kwargs)) is not None:
            return refuse(self, bad)
        return fn(self, *args, **kwargs)

    return sync_wrapper


def guard_class_handlers(cls) -> None:
    """Wrap the public handler functions defined directly on `cls` (before Reflex registers them)."""
    for name, value in list(vars(cls).items()):
        if name.startswith("_") or not inspect.isfunction(value) or getattr(value, "__reup_guarded__", False):
            continue
        if len(inspect.signature(value).parameters) <= 1:
            continue  # no arguments to check
        wrapped = guard(value)
        wrapped.__reup_guarded__ = True
        setattr(cls, name, wrapped)
