"""The one-time tickets that state handlers issue and API routes redeem: their purposes and links.

Both sides import from here, so the state never imports the API (layers: state and api are
independent callers of the services; see docs/ARCHITECTURE.md).
    GRANT_PURPOSE / RESTORE_PURPOSE   sign-in cookie grant and session restore (api/auth_routes.py)
    mfa_setup_url / recovery_codes_urls   secret display pictures (api/secret_display.py)
"""

from __future__ import annotations

from reup_app.errors import NotAuthenticated
from reup_app.security.tickets import issue

GRANT_PURPOSE = "session-cookie-grant"
RESTORE_PURPOSE = "session-restore"

MFA_SETUP = "reveal-mfa-setup"
RECOVERY = "reveal-recovery-codes"
TTL_SECONDS = 600.0


def _owner(user_id: int | None) -> int:
    """A secret is shown to one signed-in user only."""
    if user_id is None:
        raise NotAuthenticated("Please sign in again.")
    return int(user_id)


def mfa_setup_url(user_id: int | None) -> str:
    return f"/api/auth/reveal/mfa-setup.svg?t={issue(MFA_SETUP, {'user_id': _owner(user_id)}, TTL_SECONDS)}"


def recovery_codes_urls(user_id: int | None, codes: list[str]) -> tuple[str, str]:
    """(picture URL, text-file URL) for freshly generated recovery codes."""
    t = issue(RECOVERY, {"user_id": _owner(user_id), "codes": list(codes)}, TTL_SECONDS)
    return (f"/api/auth/reveal/recovery-codes.svg?t={t}", f"/api/auth/reveal/recovery-codes.txt?t={t}")
