"""Platform support: a read-only, audited "view as business".

A platform admin (signed in for no business) picks a business and gives a reason;
`start_support_view` records a `support_views` row (audited, the business is its subject, so the
business's own trail shows who looked and why) and the admin's tab then acts with
`security.principal.support_view(principal, entity_id)`: read-only, role viewer, refused every
write by `permissions.is_allowed` and by `db.unit_of_work`. `end_support_view` closes the row.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from reup_app.errors import NotFound, PermissionDenied, ValidationError
from reup_app.models import Entity, SupportView
from reup_app.models.types import utcnow
from reup_app.security.events import security_event
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal

MIN_REASON = 5


@dataclass(frozen=True)
class SupportViewStarted:
    view_id: int
    entity_id: int
    name: str
    kind: str


def start_support_view(session: Session, principal: Principal, entity_id: int, reason: str) -> SupportViewStarted:
    authorize(principal, "platform.support.view", None)
    if principal.read_only or principal.entity_id is not None:
        raise PermissionDenied("Start a support view from the admin console, not from inside a business.")
    text = " ".join(reason.split()) if isinstance(reason, str) else ""
    if len(text) < MIN_REASON or len(text) > 255:
        raise ValidationError("Say why you are viewing this business (5 to 255 characters).", field="reason")
    entity = session.get(Entity, entity_id) if isinstance(entity_id, int) else None
    if entity is None:
        raise NotFound("That business does not exist.")
    if principal.user_id is None:
        raise PermissionDenied("Please sign in again.")
    _close_open(session, principal)
    view = SupportView(admin_user_id=principal.user_id, entity_id=entity.id, reason=text, started_at=utcnow())
    session.add(view)
    session.flush()
    security_event(
        "support_view.started", user_id=principal.user_id, client_ip=principal.client_ip, viewed_entity=entity.id
    )
    return SupportViewStarted(view_id=view.id, entity_id=entity.id, name=entity.name, kind=entity.kind)


def end_support_view(session: Session, principal: Principal) -> int:
    """Close the admin's open support views; returns how many were open."""
    authorize(principal, "platform.support.view", None)
    return _close_open(session, principal)


def _close_open(session: Session, principal: Principal) -> int:
    rows = session.exec(
        select(SupportView).where(
            col(SupportView.admin_user_id) == principal.user_id, col(SupportView.ended_at).is_(None)
        )
    ).all()
    now = utcnow()
    for row in rows:
        row.ended_at = now
        session.add(row)
    return len(rows)


def open_support_view(session: Session, principal: Principal) -> int | None:
    """The entity of the admin's open support view (None: none open)."""
    authorize(principal, "platform.support.view", None)
    return session.exec(
        select(SupportView.entity_id)
        .where(col(SupportView.admin_user_id) == principal.user_id, col(SupportView.ended_at).is_(None))
        .order_by(col(SupportView.id).desc())
    ).first()
