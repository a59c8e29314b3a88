"""ASGI middleware giving every HTTP request (pages, REST API, auth, webhooks, files) an id: the
caller's `X-Request-ID` when it is a sane token (nginx passes `$request_id`), else a new one. It
opens the request's log context (`security.events.begin_request`), so every log line of the
request carries it (`reup_app.logs`), and answers it as `X-Request-ID`; error messages quote it as
their error id. The socket (a websocket scope) is left alone: page events get theirs per event in
`state/arg_guard.py`."""

from __future__ import annotations

import re

from reup_app.security.events import begin_request

_SANE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def request_ids(app):
    async def middleware(scope, receive, send):
        if scope["type"] != "http":
            await app(scope, receive, send)  # the socket: its events get theirs in arg_guard
            return
        given = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"x-request-id"), "")
        rid = begin_request(given if _SANE.match(given) else None)
        header = (b"x-request-id", rid.encode())

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        await app(scope, receive, send_with_id)

    return middleware
