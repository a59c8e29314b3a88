"""The requestor base: takes a rate-limit slot, sends through the transport, and maps the answer
to JSON or a typed error. Vendor requestors add auth, paging and chunking on top."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import httpx

from reup_app.integrations.errors import AuthFailed, NotFound, PermissionDenied, Rejected, Unavailable
from reup_app.integrations.http.ratelimit import Limit
from reup_app.integrations.http.transport import Transport


def vendor_message(response: httpx.Response) -> str:
    """The vendor's own words from an error body: `message`/`Message` fields, a list of them, or text."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason_phrase
    messages: list[str] = []

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key.lower() in ("message", "error", "errors", "detail") and isinstance(value, str):
                    messages.append(value)
                else:
                    collect(value)
        elif isinstance(node, list):
            for item in node:
                collect(item)

    collect(body)
    return "; ".join(messages)[:1000] if messages else json.dumps(body)[:500]


def raise_for_status(response: httpx.Response, what: str) -> None:
    status = response.status_code
    if status < 400:
        return
    message = vendor_message(response)
    text = f"{what} answered {status}: {message}"
    if status == 401:
        raise AuthFailed(text, status=status, vendor_message=message)
    if status == 403:
        raise PermissionDenied(text, status=status, vendor_message=message)
    if status == 404:
        raise NotFound(text, status=status, vendor_message=message)
    if status in (400, 409, 413, 422):
        raise Rejected(text, status=status, vendor_message=message)
    raise Unavailable(text, status=status, vendor_message=message)


class Requestor:
    """Rate-limited, typed-error HTTP for one vendor account. `limits_for(method, params)` names the
    budgets a call spends (e.g. METRC GETs: the vendor key and the facility)."""

    def __init__(
        self,
        transport: Transport,
        *,
        limiter: Any,
        auth: httpx.Auth | tuple[str, str] | None = None,
        limits_for: Callable[[str, dict[str, Any]], list[Limit]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.transport = transport
        self.limiter = limiter
        self.auth = httpx.BasicAuth(*auth) if isinstance(auth, tuple) else auth  # built once, not per call
        self.limits_for = limits_for or (lambda method, params: [])
        self.headers = headers or {}

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        idempotent: bool | None = None,
    ) -> Any:
        params = {k: v for k, v in (params or {}).items() if v is not None}
        limits = self.limits_for(method.upper(), params)
        # the query encoded here once: cheaper than httpx merging a params dict into the URL on every attempt
        url = f"{path}?{urlencode(params)}" if params else path
        kwargs: dict[str, Any] = {"headers": {"Accept": "application/json", **self.headers}}
        if self.auth is not None:
            kwargs["auth"] = self.auth
        if json_body is not None:
            kwargs["json"] = json_body
        response = self.transport.send(
            method, url, before_attempt=lambda: self.limiter.acquire(limits), idempotent=idempotent, **kwargs
        )
        raise_for_status(response, f"{self.transport.config.vendor} {method.upper()} {path}")
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise Unavailable(f"{self.transport.config.vendor} {path}: answer is not JSON") from exc
