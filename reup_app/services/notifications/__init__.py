"""Notifications: the in-app inbox written from domain events, users' notification preferences, and
the one e-mail sender.

Modules, and the public functions re-exported here (loaded on first use):

- `email`: The one e-mail sender. `send_email`.
- `inbox`: Notifications: stored per user (so an offline user sees them at the next sign-in),
  written in the. `write_for_events`, `check_view`, `summary`, `summaries_for_push`, `unread_count`,
  `mark_read`, `mark_all_read`.
- `preferences`: Notification preferences: which kinds of notification each user wants, and by which
  channel. `get_preferences`, `set_preference`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reup_app.services.lazy_exports import exports

if TYPE_CHECKING:
    from reup_app.services.notifications.email import (
        send_email,
    )
    from reup_app.services.notifications.inbox import (
        NotificationKind,
        NotificationSummary,
        NotificationView,
        check_view,
        mark_all_read,
        mark_read,
        summaries_for_push,
        summary,
        unread_count,
        write_for_events,
    )
    from reup_app.services.notifications.preferences import (
        PreferenceView,
        get_preferences,
        set_preference,
    )

__all__ = [
    "send_email",
    "NotificationKind",
    "NotificationView",
    "NotificationSummary",
    "write_for_events",
    "check_view",
    "summary",
    "summaries_for_push",
    "unread_count",
    "mark_read",
    "mark_all_read",
    "PreferenceView",
    "get_preferences",
    "set_preference",
]

_HOME = {
    "send_email": "email",
    "NotificationKind": "inbox",
    "NotificationView": "inbox",
    "NotificationSummary": "inbox",
    "write_for_events": "inbox",
    "check_view": "inbox",
    "summary": "inbox",
    "summaries_for_push": "inbox",
    "unread_count": "inbox",
    "mark_read": "inbox",
    "mark_all_read": "inbox",
    "PreferenceView": "preferences",
    "get_preferences": "preferences",
    "set_preference": "preferences",
}

__getattr__ = exports(__name__, _HOME)
