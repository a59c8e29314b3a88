"""Every public event handler survives any payload: the argument guard.

A browser (or a fuzzer on the WebSocket) can call any public handler with any arguments. Reflex
converts some arguments by their annotations but never rejects a mismatch. `AppState.__init_subclass__`
wraps each public handler of every page state with `guard`, which, before the handler runs:

- refuses a call whose arguments do not bind to the signature (missing required ones, unknown
  keyword arguments, too many positional ones);
- refuses an argument that does not match its annotation (str, int, float, bool, dict, list,
  Optional/unions of those; `list[rx.UploadFile]` must hold file-like objects; other annotations are
  not checked), `None` included;
- refuses malformed form data (a `__reflex_form_data__` that is not a list of name/value pairs):
  Reflex's own payload preparation would raise before any handler runs, so `install_payload_patch`
  makes it hand the handler a `MALFORMED_FORM` marker instead, which the guard refuses.

and, while it runs, turns an escaping `ServiceError` (PermissionDenied, NotFound, ValidationError ...)
into an error toast with its message, and any other exception into a generic toast with the
traceback logged once at ERROR by `reup_app.state.arg_guard` (a bug, never Reflex's generic "An error
occurred"). A refused call never runs the handler, so it changes nothing.
"""

from __future__ import annotations

import functools
import inspect
import logging
import types
import typing
from typing import Any

from reup_app.errors import PermissionDenied, ServiceError
from reup_app.security.events import begin_request

log = logging.getLogger(__name__)

_SIMPLE = (str, int, float, bool, dict, list)
MALFORMED = "That request was malformed and was ignored."
FAILED = "Something went wrong on our side. Please try again."
UNHANDLED = "handler raised"  # the ERROR log line of a bug caught by the guard (tests look for it)


class _MalformedForm:
    """Stands in for form data that could not be read (see `install_payload_patch`)."""

    def __repr__(self) -> str:
        return "<malformed form data>"


MALFORMED_FORM = _MalformedForm()


def _is_upload_hint(hint: Any) -> bool:
    return getattr(hint, "__name__", "") == "UploadFile"


def _accepts(hint: Any, value: Any) -> bool:
    if value is MALFORMED_FORM:
        return False
    if hint is Any or hint is inspect.Parameter.empty:
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_accepts(h, value) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if _is_upload_hint(hint):
        return callable(getattr(value, "read", None)) and not isinstance(value, (str, bytes, dict))
    base = origin or hint
    if base not in _SIMPLE:
        return True
    if base is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if base is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if base is list and isinstance(value, list):
        args = typing.get_args(hint)
        return not args or all(_accepts(args[0], v) for v in value)
    return isinstance(value, base)


def _mismatch(sig: inspect.Signature, hints: dict[str, Any], args: tuple, kwargs: dict) -> str | None:
    """The name of the first bad argument, "(arguments)" when they do not bind, else None."""
    try:
        bound = sig.bind(None, *args, **kwargs).arguments
    except TypeError:
        return "(arguments)"
    for name, value in list(bound.items())[1:]:
        if value is MALFORMED_FORM:
            return name
        param = sig.parameters[name]
        if param.kind is param.VAR_KEYWORD:
            if any(v is MALFORMED_FORM for v in value.values()):
                return name
            continue
        if param.kind is param.VAR_POSITIONAL:
            if any(v is MALFORMED_FORM for v in value):
                return name
            continue
        if name in hints and not _accepts(hints[name], value):
            return name
    return None


def _toast(message: str):
    import reflex as rx

    return rx.toast.error(message)


def _failed(self, fn, err: Exception):
    """The toast for an exception that escaped a handler (and its log line)."""
    where = f"{type(self).__name__}.{fn.__name__}"
    if isinstance(err, PermissionDenied):  # `authorize` logged the security event
        log.info("%s: permission denied", where)
        return _toast(str(err))
    if isinstance(err, ServiceError):
        log.info("%s: %s: %s", where, type(err).__name__, err)
        return _toast(str(err))
    log.error("%s %s: %s", where, UNHANDLED, type(err).__name__, exc_info=err)
    return _toast(FAILED)


def guard(fn):
    """Wrap a handler function (sync, async or async generator) with the checks above."""
    cache: list[tuple[inspect.Signature, dict[str, Any]]] = []

    def check(args, kwargs) -> str | None:
        begin_request()  # a fresh request id for this event's security log lines
        if not cache:
            try:
                hints = typing.get_type_hints(fn)
            except Exception:  # unresolvable annotations: check arity only
                hints = {}
            cache.append((inspect.signature(fn), hints))
        return _mismatch(cache[0][0], cache[0][1], args, kwargs)

    def refuse(self, bad: str):
        log.warning(
            "refused %s.%s: argument %s is missing, unknown or malformed", type(self).__name__, fn.__name__, bad
        )
        return _toast(MALFORMED)

    if inspect.isasyncgenfunction(fn):

        @functools.wraps(fn)
        async def agen_wrapper(self, /, *args, **kwargs):
            if (bad := check(args, kwargs)) is not None:
                yield refuse(self, bad)
                return
            try:
                async for item in fn(self, *args, **kwargs):
                    yield item
            except Exception as err:
                yield _failed(self, fn, err)

        return agen_wrapper
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(self, /, *args, **kwargs):
            if (bad := check(args, kwargs)) is not None:
                return refuse(self, bad)
            try:
                return await fn(self, *args, **kwargs)
            except Exception as err:
                return _failed(self, fn, err)

        return async_wrapper
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen_wrapper(self, /, *args, **kwargs):
            if (bad := check(args, kwargs)) is not None:
                yield refuse(self, bad)
                return
            try:
                yield from fn(self, *args, **kwargs)
            except Exception as err:
                yield _failed(self, fn, err)

        return gen_wrapper

    @functools.wraps(fn)
    def sync_wrapper(self, /, *args, **kwargs):
        if (bad := check(args, kwargs)) is not None:
            return refuse(self, bad)
        try:
            return fn(self, *args, **kwargs)
        except Exception as err:
            return _failed(self, fn, err)

    return sync_wrapper


def guard_class_handlers(cls) -> None:
    """Wrap the public handler functions defined directly on `cls` (before Reflex registers them)."""
    for name, value in list(vars(cls).items()):
        if name.startswith("_") or not inspect.isfunction(value) or getattr(value, "__reup_guarded__", False):
            continue
        wrapped = guard(value)
        wrapped.__reup_guarded__ = True
        setattr(cls, name, wrapped)


def _readable_form(value: Any) -> Any:
    from reflex_base.utils.form import FORM_DATA_ENTRIES_KEY

    if isinstance(value, dict) and FORM_DATA_ENTRIES_KEY in value:
        try:
            return dict(value[FORM_DATA_ENTRIES_KEY])
        except (TypeError, ValueError):
            return MALFORMED_FORM
    return value


def install_payload_patch() -> None:
    """Make Reflex's event payload preparation tolerate malformed form data (idempotent).

    Reflex 0.10.1 `_prepare_event_payload` falls back to `dict(entries)` when converting a payload
    fails, which raises for entries that are not name/value pairs, before the handler (and its guard)
    runs. The patched function passes `MALFORMED_FORM` for such an argument instead.
    """
    from reflex_base.event.processor import base_state_processor as bsp

    original = bsp._prepare_event_payload
    if getattr(original, "__reup_tolerant__", False):
        return

    @functools.wraps(original)
    def tolerant(handler, payload):
        try:
            return original(handler, payload)
        except Exception:
            log.warning("malformed payload for %s", getattr(handler.fn, "__qualname__", handler))
            return {arg: _readable_form(value) for arg, value in payload.items()}

    tolerant.__reup_tolerant__ = True  # type: ignore[attr-defined]  # marker on a function object
    bsp._prepare_event_payload = tolerant
