"""Notifications: stored per user (so an offline user sees them at the next sign-in), written in the
same transaction as the domain event that causes them, and per-user preferences (in-app, e-mail).

`write_for_events` runs inside every unit of work that emitted events, just before it commits
(registered with `reup_app.events.core.register_precommit`): a notification exists if and only if
its event was committed, and exactly once, however many app workers or processes receive the event.
Who is told is decided here from the database (members of the event's entities whose role may see
that kind of thing, minus the user who caused it), never from the browser.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, tuple_, union_all, update
from sqlmodel import Session, col

from reup_app.errors import NotFound
from reup_app.events.core import DomainEvent, emit, register_precommit
from reup_app.events.kinds import NOTIFICATION_READ
from reup_app.models import Entity, Membership, User
from reup_app.models.notifications import Notification, NotificationPreference
from reup_app.models.types import utcnow
from reup_app.security.permissions import ACTION_ROLES, authorize
from reup_app.security.principal import Principal
from reup_app.services.common import acting_user, parse_int, require_member
from reup_app.services.notifications.email import send_email

log = logging.getLogger(__name__)

MAX_LIST = 50
READ_EVENT = NOTIFICATION_READ  # not a notification itself: tells the reader's other tabs
STATUS_WORDS = {
    "accepted": "was accepted",
    "rejected": "was rejected",
    "backorder": "is on backorder",
    "cancelled": "was cancelled",
    "fulfilled": "is packed and ready to ship",
    "shipped": "has shipped",
    "delivered": "was delivered",
    "complete": "is complete",
    "submitted": "was submitted",
}


@dataclass(frozen=True)
class NotificationKind:
    """One kind of notification: the event it comes from, who hears of it, its default channels."""

    key: str  # the domain event kind
    label: str  # shown on the preferences page
    action: str  # a member must hold a role allowed this action (ACTION_ROLES) to be told
    sides: str  # "seller" / "buyer" of an order, "parties" (both), "other_party" (not the author's), "entity"
    email_default: bool = False


KINDS: dict[str, NotificationKind] = {
    k.key: k
    for k in (
        NotificationKind("order.submitted", "New orders from retailers", "order.view", "seller"),
        NotificationKind("order.status_changed", "Order status changes", "order.view", "parties"),
        NotificationKind("order.message", "Messages on orders", "order.view", "other_party"),
        NotificationKind("order.lines_edited", "Changes the seller makes to your order", "order.view", "buyer"),
        NotificationKind("invoice.created", "New invoices", "invoice.view", "buyer"),
        NotificationKind("invoice.payment_recorded", "Payments recorded", "invoice.view", "parties"),
        NotificationKind("customer.hold_changed", "Account holds", "order.view", "buyer"),
        NotificationKind("delivery.driver_changed", "Driver changes on deliveries under way", "order.view", "seller"),
        NotificationKind("sync.finished", "Integration syncs finished", "integration.manage", "entity"),
        NotificationKind("sync.failed", "Integration syncs failed", "integration.manage", "entity", email_default=True),
        NotificationKind("license.expired", "License expiry", "team.manage", "entity", email_default=True),
        NotificationKind("license.reviewed", "Licence and document reviews", "entity.documents", "entity"),
    )
}


@dataclass(frozen=True)
class NotificationView:
    id: int
    kind: str
    title: str
    body: str
    link: str
    created_at: datetime
    read: bool


@dataclass(frozen=True)
class NotificationSummary:
    unread: int
    items: list[NotificationView]


# --------------------------------------------------------------------------------------------
# Writing (inside the emitting transaction)
# --------------------------------------------------------------------------------------------


def _audience_entities(kind: NotificationKind, ev: DomainEvent) -> list[int]:
    p = ev.payload
    buyer, seller = p.get("buyer_entity_id"), p.get("seller_entity_id")
    if kind.sides == "seller":
        ids = [seller]
    elif kind.sides == "buyer":
        ids = [buyer]
    elif kind.sides == "other_party":
        ids = [e for e in (buyer, seller) if e != p.get("author_entity_id")]
    else:  # parties / entity: the event's own audience
        ids = list(ev.entity_ids)
    # never wider than the event's audience
    return [int(e) for e in ids if e is not None and int(e) in ev.entity_ids]


def _text(kind: str, ev: DomainEvent, names: dict[Any, str]) -> tuple[str, str, str | None]:
    """(title, body, link) of one event's notification."""
    p = ev.payload
    number = p.get("order_number", "")
    link = f"/orders/{number}" if number else None
    buyer = names.get(p.get("buyer_entity_id"), "a retailer")
    seller = names.get(p.get("seller_entity_id"), "the wholesaler")
    if kind == "order.submitted":
        return f"New order {number} from {buyer}", f"Total ${p.get('total', '')}", link
    if kind == "order.status_changed":
        return f"Order {number} {STATUS_WORDS.get(p.get('status', ''), 'changed status')}", f"{buyer} ← {seller}", link
    if kind == "order.message":
        return f"New message on order {number}", f"{p.get('author_name', '')}: {p.get('preview', '')}", link
    if kind == "order.lines_edited":
        return f"{seller} changed order {number}", f"New total ${p.get('total', '')}", link
    if kind == "invoice.created":
        return (
            f"Invoice {p.get('invoice_number', '')} from {seller}",
            f"Order {number}, total ${p.get('total', '')}",
            link,
        )
    if kind == "invoice.payment_recorded":
        return (
            f"Payment of ${p.get('amount', '')} on {p.get('invoice_number', '')}",
            f"Balance ${p.get('balance', '')}",
            link,
        )
    if kind == "customer.hold_changed":
        on_hold = bool(p.get("on_hold"))
        return (
            (f"{seller} put your account on hold" if on_hold else f"{seller} lifted the hold on your account"),
            (p.get("reason") or ""),
            None,
        )
    if kind in ("sync.finished", "sync.failed"):
        what = str(p.get("integration", "integration")).upper()
        verb = "finished" if kind == "sync.finished" else "failed"
        return f"{what} sync {verb}", str(p.get("summary", ""))[:1000], None
    if kind == "license.expired":
        return f"License {p.get('number', '')} expired", f"Expired on {p.get('expires_on', '')}", None
    return str(p.get("title") or kind)[:255], str(p.get("body") or "")[:1000], p.get("link") or link  # self-described


def _recipients(
    session: Session, kind: NotificationKind, entity_ids: list[int], exclude_user: int | None
) -> list[tuple[int, int, str]]:
    """(user_id, entity_id, email) of active members whose role may see this kind."""
    if not entity_ids:
        return []
    roles = sorted(ACTION_ROLES[kind.action])
    active = col(User.is_active).is_(True)
    rows = session.execute(
        select(col(Membership.user_id), col(Membership.entity_id), col(User.email))
        .join(User, col(User.id) == col(Membership.user_id))
        .where(col(Membership.entity_id).in_(entity_ids), col(Membership.role).in_(roles), active)
        .order_by(col(Membership.user_id))
    ).all()
    return [(u, e, email) for u, e, email in rows if u != exclude_user]


def _preferences(
    session: Session, user_ids: Iterable[int], kinds: Iterable[str]
) -> dict[tuple[int, str], tuple[bool, bool]]:
    ids, ks = list(set(user_ids)), list(set(kinds))
    if not ids or not ks:
        return {}
    pref = NotificationPreference
    rows = session.execute(select(pref).where(col(pref.user_id).in_(ids), col(pref.kind).in_(ks))).scalars()
    return {(r.user_id, r.kind): (r.in_app, r.email) for r in rows}


def write_for_events(session: Session, events: list[DomainEvent]) -> int:
    """Create the notifications (and queue the e-mails) of `events`; returns how many were stored."""
    relevant = [ev for ev in events if ev.kind in KINDS]
    if not relevant:
        return 0
    principal = session.info.get("principal")
    actor = getattr(principal, "user_id", None)
    names_needed = {
        e
        for ev in relevant
        for e in (ev.payload.get("buyer_entity_id"), ev.payload.get("seller_entity_id"))
        if e is not None
    }
    names = (
        dict(session.execute(select(col(Entity.id), col(Entity.name)).where(col(Entity.id).in_(names_needed))).all())
        if names_needed
        else {}
    )
    plan = []
    for ev in relevant:
        kind = KINDS[ev.kind]
        people = _recipients(session, kind, _audience_entities(kind, ev), actor)
        if ev.user_ids:
            people = [r for r in people if r[0] in ev.user_ids]
        plan.append((ev, kind, people))
    prefs = _preferences(session, (u for _, _, people in plan for u, _, _ in people), (ev.kind for ev in relevant))
    now, rows = utcnow(), []
    for ev, kind, people in plan:
        title, body, link = _text(ev.kind, ev, names)
        for user_id, entity_id, email in people:
            in_app, by_email = prefs.get((user_id, ev.kind), (True, kind.email_default))
            if in_app:
                rows.append(
                    {
                        "user_id": user_id,
                        "entity_id": entity_id,
                        "kind": ev.kind,
                        "title": title[:255],
                        "body": body,
                        "link": link,
                        "created_at": now,
                    }
                )
            if by_email:
                text = f"{title}\n\n{body}\n" + (f"\n{_absolute(link)}\n" if link else "")
                send_email(session, email, f"ReUp: {title}", text)
    if rows:  # one multi-row INSERT: an order may reach every member of a large wholesaler
        session.execute(insert(Notification), rows)
    session.flush()
    return len(rows)


def _absolute(link: str) -> str:
    from reup_app.settings import get_settings

    return get_settings().app_url + link


def _write_safely(session: Session, events: list[DomainEvent]) -> None:
    """A failure to write notifications must not lose the business change: it is logged instead."""
    if not any(ev.kind in KINDS for ev in events):
        return
    try:
        with session.begin_nested():
            write_for_events(session, events)
    except Exception:
        log.exception("writing notifications failed for %s", [ev.kind for ev in events])


register_precommit(_write_safely)


# --------------------------------------------------------------------------------------------
# Reading and marking (the signed-in user's own notifications only)
# --------------------------------------------------------------------------------------------


def _me(principal: Principal) -> tuple[int, int]:
    entity_id = require_member(principal)
    authorize(principal, "notification.view", entity_id)
    return acting_user(principal), entity_id


def _mine(user_id: int, entity_id: int):
    return (Notification.user_id == user_id) & (Notification.entity_id == entity_id)


def check_view(principal: Principal) -> None:
    """Raise unless the principal may see its own notifications (in its current entity)."""
    _me(principal)


def _newest(user_id: int, entity_id: int, limit: int):
    return (
        select(
            col(Notification.user_id),
            col(Notification.entity_id),
            col(Notification.id),
            col(Notification.kind),
            col(Notification.title),
            col(Notification.body),
            col(Notification.link),
            col(Notification.created_at),
            col(Notification.read_at),
        )
        .where(_mine(user_id, entity_id))
        .order_by(col(Notification.id).desc())
        .limit(limit)
    )


def _summaries(
    session: Session, pairs: list[tuple[int, int]], limit: int
) -> dict[tuple[int, int], NotificationSummary]:
    """Unread counts and newest notifications of (user, entity) pairs: two round trips, columns
    rather than ORM objects (the bell reloads this on every push)."""
    out = {pair: NotificationSummary(unread=0, items=[]) for pair in pairs}
    if not pairs:
        return out
    owners = tuple_(Notification.user_id, Notification.entity_id).in_(pairs)
    counts = session.execute(
        select(col(Notification.user_id), col(Notification.entity_id), func.count())
        .where(owners, col(Notification.read_at).is_(None))
        .group_by(col(Notification.user_id), col(Notification.entity_id))
    ).all()
    for user_id, entity_id, unread in counts:
        out[(user_id, entity_id)] = NotificationSummary(unread=int(unread), items=[])
    parts = [_newest(u, e, limit) for u, e in pairs]
    if session.get_bind().dialect.name == "sqlite":  # no parenthesised members in a compound select
        parts = [select(*part.subquery().c) for part in parts]
    for n in session.execute(union_all(*parts) if len(parts) > 1 else parts[0]).all():
        out[(n.user_id, n.entity_id)].items.append(
            NotificationView(
                id=n.id,
                kind=n.kind,
                title=n.title,
                body=n.body or "",
                link=n.link or "",
                created_at=n.created_at,
                read=n.read_at is not None,
            )
        )
    return out


def summary(session: Session, principal: Principal, *, limit: int = 10) -> NotificationSummary:
    """The unread count and the newest `limit` notifications of the principal (in its current entity)."""
    user_id, entity_id = _me(principal)
    limit = max(1, min(int(limit), MAX_LIST))
    return _summaries(session, [(user_id, entity_id)], limit)[(user_id, entity_id)]


PUSH_BATCH = 100


def summaries_for_push(
    session: Session, pairs: Iterable[tuple[int, int]], *, limit: int = 10
) -> dict[tuple[int, int], NotificationSummary]:
    """System read for the push layer: the bells of many (user, entity) pairs at once (a few round
    trips per PUSH_BATCH pairs), when one event reaches many signed-in users. The caller must hand
    each summary only to a session whose re-validated principal is that user in that entity and
    passes `check_view`; pairs without notifications get an empty summary."""
    wanted = sorted({(int(u), int(e)) for u, e in pairs})
    limit = max(1, min(int(limit), MAX_LIST))
    out: dict[tuple[int, int], NotificationSummary] = {}
    for i in range(0, len(wanted), PUSH_BATCH):
        out.update(_summaries(session, wanted[i : i + PUSH_BATCH], limit))
    return out


def unread_count(session: Session, principal: Principal) -> int:
    user_id, entity_id = _me(principal)
    return int(
        session.execute(
            select(func.count())
            .select_from(Notification)
            .where(_mine(user_id, entity_id), col(Notification.read_at).is_(None))
        ).scalar_one()
    )


def mark_read(session: Session, principal: Principal, notification_id: Any) -> None:
    """Mark one of the principal's own notifications read (someone else's is "not found")."""
    user_id, entity_id = _me(principal)
    nid = parse_int(notification_id, "notification_id")
    row = session.get(Notification, nid)
    if row is None or row.user_id != user_id or row.entity_id != entity_id:
        raise NotFound("That notification was not found.")
    if row.read_at is None:
        row.read_at = utcnow()
        session.add(row)
        session.flush()
        _emit_read(session, user_id, entity_id)


def _emit_read(session: Session, user_id: int, entity_id: int) -> None:
    """The user's other open tabs (any worker or process) update their bell."""
    emit(session, READ_EVENT, entity_ids=[entity_id], user_ids=[user_id])


def mark_all_read(session: Session, principal: Principal) -> int:
    user_id, entity_id = _me(principal)
    unread = col(Notification.read_at).is_(None)
    result = session.execute(update(Notification).where(_mine(user_id, entity_id), unread).values(read_at=utcnow()))
    changed = int(result.rowcount or 0)  # type: ignore[attr-defined]  # an UPDATE/DELETE yields a CursorResult; Session.execute is typed Result
    if changed:
        _emit_read(session, user_id, entity_id)
    return changed


# --------------------------------------------------------------------------------------------
# Preferences
# --------------------------------------------------------------------------------------------
