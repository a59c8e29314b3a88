"""The browser-session cookie: what lets a new tab restore a signed-in session.

Tokens never reach page scripts. The cookie `reup_session` is HttpOnly, SameSite=Strict, scoped to
Path=/api/auth (so it is not even sent with page or Socket.IO requests, and Reflex never mirrors
it into state) and Secure when the app is served over HTTPS. It holds a refresh token of its own
family, rotated on every use with reuse detection.

    POST /api/auth/session  {grant}  after sign-in: a one-time grant (issued by the sign-in handler
                                      on the server) becomes the cookie; the grant names the cookie's
                                      refresh-token family, the browser session's id (ticket_links)
    POST /api/auth/restore           a new tab: rotate the cookie, answer a one-time restore code
                                      that the tab's state exchanges for its own token pair (the code
                                      also tells the tab the hash of its browser session's id)
    POST /api/auth/logout            revoke the cookie's family and clear it
    POST /api/auth/challenge {grant} forced MFA enrolment at sign-in (no session yet): a one-time
                                      grant becomes the short-lived cookie `reup_challenge` (a random
                                      nonce, same flags) that binds the enrolment picture's ticket to
                                      this browser (api/secret_display.py); cleared when sign-in completes

Every call must come from the app's own origin with the `X-ReUp-Auth: 1` header (a simple CSRF
guard on top of SameSite=Strict). Browsers serialize restore with the Web Locks API (see
`reup_app.state.auth.RESTORE_SCRIPT`), so two tabs opening at once do not trip reuse detection.
"""

from __future__ import annotations

import json
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reup_app.db import run_in_unit_of_work
from reup_app.errors import ServiceError
from reup_app.security import tickets
from reup_app.security.principal import ANONYMOUS
from reup_app.security.ticket_links import (
    CHALLENGE_GRANT,
    GRANT_PURPOSE,
    RESTORE_PURPOSE,
    SESSION_FLAG_COOKIE,
    TTL_SECONDS,
    session_binding,
)
from reup_app.services.identity import auth as auth_service
from reup_app.services.identity import browser_sessions as browser_sessions_service
from reup_app.settings import get_settings

log = logging.getLogger(__name__)

COOKIE_NAME = "reup_session"
COOKIE_PATH = "/api/auth"
CHALLENGE_COOKIE = "reup_challenge"
RESTORE_TTL_SECONDS = 30.0


def _client_ip(request: Request) -> str | None:
    """The peer's address, or (REUP_TRUSTED_PROXY_HOPS > 0) the one our proxies put in X-Forwarded-For.

    Same rule as Reflex's WebSocket (`trusted_proxy_hops`), so rate limits key on the same address.
    """
    peer = request.client.host if request.client else None
    hops = get_settings().trusted_proxy_hops
    if hops:
        forwarded = [ip.strip() for ip in request.headers.get("x-forwarded-for", "").split(",") if ip.strip()]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return peer


def _refused(message: str, status: int = 403) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _same_origin(request: Request) -> bool:
    """The request carries our header and, when the browser says where it comes from, our origin."""
    if request.headers.get("x-reup-auth") != "1":
        return False
    origin = request.headers.get("origin")
    return origin is None or origin.rstrip("/") in get_settings().socket_origins


def _set_cookie(response: Response, raw: str, name: str = COOKIE_NAME, max_age: int | None = None) -> None:
    settings = get_settings()
    response.set_cookie(
        name,
        raw,
        max_age=settings.refresh_token_days * 86400 if max_age is None else max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=settings.app_url.startswith("https://"),
    )
    if name == COOKIE_NAME:  # the presence flag page scripts read (no secret in it)
        response.set_cookie(
            SESSION_FLAG_COOKIE,
            "1",
            max_age=settings.refresh_token_days * 86400 if max_age is None else max_age,
            path="/",
            httponly=False,
            samesite="strict",
            secure=settings.app_url.startswith("https://"),
        )


def _clear_cookie(response: Response, name: str = COOKIE_NAME) -> None:
    secure = get_settings().app_url.startswith("https://")
    response.delete_cookie(name, path=COOKIE_PATH, httponly=True, samesite="strict", secure=secure)
    if name == COOKIE_NAME:
        response.delete_cookie(SESSION_FLAG_COOKIE, path="/", httponly=False, samesite="strict", secure=secure)


async def _grant(request: Request, purpose: str) -> dict | JSONResponse:
    """The one-time grant named in a same-origin JSON body (consumed), or the refusal to answer."""
    if not _same_origin(request):
        return _refused("Cross-site request refused.")
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return _refused("The request body must be JSON.", 400)
    grant = tickets.take(purpose, body.get("grant") if isinstance(body, dict) else None)
    if grant is None:
        return _refused("This sign-in grant is unknown, used or expired.", 400)
    return grant


async def set_session_cookie(request: Request) -> Response:
    grant = await _grant(request, GRANT_PURPOSE)
    if isinstance(grant, Response):
        return grant
    ip = _client_ip(request)

    try:
        raw = await run_in_unit_of_work(
            None,
            browser_sessions_service.issue_cookie_token,
            user_id=grant["user_id"],
            entity_id=grant["entity_id"],
            token_version=grant["tv"],
            family_id=grant.get("sid") if isinstance(grant.get("sid"), str) else None,
            client_ip=ip,
        )
    except ServiceError as err:
        return _refused(str(err), 401)
    response = JSONResponse({"status": "ok"})
    _set_cookie(response, raw)
    _clear_cookie(response, CHALLENGE_COOKIE)  # sign-in is complete
    return response


async def set_challenge_cookie(request: Request) -> Response:
    """Forced enrolment at sign-in: the grant's nonce becomes this browser's challenge cookie."""
    grant = await _grant(request, CHALLENGE_GRANT)
    if isinstance(grant, Response):
        return grant
    nonce = grant.get("nonce")
    if not isinstance(nonce, str) or not nonce:
        return _refused("This sign-in grant is unknown, used or expired.", 400)
    response = JSONResponse({"status": "ok"})
    _set_cookie(response, nonce, CHALLENGE_COOKIE, int(TTL_SECONDS))
    return response


async def restore_session(request: Request) -> Response:
    if not _same_origin(request):
        return _refused("Cross-site request refused.")
    raw = request.cookies.get(COOKIE_NAME)
    if not raw:
        return _refused("No saved session.", 401)
    ip = _client_ip(request)

    try:
        result, family_id = await run_in_unit_of_work(
            None, browser_sessions_service.rotate_cookie_token, raw, client_ip=ip
        )
    except ServiceError as err:
        response = _refused(str(err), 401)
        _clear_cookie(response)
        return response
    p = result.principal
    restore = {"user_id": p.user_id, "entity_id": p.entity_id, "tv": p.token_version, "sid": session_binding(family_id)}
    code = tickets.issue(RESTORE_PURPOSE, restore, RESTORE_TTL_SECONDS)
    response = JSONResponse({"code": code})
    _set_cookie(response, result.refresh_token or "")
    return response


async def end_session(request: Request) -> Response:
    if not _same_origin(request):
        return _refused("Cross-site request refused.")
    raw = request.cookies.get(COOKIE_NAME)
    if raw:
        try:
            await run_in_unit_of_work(None, auth_service.logout, ANONYMOUS, raw)
        except ServiceError:
            log.info("cookie session already ended")
    response = JSONResponse({"status": "ok"})
    _clear_cookie(response)
    _clear_cookie(response, CHALLENGE_COOKIE)
    return response


AUTH_ROUTES = [
    Route("/api/auth/session", set_session_cookie, methods=["POST"]),
    Route("/api/auth/restore", restore_session, methods=["POST"]),
    Route("/api/auth/logout", end_session, methods=["POST"]),
    Route("/api/auth/challenge", set_challenge_cookie, methods=["POST"]),
]
