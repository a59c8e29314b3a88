"""Notification bell and preferences states.

The bell (in every page's header) registers the browser session for pushes when it mounts, shows
the unread count and the newest notifications, and is a live listener: when an event the session
is entitled to arrives, it reloads both from the database (through the service layer, with the
re-validated principal) and, for a wholesaler receiving a new order, shows a toast.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable

import reflex as rx

from reup_app.db import run_in_unit_of_work
from reup_app.errors import ServiceError
from reup_app.events.core import DomainEvent
from reup_app.events.kinds import SESSION_RESYNC
from reup_app.realtime.listeners import live_listener
from reup_app.realtime.registry import SessionInfo, correct_session, remember_session
from reup_app.security.principal import Principal
from reup_app.services.notifications import inbox as notif_service
from reup_app.services.notifications import preferences as preferences_service
from reup_app.state.auth import AuthState
from reup_app.state.base import AppState, error_message
from reup_app.state.push_loads import LOAD_ALONE, MEMO, promise, shared

log = logging.getLogger(__name__)

BELL_ITEMS = 10
MAX_ID_LENGTH = 20


async def _toast(title: str):
    return rx.toast.info(title, duration=8000, close_button=True)


def _item_view(n: notif_service.NotificationView) -> dict[str, str]:
    return {
        "id": str(n.id),
        "title": n.title,
        "body": n.body,
        "link": n.link,
        "when": n.created_at.strftime("%b %d, %H:%M UTC"),
        "read": "yes" if n.read else "no",
    }


@live_listener(kinds=[*notif_service.KINDS, notif_service.READ_EVENT, SESSION_RESYNC])
class NotificationState(AuthState):
    """A substate of AuthState: a push loads the session's tokens with the bell in one read, and
    `_principal()` needs no second fetch (inherited fields live on the AuthState instance)."""

    unread: int = 0
    items: list[dict[str, str]] = []
    notif_error: str = ""
    bell_ready: bool = False  # registered for pushes and showing the database's count

    def _clear_bell(self) -> None:
        self.unread, self.items, self.notif_error, self.bell_ready = 0, [], "", False

    def _show(self, summary: notif_service.NotificationSummary, views: list[dict[str, str]] | None = None) -> None:
        # assign only what changed: every assignment goes into the update sent to the browser
        if self.unread != summary.unread:
            self.unread = summary.unread
        items = [dict(v) for v in views] if views is not None else [_item_view(n) for n in summary.items]
        if self.items != items:
            self.items = items
        if self.notif_error:
            self.notif_error = ""
        if not self.bell_ready:
            self.bell_ready = True

    def _fail(self, err: Exception) -> None:
        if not isinstance(err, ServiceError):
            log.exception("notification bell action failed")
        self.notif_error = error_message(err)

    async def _reload(self, principal: Principal) -> None:
        try:
            self._show(await self._call(notif_service.summary, limit=BELL_ITEMS, principal=principal))
        except Exception as err:
            self._fail(err)

    async def _mark(self, fn, *args) -> bool:
        """Run a marking service call, then show the bell as the database has it."""
        try:
            await self._call(fn, *args)
        except Exception as err:
            self._fail(err)
            return False
        await self._reload(await self._principal())
        return True

    def _client_token(self) -> str:
        return self.rx_router_session.client_token or ""

    @rx.event
    async def connect(self):
        """on_mount of the bell: register this session for pushes and show the current state."""
        principal = await self._principal()
        remember_session(self._client_token(), principal)
        if principal.is_authenticated and principal.entity_id is not None:
            await self._reload(principal)
        else:
            self._clear_bell()
            self.bell_ready = True  # registered; nothing to count for a visitor

    @staticmethod
    def _parse_id(notification_id) -> int | None:
        nid = str(notification_id)[:MAX_ID_LENGTH] if isinstance(notification_id, (str, int)) else ""
        return int(nid) if nid.isdigit() else None

    @rx.event
    async def mark_read(self, notification_id: str):
        nid = self._parse_id(notification_id)
        if nid is None:
            self.notif_error = "That notification was not found."
            return
        await self._mark(notif_service.mark_read, nid)

    @rx.event
    async def open_notification(self, notification_id: str):
        """Mark read and go to the notification's page (its link comes from the database)."""
        nid = self._parse_id(notification_id)
        if nid is None:
            self.notif_error = "That notification was not found."
            return
        if await self._mark(notif_service.mark_read, nid):
            link = next((i["link"] for i in self.items if i["id"] == str(nid)), "")
            if link.startswith("/") and not link.startswith("//"):
                return rx.redirect(link)

    @rx.event
    async def mark_all_read(self):
        await self._mark(notif_service.mark_all_read)

    @classmethod
    def _prepare_domain_event(cls, event: DomainEvent, sessions: list[SessionInfo]) -> Awaitable[None] | None:
        """Promise the bells of every registered user about to receive `event` and return the one
        query that loads them (the hub runs it while the pushes start). Only a cache keyed by
        (event, user, entity): each tab re-validates its principal and takes its own."""
        pairs = {
            (s.user_id, s.entity_id)
            for s in sessions
            if s.user_id is not None and s.entity_id is not None and s.entity_id in event.entity_ids
        }
        pairs = {p for p in pairs if (event.id, *p) not in MEMO}
        if len(pairs) < 2:
            return None  # nothing to gain over the tab's own load
        promised = {p: promise((event.id, *p)) for p in pairs}

        async def load() -> None:
            try:
                found = await run_in_unit_of_work(None, notif_service.summaries_for_push, pairs, limit=BELL_ITEMS)
                for pair, fut in promised.items():
                    summary = found[pair]
                    fut.set_result((summary, [_item_view(n) for n in summary.items]))
            finally:  # failed or cancelled: every tab loads its own
                for pair, fut in promised.items():
                    if not fut.done():
                        fut.set_result(LOAD_ALONE)
                        if MEMO.get((event.id, *pair)) is fut:
                            MEMO.pop((event.id, *pair), None)

        return load()

    async def _on_domain_event(self, event: DomainEvent):
        principal = await self._principal()
        if not principal.is_authenticated or principal.entity_id not in event.entity_ids:
            # Signed out or switched business since the session registered: fix the registry.
            correct_session(self._client_token(), principal)
            if not principal.is_authenticated:
                self._clear_bell()
            return None
        key = (event.id, principal.user_id, principal.entity_id)

        async def load():
            summary = await self._call(notif_service.summary, limit=BELL_ITEMS, principal=principal)
            return summary, [_item_view(n) for n in summary.items]

        try:
            notif_service.check_view(principal)  # what `summary` checks, for a prepared result too
            summary, views = await shared(key, load)
        except Exception as err:
            self._fail(err)
            return None
        self._show(summary, views)
        if event.kind == "order.submitted" and principal.entity_id == event.payload.get("seller_entity_id"):
            number = str(event.payload.get("order_number", ""))
            title = next(
                (i.title for i in summary.items if i.kind == "order.submitted" and i.link.endswith(number)), None
            )
            if title is not None:  # None: the user turned in-app notices of new orders off
                # built once per title and worker: every tab showing it gets the same toast
                return await shared(("toast", title), lambda: _toast(title))
        return None


class NotificationPrefsState(AppState):
    """/settings/notifications: which kinds reach the user in the app and by e-mail."""

    prefs: list[dict[str, str]] = []
    prefs_error: str = ""
    prefs_saved: str = ""
    prefs_loaded: bool = False

    async def _load(self) -> None:
        try:
            rows = await self._call(preferences_service.get_preferences)
        except Exception as err:
            self.prefs_error = error_message(err)
            self.prefs = []
            return
        self.prefs = [
            {
                "kind": r.kind,
                "label": r.label,
                "in_app": "yes" if r.in_app else "no",
                "email": "yes" if r.email else "no",
            }
            for r in rows
        ]
        self.prefs_error = ""
        self.prefs_loaded = True

    @rx.event
    async def load(self):
        if (denied := await self._gate()) is not None:
            return denied
        self.prefs_saved = ""
        await self._load()

    @rx.event
    async def set_channel(self, kind: str, channel: str, on: bool):
        """Switch one channel ("in_app" or "email") of one kind on or off."""
        current = next((p for p in self.prefs if p["kind"] == kind), None) if isinstance(kind, str) else None
        if current is None or channel not in ("in_app", "email") or not isinstance(on, bool):
            self.prefs_error = "Unknown notification setting."
            return
        values = {"in_app": current["in_app"] == "yes", "email": current["email"] == "yes", channel: on}
        try:
            await self._call(preferences_service.set_preference, kind, in_app=values["in_app"], email=values["email"])
        except Exception as err:
            self.prefs_error = error_message(err)
            return
        await self._load()
        self.prefs_saved = f"Saved: {current['label']}."
