"""Identity and access, in one import: sign-up and moderation (`signup`), sign-in, sessions,
passwords and MFA (`auth`), and teams (`team`). See each module for the rules.

    from reup_app.services.identity import accounts
    res = accounts.login(session, email=..., password=..., client_ip=..., user_agent=...)
"""

from reup_app.services.identity.auth import *  # noqa: F403
from reup_app.services.identity.auth import __all__ as _auth_all
from reup_app.services.identity.signup import *  # noqa: F403
from reup_app.services.identity.signup import __all__ as _signup_all
from reup_app.services.identity.team import *  # noqa: F403
from reup_app.services.identity.team import __all__ as _team_all

__all__ = [*_auth_all, *_signup_all, *_team_all]
