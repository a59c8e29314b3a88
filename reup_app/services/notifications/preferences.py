"""Notification preferences: which kinds of notification each user wants, and by which channel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from reup_app.errors import ValidationError
from reup_app.models.notifications import NotificationPreference
from reup_app.security.permissions import ACTION_ROLES
from reup_app.security.principal import Principal
from reup_app.services.notifications.inbox import KINDS, NotificationKind, _me, _preferences


@dataclass(frozen=True)
class PreferenceView:
    kind: str
    label: str
    in_app: bool
    email: bool


def _kinds_for(principal: Principal) -> list[NotificationKind]:
    """The kinds this principal's role can receive at all (others are not offered)."""
    return [k for k in KINDS.values() if principal.has_role(*ACTION_ROLES[k.action])]


def get_preferences(session: Session, principal: Principal) -> list[PreferenceView]:
    user_id, _entity_id = _me(principal)
    kinds = _kinds_for(principal)
    prefs = _preferences(session, [user_id], [k.key for k in kinds])
    return [
        PreferenceView(
            kind=k.key,
            label=k.label,
            in_app=prefs.get((user_id, k.key), (True, k.email_default))[0],
            email=prefs.get((user_id, k.key), (True, k.email_default))[1],
        )
        for k in kinds
    ]


def set_preference(session: Session, principal: Principal, kind: Any, *, in_app: Any, email: Any) -> PreferenceView:
    """Choose the channels of one kind for the principal's own user."""
    user_id, _entity_id = _me(principal)
    if not isinstance(kind, str) or kind not in KINDS:
        raise ValidationError("Unknown notification type.", "kind")
    if not isinstance(in_app, bool) or not isinstance(email, bool):
        raise ValidationError("Choose on or off for each channel.", "channel")
    k = KINDS[kind]
    if k not in _kinds_for(principal):
        raise ValidationError("Your role does not receive that type of notification.", "kind")
    row = (
        session.execute(
            select(NotificationPreference)
            .where(col(NotificationPreference.user_id) == user_id, col(NotificationPreference.kind) == kind)
            .with_for_update()
        )
        .scalars()
        .first()
    )
    if row is None:
        row = NotificationPreference(user_id=user_id, kind=kind)
    row.in_app, row.email = in_app, email
    session.add(row)
    session.flush()
    return PreferenceView(kind=kind, label=k.label, in_app=in_app, email=email)
