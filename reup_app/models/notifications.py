"""In-app notifications (stored, so offline users see them at next sign-in) and preferences."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from reup_app.models.types import opt_ts_field, str_field, text_field, ts_field


class Notification(SQLModel, table=True):
    __tablename__ = "notifications"
    # the bell: a user's newest notifications in an entity, and how many are unread
    __table_args__ = (
        Index("ix_notifications_owner_newest", "user_id", "entity_id", "id"),
        Index("ix_notifications_owner_unread", "user_id", "entity_id", "read_at"),
    )

    id: int = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id")
    entity_id: int | None = Field(default=None, foreign_key="entities.id")
    kind: str = str_field(48)
    title: str = str_field(255)
    body: str | None = text_field(default=None)
    link: str | None = str_field(255, default=None)
    read_at: datetime | None = opt_ts_field()
    created_at: datetime = ts_field()


class NotificationPreference(SQLModel, table=True):
    __tablename__ = "notification_preferences"
    __table_args__ = (UniqueConstraint("user_id", "kind", name="uq_notification_prefs_user_kind"),)

    id: int = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    kind: str = str_field(48)
    in_app: bool = Field(default=True)
    email: bool = Field(default=False)
