"""Identity and access: accounts, sign-up and moderation, sign-in and sessions, passwords, two-factor
authentication, teams, profiles, platform admin of users, and the principal cache.

`identity.accounts` is a one-import facade over the account modules; `identity.common` holds shared
helpers and is not public.

Modules, and the public functions re-exported here (loaded on first use):

- `admin_users`: Platform admin: find user accounts (to disable, re-enable or reset their MFA).
  `admin_reset_mfa`, `disable_user`, `enable_user`, `search_users`.
- `auth`: Sessions: issue, refresh, resolve and end sign-in sessions, switch business, cookie and
  tab tokens. `list_my_entities`, `logout`, `refresh`, `resolve_principal`, `switch_entity`.
- `browser_sessions`: Browser sessions: the HttpOnly cookie that restores a session in a new tab,
  and each tab's session. `issue_cookie_token`, `issue_tab_session`, `rotate_cookie_token`.
- `mfa_settings`: Two-factor settings for a signed-in user: enrol, confirm, disable, regenerate
  recovery codes. `begin_mfa_enrolment`, `confirm_mfa_enrolment`, `disable_mfa`,
  `regenerate_recovery_codes`.
- `password_reset`: Passwords: change one's own password, request a reset link, and reset with it.
  `change_password`, `request_password_reset`, `reset_password`.
- `principal_cache`: A short-lived cache of what `resolve_principal` must re-check on every call.
  `cache_ttl`, `set_cache_ttl`, `auth_state_local`, `load_auth_state`, `auth_state`,
  `invalidate_users`, `invalidate_entity_members`, `revoke_access_token`.
- `profile`: The signed-in user's own profile and security summary (settings pages). `get_profile`,
  `update_profile`, `business_kind`.
- `sign_in`: Sign-in: the password step, the MFA challenge, and MFA enrolment forced at sign-in.
  `begin_mfa_enrolment_with_challenge`, `complete_mfa`, `confirm_mfa_enrolment_with_challenge`,
  `login`.
- `signup`: Business sign-up and platform moderation (approve / reject / suspend). `approve_entity`,
  `list_businesses`, `reject_entity`, `signup_business`, `suspend_entity`.
- `team`: A business's team: invitations, members, roles, and its two-factor requirement.
  `accept_invite`, `change_member_role`, `describe_invite`, `invite_member`, `list_invites`,
  `list_members`, `remove_member`, `revoke_invite`, `set_require_mfa`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reup_app.services.lazy_exports import exports

if TYPE_CHECKING:
    from reup_app.services.identity.admin_users import (
        UserSummary,
        admin_reset_mfa,
        disable_user,
        enable_user,
        search_users,
    )
    from reup_app.services.identity.auth import (
        LoginResult,
        SessionEnded,
        list_my_entities,
        logout,
        refresh,
        resolve_principal,
        switch_entity,
    )
    from reup_app.services.identity.browser_sessions import (
        issue_cookie_token,
        issue_tab_session,
        rotate_cookie_token,
    )
    from reup_app.services.identity.mfa_settings import (
        MfaSetup,
        begin_mfa_enrolment,
        confirm_mfa_enrolment,
        disable_mfa,
        regenerate_recovery_codes,
    )
    from reup_app.services.identity.password_reset import (
        change_password,
        request_password_reset,
        reset_password,
    )
    from reup_app.services.identity.principal_cache import (
        auth_state,
        auth_state_local,
        cache_ttl,
        invalidate_entity_members,
        invalidate_users,
        load_auth_state,
        revoke_access_token,
        set_cache_ttl,
    )
    from reup_app.services.identity.profile import (
        Profile,
        business_kind,
        get_profile,
        update_profile,
    )
    from reup_app.services.identity.sign_in import (
        BAD_CREDENTIALS,
        begin_mfa_enrolment_with_challenge,
        complete_mfa,
        confirm_mfa_enrolment_with_challenge,
        login,
    )
    from reup_app.services.identity.signup import (
        US_STATES,
        BusinessReview,
        SignupResult,
        approve_entity,
        list_businesses,
        reject_entity,
        signup_business,
        suspend_entity,
    )
    from reup_app.services.identity.team import (
        AcceptedInvite,
        InviteInfo,
        MemberInfo,
        accept_invite,
        change_member_role,
        describe_invite,
        invite_member,
        list_invites,
        list_members,
        remove_member,
        revoke_invite,
        set_require_mfa,
    )

__all__ = [
    "UserSummary",
    "admin_reset_mfa",
    "disable_user",
    "enable_user",
    "search_users",
    "LoginResult",
    "SessionEnded",
    "list_my_entities",
    "logout",
    "refresh",
    "resolve_principal",
    "switch_entity",
    "issue_cookie_token",
    "issue_tab_session",
    "rotate_cookie_token",
    "MfaSetup",
    "begin_mfa_enrolment",
    "confirm_mfa_enrolment",
    "disable_mfa",
    "regenerate_recovery_codes",
    "change_password",
    "request_password_reset",
    "reset_password",
    "cache_ttl",
    "set_cache_ttl",
    "auth_state_local",
    "load_auth_state",
    "auth_state",
    "invalidate_users",
    "invalidate_entity_members",
    "revoke_access_token",
    "Profile",
    "get_profile",
    "update_profile",
    "business_kind",
    "BAD_CREDENTIALS",
    "begin_mfa_enrolment_with_challenge",
    "complete_mfa",
    "confirm_mfa_enrolment_with_challenge",
    "login",
    "BusinessReview",
    "SignupResult",
    "US_STATES",
    "approve_entity",
    "list_businesses",
    "reject_entity",
    "signup_business",
    "suspend_entity",
    "AcceptedInvite",
    "InviteInfo",
    "MemberInfo",
    "accept_invite",
    "change_member_role",
    "describe_invite",
    "invite_member",
    "list_invites",
    "list_members",
    "remove_member",
    "revoke_invite",
    "set_require_mfa",
]

_HOME = {
    "UserSummary": "admin_users",
    "admin_reset_mfa": "admin_users",
    "disable_user": "admin_users",
    "enable_user": "admin_users",
    "search_users": "admin_users",
    "LoginResult": "auth",
    "SessionEnded": "auth",
    "list_my_entities": "auth",
    "logout": "auth",
    "refresh": "auth",
    "resolve_principal": "auth",
    "switch_entity": "auth",
    "issue_cookie_token": "browser_sessions",
    "issue_tab_session": "browser_sessions",
    "rotate_cookie_token": "browser_sessions",
    "MfaSetup": "mfa_settings",
    "begin_mfa_enrolment": "mfa_settings",
    "confirm_mfa_enrolment": "mfa_settings",
    "disable_mfa": "mfa_settings",
    "regenerate_recovery_codes": "mfa_settings",
    "change_password": "password_reset",
    "request_password_reset": "password_reset",
    "reset_password": "password_reset",
    "cache_ttl": "principal_cache",
    "set_cache_ttl": "principal_cache",
    "auth_state_local": "principal_cache",
    "load_auth_state": "principal_cache",
    "auth_state": "principal_cache",
    "invalidate_users": "principal_cache",
    "invalidate_entity_members": "principal_cache",
    "revoke_access_token": "principal_cache",
    "Profile": "profile",
    "get_profile": "profile",
    "update_profile": "profile",
    "business_kind": "profile",
    "BAD_CREDENTIALS": "sign_in",
    "begin_mfa_enrolment_with_challenge": "sign_in",
    "complete_mfa": "sign_in",
    "confirm_mfa_enrolment_with_challenge": "sign_in",
    "login": "sign_in",
    "BusinessReview": "signup",
    "SignupResult": "signup",
    "US_STATES": "signup",
    "approve_entity": "signup",
    "list_businesses": "signup",
    "reject_entity": "signup",
    "signup_business": "signup",
    "suspend_entity": "signup",
    "AcceptedInvite": "team",
    "InviteInfo": "team",
    "MemberInfo": "team",
    "accept_invite": "team",
    "change_member_role": "team",
    "describe_invite": "team",
    "invite_member": "team",
    "list_invites": "team",
    "list_members": "team",
    "remove_member": "team",
    "revoke_invite": "team",
    "set_require_mfa": "team",
}

__getattr__ = exports(__name__, _HOME)
