"""The audit trail: one mechanism, at the ORM layer.

`install_audit_listener()` (called by every entry point: app, worker, CLI, tests) registers an ``after_flush`` listener on
`sqlmodel.Session`. At that point the flush has executed, so new rows have their ids, while the
session still knows what was inserted, changed and deleted and each attribute's old value. For
every insert/update/delete of an audited table it writes one `AuditLog` row through the same
connection, i.e. in the same transaction: a rollback (or a rolled-back savepoint) removes the
audit rows with the change. Nobody writes AuditLog by hand.

Each row records
- the actor from ``session.info["principal"]`` (`unit_of_work(principal)` puts it there): user id,
  acting entity id, client ip. The system principal and anonymous work have actor_user_id None;
- the table, the row id (composite keys joined by ":"), and the changed fields as
  ``{"field": [before, after]}`` JSON (inserts: ``[null, value]``; deletes: ``[value, null]``);
  Decimal, date and datetime become strings; long values are truncated;
- secrets redacted: any column whose name contains secret/token/password/hash (except
  ``token_version``), plus `REDACTED_COLUMNS`, is written as ``"[redacted]"`` (null stays null,
  so "MFA secret set/cleared" remains visible);
- ``subject_entity_id``: the entity whose data changed, so its owners can browse their trail:
  ``entities`` -> its id; a row with ``entity_id`` -> that; two-party rows (orders, invoices and
  their children) -> the acting party when the actor is one of them, else the seller; child rows
  (order lines, payments, lots, images ...) -> their parent's; ``users`` and other per-person
  rows without an entity -> none (platform admins only).

Not audited (`EXCLUDED_TABLES`): audit_log itself; email_outbox (it is itself a log, and its
bodies carry sign-in links); notifications (derived from the audited change that caused them, one
row per recipient: an order reaching a wholesaler's 40 members would add 40 audit rows saying
nothing the order's own rows don't); webhook_receipts, sync_runs and sync_cursors (high-volume
machine bookkeeping of the integrations, kept in their own tables). refresh_tokens ARE audited (with
token_hash redacted): issuing, rotating and revoking sessions is security-relevant and the volume is
about one row per session-hour.

ORM bulk ``update()``/``delete()`` statements bypass the unit of work; they are recorded as one
row with row_id ``"*"`` and the statement text (subject unknown, visible to platform admins).
An admin action on an excluded table (retrying a dead webhook receipt) is audited all the same: the
service calls `audit_also(session, table)` before the change, for that session only.

Raw ``text()`` SQL is not audited: services must not change business data that way.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import Table, event, inspect, select
from sqlalchemy.orm import attributes
from sqlalchemy.orm.base import PASSIVE_NO_INITIALIZE
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session

from reup_app.models import AuditLog
from reup_app.models.types import utcnow

log = logging.getLogger(__name__)

REDACTED = "[redacted]"
EXCLUDED_TABLES = frozenset(
    {"audit_log", "email_outbox", "notifications", "webhook_receipts", "sync_runs", "sync_cursors"}
)
REDACTED_COLUMNS = frozenset(
    {
        "password_hash",
        "mfa_secret_encrypted",
        "token_hash",
        "code_hash",
        "credentials_encrypted",
    }
)
_SECRET_WORDS = ("secret", "token", "password", "hash", "credential")
NOT_SECRET_COLUMNS = frozenset({"token_version"})
MAX_VALUE_CHARS = 2000
ACTIONS = ("insert", "update", "delete")

# child table -> (foreign key column, parent table) for deriving the subject entity.
PARENTS: dict[str, tuple[str, str]] = {
    "order_lines": ("order_id", "orders"),
    "order_line_allocations": ("order_line_id", "order_lines"),
    "order_events": ("order_id", "orders"),
    "order_messages": ("order_id", "orders"),
    "deliveries": ("order_id", "orders"),
    "compliance_manifests": ("order_id", "orders"),
    "product_images": ("product_id", "products"),
    "price_tier_prices": ("price_tier_id", "price_tiers"),
    "inventory_lots": ("license_id", "licenses"),
    "payments": ("invoice_id", "invoices"),
    "sync_cursors": ("connection_id", "integration_connections"),
    "sync_runs": ("connection_id", "integration_connections"),
}
# Tables whose rows belong to no entity (subject stays None).
PERSONAL_TABLES = frozenset({"users", "mfa_recovery_codes", "notification_preferences"})
_OWNER_COLUMNS = ("entity_id", "seller_entity_id", "buyer_entity_id")


AUDIT_ALSO_KEY = "reup_audit_also"


def audit_also(session, table_name: str) -> None:
    """Audit this session's changes to `table_name` even though the table is excluded."""
    session.info.setdefault(AUDIT_ALSO_KEY, set()).add(table_name)


def is_secret_column(name: str) -> bool:
    n = name.lower()
    if n in NOT_SECRET_COLUMNS:
        return False
    return n in REDACTED_COLUMNS or any(w in n for w in _SECRET_WORDS)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Enum):
        return _jsonable(value.value)
    if isinstance(value, (bytes, bytearray)):
        return f"[{len(value)} bytes]"
    text = str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "...[truncated]"


def _value(name: str, value: Any) -> Any:
    if value is not None and is_secret_column(name):
        return REDACTED
    return _jsonable(value)


# --- the listener ---------------------------------------------------------------------------


def _actor(session) -> tuple[int | None, int | None, str | None]:
    p = session.info.get("principal")
    if p is None:
        return None, None, None
    is_user = getattr(p, "is_authenticated", False)
    user_id = getattr(p, "user_id", None) if is_user else None
    entity_id = getattr(p, "entity_id", None) if is_user else None
    ip = getattr(p, "client_ip", None)
    return user_id, entity_id, (ip[:64] if ip else None)


class _OwnerLookup:
    """Resolves (entity, seller, buyer) of parent rows, cached for one flush. A parent the session
    already holds (an order written in the same flush as its lines, say) is read from the session."""

    def __init__(self, session) -> None:
        self.session = session
        self.conn = session.connection()
        self.cache: dict[tuple[str, Any], dict[str, Any]] = {}

    def _held(self, parent: str, parent_id: Any, names: list[str]) -> dict[str, Any] | None:
        cls = _mapped_classes().get(parent)
        obj = self.session.identity_map.get(identity_key(cls, parent_id)) if cls is not None else None
        if obj is None:
            return None
        loaded = inspect(obj).dict
        return {n: loaded[n] for n in names} if all(n in loaded for n in names) else None

    def owners(self, table_name: str, row_values: dict[str, Any], depth: int = 0) -> dict[str, Any]:
        found = {c: row_values.get(c) for c in _OWNER_COLUMNS if row_values.get(c) is not None}
        if found or depth > 3 or table_name not in PARENTS:
            return found
        fk, parent = PARENTS[table_name]
        parent_id = row_values.get(fk)
        if parent_id is None:
            return {}
        key = (parent, parent_id)
        if key not in self.cache:
            from sqlmodel import SQLModel

            t = SQLModel.metadata.tables[parent]
            cols = [t.c[c] for c in (*_OWNER_COLUMNS, PARENTS.get(parent, ("id", ""))[0]) if c in t.c]
            row = self._held(parent, parent_id, [c.name for c in cols])
            if row is None:
                found = self.conn.execute(select(*cols).where(t.c.id == parent_id)).mappings().first()
                row = dict(found) if found else {}
            self.cache[key] = self.owners(parent, row, depth + 1)
        return self.cache[key]


_CLASSES: dict[str, type] = {}


def _mapped_classes() -> dict[str, type]:
    """Table name -> mapped model class (columns and attributes share names in these models)."""
    if not _CLASSES:
        from sqlmodel import SQLModel

        for mapper in SQLModel._sa_registry.mappers:
            if isinstance(mapper.local_table, Table):
                _CLASSES[mapper.local_table.name] = mapper.class_
    return _CLASSES


def _subject(
    table_name: str, pk: dict[str, Any], values: dict[str, Any], actor_entity: int | None, lookup: _OwnerLookup
) -> int | None:
    if table_name == "entities":
        return pk.get("id")
    if table_name in PERSONAL_TABLES:
        return None
    owners = lookup.owners(table_name, values)
    seller, buyer = owners.get("seller_entity_id"), owners.get("buyer_entity_id")
    if seller is not None and buyer is not None:
        return actor_entity if actor_entity in (seller, buyer) else seller
    for c in _OWNER_COLUMNS:
        if owners.get(c) is not None:
            return owners[c]
    return actor_entity


def _row_for(obj, action: str, actor: tuple, lookup: _OwnerLookup, now: datetime) -> dict[str, Any] | None:
    state = inspect(obj)
    mapper = state.mapper
    table_name = mapper.local_table.name
    if table_name in EXCLUDED_TABLES and table_name not in lookup.session.info.get(AUDIT_ALSO_KEY, ()):
        return None
    changes: dict[str, list[Any]] = {}
    values: dict[str, Any] = {}  # current (or, for deletes, last) values for subject resolution
    for prop in mapper.column_attrs:
        key = prop.key
        name = prop.columns[0].name
        if action == "update":
            hist = attributes.get_state_history(state, key, PASSIVE_NO_INITIALIZE)
            current = state.dict.get(key)
            values[name] = current
            if not hist.added and not hist.deleted:
                continue
            before = hist.deleted[0] if hist.deleted else None
            after = hist.added[0] if hist.added else current
            if before == after and hist.deleted:
                continue
            changes[name] = [_value(name, before), _value(name, after)]
        else:
            if key not in state.dict:
                continue
            v = state.dict[key]
            values[name] = v
            if v is None and action == "insert":
                continue
            changes[name] = [_value(name, v), None] if action == "delete" else [None, _value(name, v)]
    if action == "update" and not changes:
        return None
    pk_cols = mapper.primary_key
    pk = {c.name: values.get(c.name) for c in pk_cols}
    if any(v is None for v in pk.values()):
        try:
            ident = mapper.primary_key_from_instance(obj)
            pk = {c.name: v for c, v in zip(pk_cols, ident, strict=True)}
        except Exception:  # pragma: no cover - defensive
            pass
    row_id = ":".join("" if v is None else str(v) for v in pk.values())
    actor_user, actor_entity, ip = actor
    return {
        "occurred_at": now,
        "actor_user_id": actor_user,
        "actor_entity_id": actor_entity,
        "subject_entity_id": _subject(table_name, pk, values, actor_entity, lookup),
        "client_ip": ip,
        "action": action,
        "table_name": table_name,
        "row_id": row_id[:64],
        "changes": json.dumps(changes, sort_keys=True, default=str),
    }


def _after_flush(session, flush_context) -> None:
    if session.info.get("audit_disabled"):
        return
    actor = _actor(session)
    conn = session.connection()
    lookup = _OwnerLookup(session)
    now = utcnow()
    rows = []
    for action, objs in (("insert", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in list(objs):
            if action == "update" and obj in session.deleted:
                continue
            row = _row_for(obj, action, actor, lookup, now)
            if row is not None:
                rows.append(row)
    if rows:
        _insert(conn, rows)


def _insert(conn, rows: list[dict[str, Any]]) -> None:
    conn.execute(AuditLog.__table__.insert(), rows)  # type: ignore[attr-defined]  # set by SQLAlchemy's declarative mapping; SQLModel's stubs omit it


def _do_orm_execute(state) -> None:
    if not (state.is_update or state.is_delete) or state.session.info.get("audit_disabled"):
        return
    mapper = state.bind_mapper
    table_name = mapper.local_table.name if mapper is not None else "?"
    if table_name in EXCLUDED_TABLES:
        return
    params = state.parameters if isinstance(state.parameters, dict) else {}
    actor_user, actor_entity, ip = _actor(state.session)
    changes = {
        "_bulk_sql": [None, _jsonable(str(state.statement))],
        "_params": [None, {k: _value(k, v) for k, v in params.items()}],
    }
    _insert(
        state.session.connection(),
        [
            {
                "occurred_at": utcnow(),
                "actor_user_id": actor_user,
                "actor_entity_id": actor_entity,
                "subject_entity_id": None,
                "client_ip": ip,
                "action": "update" if state.is_update else "delete",
                "table_name": table_name,
                "row_id": "*",
                "changes": json.dumps(changes, default=str),
            }
        ],
    )


def install_audit_listener() -> None:
    """Register the listeners on sqlmodel.Session (idempotent)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
    if not event.contains(Session, "do_orm_execute", _do_orm_execute):
        event.listen(Session, "do_orm_execute", _do_orm_execute)


# --- reading the trail ----------------------------------------------------------------------
