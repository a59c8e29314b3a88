"""ASGI middleware adding security headers to every HTTP response (pages, API, files, assets).

Content-Security-Policy: no inline script runs except the ones the Reflex production build puts
in its pages (React Router's context and module bootstrap). Those are static files from
`reflex export`, never templated with user data; for each HTML response the middleware hashes the
page's own inline scripts and allows exactly those (`'sha256-...'`), so the policy follows the
build without a list to maintain. Everything else: scripts from this origin only (plus eval, which
Reflex's `rx.call_script` needs: see `csp`), no plugins, no framing, forms and <base> to this origin. Styles allow 'unsafe-inline' (Radix and
Emotion inject style elements at run time; a style cannot run code). The WebSocket to the backend
is the page's own origin (ws/wss).

Also: Permissions-Policy (no camera, microphone, geolocation, payment, USB ... for anyone),
Cross-Origin-Opener-Policy and Cross-Origin-Resource-Policy `same-origin`, nosniff, a strict
referrer policy, X-Frame-Options DENY, and HSTS behind https (docs/SECURITY.md, V14.4).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import os
import re
import zlib

from reup_app.settings import get_settings

_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script>", re.S | re.I)
# Over this size an HTML body is passed through unhashed (its inline scripts are then blocked).
_MAX_HTML = 2 * 1024 * 1024

PERMISSIONS_POLICY = (
    "accelerometer=(), autoplay=(), camera=(), display-capture=(), encrypted-media=(), fullscreen=(self), "
    "geolocation=(), gyroscope=(), magnetometer=(), microphone=(), midi=(), payment=(), "
    "picture-in-picture=(), publickey-credentials-get=(), usb=(), xr-spatial-tracking=(), interest-cohort=()"
)


def script_hashes(html: bytes) -> list[str]:
    """CSP source expressions for the inline scripts of a page, in order, without repeats."""
    out: list[str] = []
    for m in _INLINE_SCRIPT.finditer(html):
        body = m.group(1)
        if not body.strip():
            continue
        h = "'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'"
        if h not in out:
            out.append(h)
    return out


def _encoding(message: dict) -> bytes:
    return next((v.lower() for k, v in message.get("headers", []) if k.lower() == b"content-encoding"), b"")


def _page_hashes(body: bytes, encoding: bytes) -> list[str]:
    """Hashes of a page's inline scripts; a gzip-compressed page (Accept-Encoding) is unpacked first."""
    if encoding == b"gzip":
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError, zlib.error):
            return []
    elif encoding not in (b"", b"identity"):
        return []  # an encoding we cannot read: no inline script is allowed
    return script_hashes(body) if len(body) <= 4 * _MAX_HTML else []


# (path, size, mtime, encoding) -> the page's hashes: a built page is hashed once, not per request
_FILE_HASHES: dict[tuple[str, int, int, bytes], list[str]] = {}
_MAX_FILE_HASHES = 1024


def _file_hashes(path: str, encoding: bytes) -> list[str]:
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            key = (path, st.st_size, st.st_mtime_ns, encoding)
            cached = _FILE_HASHES.get(key)
            if cached is not None:
                return cached
            body = f.read(_MAX_HTML + 1)
    except OSError:
        return []
    hashes = _page_hashes(body, encoding) if len(body) <= _MAX_HTML else []
    if len(_FILE_HASHES) >= _MAX_FILE_HASHES:
        _FILE_HASHES.clear()
    _FILE_HASHES[key] = hashes
    return hashes


def csp(hashes: list[str] | None = None, *, https: bool = False) -> str:
    # 'unsafe-eval': Reflex runs every backend-sent `rx.call_script` (and string callbacks) with eval()
    # in .web/utils/state.js; ReUp's sign-in cookie grant and restore need it. Inline <script> and
    # inline event handlers stay blocked (no 'unsafe-inline'), which is what injected markup uses.
    scripts = " ".join(["'self'", "'unsafe-eval'", *(hashes or [])])
    parts = [
        "default-src 'self'",
        f"script-src {scripts}",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self' ws: wss:" if not https else "connect-src 'self' wss:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "worker-src 'self' blob:",
        "manifest-src 'self'",
    ]
    if https:
        parts.append("upgrade-insecure-requests")
    return "; ".join(parts)


def static_headers(https: bool) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"strict-origin-when-cross-origin"),
        (b"x-frame-options", b"DENY"),
        (b"permissions-policy", PERMISSIONS_POLICY.encode()),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"cross-origin-resource-policy", b"same-origin"),
    ]
    if https:
        headers.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))
    return headers


def _merge(message: dict, extra: list[tuple[bytes, bytes]]) -> dict:
    existing = {k.lower() for k, _ in message.get("headers", [])}
    out = dict(message)
    out["headers"] = list(message.get("headers", [])) + [(k, v) for k, v in extra if k not in existing]
    return out


def _is_html(message: dict) -> bool:
    return any(k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in message.get("headers", []))


def security_headers(app):
    https = get_settings().app_url.startswith("https://")
    base = static_headers(https)
    plain_csp = (b"content-security-policy", csp(https=https).encode())

    async def middleware(scope, receive, send):
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        start: dict | None = None
        chunks: list[bytes] = []
        size = 0

        async def send_with_headers(message):
            nonlocal start, size
            if message["type"] == "http.response.start":
                if message.get("status") == 304:
                    # A revalidation: its headers update the browser's stored page (RFC 9111
                    # 4.3.4), whose policy was hashed from this same body. A policy here would
                    # replace that one with a hash-less policy and block the page's own scripts.
                    await send(_merge(message, base))
                    return
                if _is_html(message) and scope.get("method") in ("GET", "HEAD"):
                    start = message  # hold it: the policy depends on the body's inline scripts
                    return
                await send(_merge(message, [*base, plain_csp]))
                return
            if start is not None and message["type"] == "http.response.pathsend":
                # a server-side file send (granian): read the page to hash it, then let it be sent
                held, start = start, None
                policy = csp(_file_hashes(message.get("path", ""), _encoding(held)), https=https)
                await send(_merge(held, [*base, (b"content-security-policy", policy.encode())]))
                await send(message)
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if message.get("more_body", False) and size <= _MAX_HTML:
                return
            body = b"".join(chunks)
            policy = csp(_page_hashes(body, _encoding(start)) if size <= _MAX_HTML else [], https=https)
            await send(_merge(start, [*base, (b"content-security-policy", policy.encode())]))
            await send({"type": "http.response.body", "body": body, "more_body": message.get("more_body", False)})
            start = None

        await app(scope, receive, send_with_headers)

    return middleware
