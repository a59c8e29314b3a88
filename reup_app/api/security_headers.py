"""ASGI middleware adding security headers to every HTTP response (pages, API, assets)."""

from __future__ import annotations

from reup_app.settings import get_settings


def security_headers(app):
    settings = get_settings()
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"strict-origin-when-cross-origin"),
        (b"x-frame-options", b"DENY"),
        (b"content-security-policy", b"frame-ancestors 'none'"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    ]
    if settings.app_url.startswith("https://"):
        headers.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))

    async def middleware(scope, receive, send):
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                existing = {k.lower() for k, _ in message.get("headers", [])}
                message = dict(message)
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in headers if k not in existing
                ]
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware
