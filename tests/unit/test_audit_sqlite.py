"""The audit listener also works on the embedded SQLite database (first-run default)."""

from __future__ import annotations

import json

from sqlmodel import Session, select

from reup_app import migrations
from reup_app.db import build_engine, unit_of_work
from reup_app.models import AuditLog, Entity
from reup_app.security.principal import Principal


def test_audit_rows_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'reup.db'}"
    migrations.upgrade(url)
    engine = build_engine(url)
    try:
        with unit_of_work(None, engine=engine) as s:
            s.add(Entity(name="A", kind="retailer"))
            s.add(Entity(name="B", kind="wholesaler"))
        actor = Principal(user_id=None, kind="system")
        with unit_of_work(actor, engine=engine) as s:
            e = s.exec(select(Entity).where(Entity.name == "A")).one()
            e.name = "A2"
            s.add(e)
        with Session(engine) as s:
            rows = s.exec(select(AuditLog).order_by(AuditLog.id)).all()
        assert [(r.id, r.action, r.table_name) for r in rows] == [
            (1, "insert", "entities"),
            (2, "insert", "entities"),
            (3, "update", "entities"),
        ]
        assert json.loads(rows[2].changes) == {"name": ["A", "A2"]}
        assert rows[2].subject_entity_id == int(rows[2].row_id)
    finally:
        engine.dispose()
