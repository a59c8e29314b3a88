"""The one-time tickets that state handlers issue and API routes redeem: their purposes and links.

Both sides import from here, so the state never imports the API (layers: state and api are
independent callers of the services; see docs/ARCHITECTURE.md).
    GRANT_PURPOSE / RESTORE_PURPOSE   sign-in cookie grant and session restore (api/auth_routes.py)
    CHALLENGE_GRANT                   sign-in challenge cookie grant (api/auth_routes.py)
    mfa_setup_url / recovery_codes_urls   secret display pictures (api/secret_display.py)

What binds a display ticket to the browser that asked: `session=` (a `session_binding`, the hash of
the browser session's cookie family, which the asking state keeps backend-only) needs a live session
cookie of that very family, not just any cookie of the same user; `challenge=` (the forced enrolment
at sign-in, before any session cookie exists) needs the `reup_challenge` cookie whose nonce hashes to
the value the ticket carries.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid

from reup_app.errors import NotAuthenticated
from reup_app.security import crypto
from reup_app.security.tickets import issue

GRANT_PURPOSE = "session-cookie-grant"
RESTORE_PURPOSE = "session-restore"
CHALLENGE_GRANT = "sign-in-challenge-grant"
CHALLENGE_GRANT_TTL_SECONDS = 60.0

MFA_SETUP = "reveal-mfa-setup"
RECOVERY = "reveal-recovery-codes"
TTL_SECONDS = 600.0


def _owner(user_id: int | None) -> int:
    """A secret is shown to one signed-in user only."""
    if user_id is None:
        raise NotAuthenticated("Please sign in again.")
    return int(user_id)


def codes_aad(user_id: int) -> str:
    """Associated data sealing recovery codes to their purpose and user (reup_app.security.crypto)."""
    return f"reveal-recovery-codes:{int(user_id)}"


def new_browser_session() -> tuple[str, str]:
    """(family id, binding) for a new browser session: the sign-in grant carries the family id, which
    becomes the session cookie's refresh-token family (api/auth_routes.py); the state keeps the binding."""
    family_id = str(uuid.uuid4())
    return family_id, session_binding(family_id)


def session_binding(family_id: str) -> str:
    """What a ticket (and the state) holds of a browser session: a hash of its cookie family id."""
    return hashlib.sha256(f"reup-browser-session:{family_id}".encode()).hexdigest()


def session_matches(family_id: object, expected: object) -> bool:
    """The session cookie's family hashes to the ticket's binding (constant-time compare)."""
    if not isinstance(family_id, str) or not family_id or not isinstance(expected, str) or not expected:
        return False
    return hmac.compare_digest(session_binding(family_id), expected)


def _bind(payload: dict[str, object], session: str | None) -> dict[str, object]:
    """Add the browser-session binding; a binding asked for but unknown (empty) is refused."""
    if session is not None:
        if not session:
            raise NotAuthenticated("This browser's session could not be confirmed. Please sign in again.")
        payload["session"] = session
    return payload


def challenge_hash(nonce: str) -> str:
    """What a ticket carries of a sign-in challenge cookie's nonce (never the nonce itself)."""
    return hashlib.sha256(nonce.encode()).hexdigest()


def challenge_matches(nonce: object, expected: object) -> bool:
    """The cookie's nonce hashes to the ticket's value (constant-time compare)."""
    if not isinstance(nonce, str) or not nonce or len(nonce) > 128 or not isinstance(expected, str):
        return False
    return hmac.compare_digest(challenge_hash(nonce), expected)


def challenge_grant() -> tuple[str, str]:
    """(one-time grant, nonce hash): the browser trades the grant for an HttpOnly cookie holding a
    fresh nonce (POST /api/auth/challenge); tickets bound to it carry the hash."""
    nonce = secrets.token_urlsafe(32)
    grant = issue(CHALLENGE_GRANT, {"nonce": nonce}, CHALLENGE_GRANT_TTL_SECONDS)
    return grant, challenge_hash(nonce)


def mfa_setup_url(user_id: int | None, *, session: str | None = None, challenge: str | None = None) -> str:
    """Ticket URL of a pending enrolment's QR + key. `session` (a `session_binding`): needs a session
    cookie of that browser session; `challenge` (a nonce hash): needs the matching challenge cookie."""
    payload = _bind({"user_id": _owner(user_id)}, session)
    if challenge:
        payload["challenge"] = challenge
    t = issue(MFA_SETUP, payload, TTL_SECONDS)
    return f"/api/auth/reveal/mfa-setup.svg?t={t}"


def seal_codes(user_id: int | None, codes: list[str]) -> str:
    """Recovery codes encrypted for their user (safe to keep in a backend-only state var)."""
    return crypto.encrypt("\n".join(codes), codes_aad(_owner(user_id)))


def recovery_codes_urls(user_id: int | None, codes: list[str], *, session: str | None = None) -> tuple[str, str]:
    """(picture URL, text-file URL) for freshly generated recovery codes; each works once. The codes
    wait in the ticket store encrypted, never in plain text."""
    return sealed_codes_urls(user_id, seal_codes(user_id, codes), session=session)


def sealed_codes_urls(user_id: int | None, sealed: str, *, session: str | None = None) -> tuple[str, str]:
    """`recovery_codes_urls` for codes already sealed by `seal_codes`."""
    payload = _bind({"user_id": _owner(user_id), "codes_sealed": sealed}, session)
    svg, txt = issue(RECOVERY, payload, TTL_SECONDS), issue(RECOVERY, payload, TTL_SECONDS)
    return (f"/api/auth/reveal/recovery-codes.svg?t={svg}", f"/api/auth/reveal/recovery-codes.txt?t={txt}")


API_SECRET = "reveal-api-secret"


def api_secret_aad(user_id: int) -> str:
    return f"{API_SECRET}:{int(user_id)}"


def api_secret_urls(user_id: int | None, secret: str, *, session: str | None = None) -> tuple[str, str]:
    """(picture URL, text-file URL) showing a new API key or webhook signing secret once, to the browser
    session that created it (sealed in the ticket store, never in state)."""
    owner = _owner(user_id)
    payload = _bind({"user_id": owner, "sealed": crypto.encrypt(secret, api_secret_aad(owner))}, session)
    svg, txt = issue(API_SECRET, payload, TTL_SECONDS), issue(API_SECRET, payload, TTL_SECONDS)
    return (f"/api/auth/reveal/api-secret.svg?t={svg}", f"/api/auth/reveal/api-secret.txt?t={txt}")


# A non-HttpOnly cookie (path /, value "1", no secret) set and cleared together with the HttpOnly
# session cookie: page scripts can see that there is a session to restore, so signed-out page
# loads never call /api/auth/restore (and never log its 401).
SESSION_FLAG_COOKIE = "reup_has_session"
