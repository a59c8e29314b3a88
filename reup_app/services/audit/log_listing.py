"""Reading the audit trail: filter and page audit entries for admins and for a business's own rows."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from reup_app.errors import ValidationError
from reup_app.models import AuditLog, User
from reup_app.models.types import utcnow
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services.audit import describe
from reup_app.services.audit.kinds import BUSINESS_TABLES, is_technical, tables_of
from reup_app.services.audit.trail import ACTIONS


@dataclass(frozen=True)
class AuditEntry:
    id: int
    occurred_at: datetime
    actor_user_id: int | None
    actor_email: str | None
    actor_name: str | None
    actor_entity_id: int | None
    subject_entity_id: int | None
    client_ip: str | None
    action: str
    table_name: str
    row_id: str
    changes: dict[str, Any]
    summary: str = ""  # the change in the business's words, actor first
    technical: bool = False  # session/token/bookkeeping rows (hidden unless asked for)


@dataclass(frozen=True)
class AuditPage:
    items: list[AuditEntry] = field(default_factory=list)
    total: int = 0
    page: int = 1
    page_size: int = 50

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


MAX_PAGE_SIZE = 200


def _aware(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise ValidationError(f"{name} must be a date and time.", field=name)
    return value if value.tzinfo else value.replace(tzinfo=utcnow().tzinfo)


def list_audit(
    session: Session,
    principal: Principal,
    *,
    entity_id: int | None = None,
    table_name: str | None = None,
    action: str | None = None,
    actor_user_id: int | None = None,
    row_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: int = 1,
    page_size: int = 50,
    kind: str | None = None,
    technical: bool = False,
) -> AuditPage:
    """The audit trail, newest first.

    Entity owners/admins ("audit.view") see their own entity's trail (`entity_id` defaults to the
    principal's entity); platform admins see any entity's, or everything when `entity_id` is None.
    `kind` (audit.kinds.KINDS) narrows to one kind of record; without `technical` (or an explicit
    `table_name`) session, token and bookkeeping rows are left out. Each entry has a `summary`.
    """
    if entity_id is None and principal.is_platform_admin:
        authorize(principal, "platform.audit.view", None)
    else:
        entity_id = entity_id if entity_id is not None else principal.entity_id
        authorize(principal, "audit.view", entity_id)
    if action is not None and action not in ACTIONS:
        raise ValidationError("Action must be insert, update or delete.", field="action")
    if table_name is not None and (not isinstance(table_name, str) or len(table_name) > 64):
        raise ValidationError("Unknown table.", field="table_name")
    try:
        page = max(1, int(page))
        page_size = min(MAX_PAGE_SIZE, max(1, int(page_size)))
    except (TypeError, ValueError) as exc:
        raise ValidationError("Page and page size must be numbers.") from exc
    since, until = _aware(since, "since"), _aware(until, "until")

    conds = _conditions(entity_id, table_name, action, actor_user_id, row_id, since, until)
    if kind:
        conds.append(col(AuditLog.table_name).in_(tables_of(kind)))
    elif not technical and not table_name:
        conds.append(col(AuditLog.table_name).in_(sorted(BUSINESS_TABLES)))

    total = session.execute(select(func.count()).select_from(AuditLog).where(*conds)).scalar_one()
    q = (
        select(AuditLog, col(User.email), col(User.full_name))
        .outerjoin(User, col(User.id) == col(AuditLog.actor_user_id))
        .where(*conds)
        .order_by(col(AuditLog.occurred_at).desc(), col(AuditLog.id).desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    items = [_entry(row, email, name) for row, email, name in session.execute(q).all()]
    look = describe.lookups(session, items)
    items = [_summarised(e, look) for e in items]
    return AuditPage(items=items, total=int(total), page=page, page_size=page_size)


def _conditions(
    entity_id: int | None,
    table_name: str | None,
    action: str | None,
    actor_user_id: int | None,
    row_id: str | None,
    since: datetime | None,
    until: datetime | None,
) -> list[Any]:
    """The WHERE conditions for the filters that are set."""
    conds = []
    if entity_id is not None:
        conds.append(AuditLog.subject_entity_id == entity_id)
    if table_name:
        conds.append(AuditLog.table_name == table_name)
    if action:
        conds.append(AuditLog.action == action)
    if actor_user_id is not None:
        conds.append(AuditLog.actor_user_id == int(actor_user_id))
    if row_id is not None:
        conds.append(AuditLog.row_id == str(row_id))
    if since is not None:
        conds.append(AuditLog.occurred_at >= since)
    if until is not None:
        conds.append(AuditLog.occurred_at < until)
    return conds


def _summarised(e: AuditEntry, look: Any) -> AuditEntry:
    who = e.actor_name or e.actor_email or ("ReUp (system)" if e.actor_user_id is None else f"User #{e.actor_user_id}")
    text = f"{who} {describe.sentence(e, look)}"
    return replace(e, summary=text, technical=is_technical(e.table_name))


def _entry(row: AuditLog, email: str | None, name: str | None = None) -> AuditEntry:
    try:
        changes = json.loads(row.changes)
    except ValueError:
        changes = {}
    return AuditEntry(
        id=row.id,
        occurred_at=row.occurred_at,
        actor_user_id=row.actor_user_id,
        actor_email=email,
        actor_name=name,
        actor_entity_id=row.actor_entity_id,
        subject_entity_id=row.subject_entity_id,
        client_ip=row.client_ip,
        action=row.action,
        table_name=row.table_name,
        row_id=row.row_id,
        changes=changes,
    )
