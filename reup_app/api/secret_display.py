"""Showing a user their own new secrets without putting them in Reflex state.

Reflex sends every non-underscore state var to the browser and keeps deltas in memory and Redis,
so the TOTP key being enrolled and freshly generated recovery codes never go through state.
Instead the handler issues a short-lived ticket and the page shows an <img> (or download link) of
    GET /api/auth/reveal/mfa-setup.svg?t=...        QR code + manual key of a *pending* enrolment
    GET /api/auth/reveal/recovery-codes.svg?t=...   the recovery codes just generated
    GET /api/auth/reveal/recovery-codes.txt?t=...   the same as a text file to save
Each ticket lives 10 minutes, works ONCE (the picture and the text file have a ticket each) and is
bound to the browser session that asked for it:
  - a ticket issued from a signed-in page, and the recovery codes at the end of the forced
    enrolment at sign-in (issued only once the session cookie is set), carry the hash of that
    browser session's id (the refresh-token family of its session cookie `reup_session`, which
    rotation keeps): they need a live cookie of that very family, so another browser where the same
    user is signed in is refused too;
  - the enrolment picture of the forced enrolment at sign-in (no session exists yet) carries the
    hash of a nonce that only the signing-in browser holds, in the HttpOnly cookie
    `reup_challenge` (POST /api/auth/challenge, api/auth_routes.py); it needs that cookie.
A browser whose session cookie belongs to someone else is always refused. A refused request does
not consume the ticket. The recovery codes sit
in Redis encrypted (reup_app.security.crypto, AAD naming the purpose and user), never in plain
text. Responses are `no-store`.
"""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reup_app.api.auth_routes import CHALLENGE_COOKIE, COOKIE_NAME
from reup_app.db import run_in_unit_of_work
from reup_app.security import crypto, mfa
from reup_app.security.ticket_links import (
    API_SECRET,
    MFA_SETUP,
    RECOVERY,
    api_secret_aad,
    challenge_matches,
    codes_aad,
    session_matches,
)
from reup_app.security.tickets import peek, take
from reup_app.services.identity import mfa_settings as mfa_settings_service
from reup_app.services.identity.session_cookie import session_cookie_session

NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}


async def _redeem(request: Request, purpose: str) -> dict | None:
    """The ticket's payload, consumed, if this browser may see it; None otherwise (not consumed
    when refused, so a stranger probing a leaked link cannot spoil it for its owner)."""
    code = request.query_params.get("t")
    ticket = peek(purpose, code)
    if ticket is None:
        return None
    if "challenge" in ticket and not challenge_matches(request.cookies.get(CHALLENGE_COOKIE), ticket["challenge"]):
        return None
    cookie_session = None
    raw = request.cookies.get(COOKIE_NAME)
    if raw:
        cookie_session = await run_in_unit_of_work(None, session_cookie_session, raw)
    owner = int(ticket["user_id"])
    if cookie_session is not None and cookie_session[0] != owner:
        return None  # another user's browser
    if "session" in ticket and (cookie_session is None or not session_matches(cookie_session[1], ticket["session"])):
        return None  # not the browser session that asked (another of the same user's sessions included)
    return take(purpose, code)


def _gone() -> JSONResponse:
    return JSONResponse(
        {"error": "This link has expired. Start again from the page."}, status_code=404, headers=NO_STORE
    )


def _svg(lines: list[str], qr_svg: str | None = None) -> str:
    """A plain SVG: optional QR code on top, then monospaced text lines."""
    width, line_h = 360, 24
    qr_h = 300 if qr_svg else 0
    height = qr_h + 24 + line_h * len(lines)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><rect width="100%" height="100%" fill="#ffffff"/>'
    ]
    if qr_svg:
        parts.append(f'<image x="30" y="0" width="300" height="300" href="{qr_svg}"/>')
    for i, line in enumerate(lines):
        parts.append(
            f'<text x="{width // 2}" y="{qr_h + 24 + i * line_h}" text-anchor="middle" '
            f'font-family="monospace" font-size="18" fill="#111111">{html.escape(line)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


async def mfa_setup_svg(request: Request) -> Response:
    ticket = await _redeem(request, MFA_SETUP)
    if ticket is None:
        return _gone()

    found = await run_in_unit_of_work(None, mfa_settings_service.pending_mfa_secret, int(ticket["user_id"]))
    if found is None:
        return _gone()
    email, secret = found
    body = _svg(["Key: " + grouped(secret)], mfa.qr_data_uri(mfa.provisioning_uri(secret, email)))
    return Response(body, media_type="image/svg+xml", headers=NO_STORE)


async def recovery_codes(request: Request) -> Response:
    ticket = await _redeem(request, RECOVERY)
    if ticket is None:
        return _gone()
    codes = crypto.decrypt(str(ticket["codes_sealed"]), codes_aad(int(ticket["user_id"]))).split("\n")
    if request.url.path.endswith(".txt"):
        text = "ReUp recovery codes (each works once):\n" + "\n".join(codes) + "\n"
        return Response(
            text,
            media_type="text/plain",
            headers={**NO_STORE, "content-disposition": 'attachment; filename="reup-recovery-codes.txt"'},
        )
    return Response(_svg(codes), media_type="image/svg+xml", headers=NO_STORE)


async def api_secret(request: Request) -> Response:
    """A new API key or webhook signing secret (/settings/api), shown once."""
    ticket = await _redeem(request, API_SECRET)
    if ticket is None:
        return _gone()
    secret = crypto.decrypt(str(ticket["sealed"]), api_secret_aad(int(ticket["user_id"])))
    if request.url.path.endswith(".txt"):
        return Response(secret + "\n", media_type="text/plain", headers=NO_STORE)
    return Response(
        _svg([secret[i : i + 28] for i in range(0, len(secret), 28)]), media_type="image/svg+xml", headers=NO_STORE
    )


SECRET_DISPLAY_ROUTES = [
    Route("/api/auth/reveal/api-secret.svg", api_secret, methods=["GET"]),
    Route("/api/auth/reveal/api-secret.txt", api_secret, methods=["GET"]),
    Route("/api/auth/reveal/mfa-setup.svg", mfa_setup_svg, methods=["GET"]),
    Route("/api/auth/reveal/recovery-codes.svg", recovery_codes, methods=["GET"]),
    Route("/api/auth/reveal/recovery-codes.txt", recovery_codes, methods=["GET"]),
]
