"""Identity and access, in one import: sign-up and moderation (`signup`), sign-in (`sign_in`),
sessions (`auth`, `browser_sessions`), passwords (`password_reset`), two-factor settings (`mfa_settings`), platform
admin of users (`admin_users`) and teams (`team`). See each module for the rules.

    from reup_app.services.identity import accounts
    res = accounts.login(session, email=..., password=..., client_ip=..., user_agent=...)
"""

from reup_app.services.identity.admin_users import *  # noqa: F403
from reup_app.services.identity.admin_users import __all__ as _admin_all
from reup_app.services.identity.auth import *  # noqa: F403
from reup_app.services.identity.auth import __all__ as _auth_all
from reup_app.services.identity.mfa_settings import *  # noqa: F403
from reup_app.services.identity.mfa_settings import __all__ as _mfa_all
from reup_app.services.identity.password_reset import *  # noqa: F403
from reup_app.services.identity.password_reset import __all__ as _password_all
from reup_app.services.identity.sign_in import *  # noqa: F403
from reup_app.services.identity.sign_in import __all__ as _sign_in_all
from reup_app.services.identity.signup import *  # noqa: F403
from reup_app.services.identity.signup import __all__ as _signup_all
from reup_app.services.identity.team import *  # noqa: F403
from reup_app.services.identity.team import __all__ as _team_all

__all__ = [*_auth_all, *_sign_in_all, *_password_all, *_mfa_all, *_admin_all, *_signup_all, *_team_all]
