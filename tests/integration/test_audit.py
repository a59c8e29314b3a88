"""The ORM audit listener and the audit trail reader (MySQL)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event
from sqlmodel import select, update

from reup_app.db import unit_of_work
from reup_app.errors import NotAuthenticated, PermissionDenied, ValidationError
from reup_app.models import AuditLog, Brand, EmailOutbox, User
from reup_app.models.types import utcnow
from reup_app.security.principal import ANONYMOUS, Principal, system_principal
from reup_app.security.ratelimit import MemoryBackend, set_backend
from reup_app.security.tokens import issue_refresh_token
from reup_app.services.audit.log_listing import list_audit
from reup_app.services.audit.trail import REDACTED, is_secret_column
from tests.factories import make_brand, make_entity, make_license, make_lot, make_member, make_product
from tests.identity_support import admin_principal, audit_rows, fresh, sfx


@pytest.fixture(autouse=True)
def fresh_backend():
    set_backend(MemoryBackend())
    yield
    set_backend(None)


def with_ip(p: Principal, ip: str) -> Principal:
    return Principal(
        user_id=p.user_id,
        entity_id=p.entity_id,
        roles=p.roles,
        is_platform_admin=p.is_platform_admin,
        token_version=p.token_version,
        client_ip=ip,
    )


def test_insert_update_delete_recorded_with_actor(session):
    entity = make_entity(session)
    user, owner = make_member(session, entity, "owner")
    actor = with_ip(owner, "203.0.113.7")
    name = f"Brand {sfx()}"
    with unit_of_work(actor) as s:
        brand = Brand(entity_id=entity.id, name=name)
        s.add(brand)
    with unit_of_work(actor) as s:
        b = s.get(Brand, brand.id)
        b.name = name + " renamed"
        s.add(b)
    with unit_of_work(actor) as s:
        s.delete(s.get(Brand, brand.id))

    rows = audit_rows(session, "brands", brand.id)
    assert [r.action for r in rows] == ["insert", "update", "delete"]
    for r in rows:
        assert r.actor_user_id == user.id and r.actor_entity_id == entity.id
        assert r.subject_entity_id == entity.id and r.client_ip == "203.0.113.7"
    ins, upd, dele = (json.loads(r.changes) for r in rows)
    assert ins["name"] == [None, name] and ins["entity_id"] == [None, entity.id] and ins["id"] == [None, brand.id]
    assert upd == {"name": [name, name + " renamed"]}
    assert dele["name"] == [name + " renamed", None]


def test_unchanged_update_writes_nothing(session):
    entity = make_entity(session)
    brand = make_brand(session, entity)
    with unit_of_work(None) as s:
        b = s.get(Brand, brand.id)
        b.name = brand.name  # same value
        s.add(b)
    assert [r.action for r in audit_rows(session, "brands", brand.id)] == ["insert"]


def test_system_principal_and_no_principal_have_no_actor(session):
    entity = make_entity(session)
    with unit_of_work(system_principal("sync")) as s:
        s.add(Brand(entity_id=entity.id, name=f"B {sfx()}"))
        s.flush()
        bid = s.exec(select(Brand.id).where(Brand.entity_id == entity.id)).first()
    row = audit_rows(session, "brands", bid)[0]
    assert row.actor_user_id is None and row.actor_entity_id is None and row.subject_entity_id == entity.id


def test_secrets_are_redacted(session):
    entity = make_entity(session)
    user, owner = make_member(session, entity, "owner")
    with unit_of_work(owner) as s:
        u = s.get(User, user.id)
        u.password_hash = "$argon2id$v=19$new-hash-value"
        u.mfa_secret_encrypted = "v1:k:ciphertext"
        u.token_version = u.token_version + 1
        s.add(u)
        raw, rt = issue_refresh_token(s, user_id=user.id, entity_id=entity.id)
    upd = json.loads(audit_rows(session, "users", user.id)[-1].changes)
    assert upd["password_hash"] == [REDACTED, REDACTED]
    assert upd["mfa_secret_encrypted"] == [None, REDACTED]  # "set" stays visible
    assert upd["token_version"][1] == upd["token_version"][0] + 1  # not a secret
    ins = json.loads(audit_rows(session, "refresh_tokens", rt.id)[0].changes)
    assert ins["token_hash"] == [None, REDACTED] and ins["family_id"][1] == rt.family_id
    dump = json.dumps([r.changes for r in audit_rows(session, "users", user.id)])
    assert "new-hash-value" not in dump and "ciphertext" not in dump and user.password_hash not in dump
    assert raw not in json.dumps(ins)
    assert audit_rows(session, "users", user.id)[-1].subject_entity_id is None


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("password_hash", True),
        ("mfa_secret_encrypted", True),
        ("token_hash", True),
        ("code_hash", True),
        ("credentials_encrypted", True),
        ("api_token", True),
        ("client_secret", True),
        ("token_version", False),
        ("name", False),
        ("email", False),
    ],
)
def test_secret_column_rule(name, secret):
    assert is_secret_column(name) is secret


def test_decimal_and_datetime_serialised_and_child_rows_get_parent_entity(session):
    entity = make_entity(session)
    lic = make_license(session, entity)
    product = make_product(session, entity, unit_price=Decimal("12.50"))
    lot = make_lot(session, product, lic, quantity=Decimal("7.250"))
    ins = json.loads(audit_rows(session, "products", product.id)[0].changes)
    assert ins["unit_price"] == [None, "12.50"]
    assert isinstance(ins["created_at"][1], str) and ins["created_at"][1].startswith(str(utcnow().year))
    lot_row = audit_rows(session, "inventory_lots", lot.id)[0]
    assert lot_row.subject_entity_id == entity.id  # via its license
    assert json.loads(lot_row.changes)["quantity_on_hand"] == [None, "7.250"]


def test_rolled_back_transaction_leaves_no_audit_row(session):
    entity = make_entity(session)
    seen = {}
    with pytest.raises(RuntimeError), unit_of_work(None) as s:
        b = Brand(entity_id=entity.id, name=f"Ghost {sfx()}")
        s.add(b)
        s.flush()
        seen["id"] = b.id
        assert (
            s.exec(select(AuditLog).where(AuditLog.table_name == "brands", AuditLog.row_id == str(b.id))).first()
            is not None
        )
        raise RuntimeError("boom")
    assert audit_rows(session, "brands", seen["id"]) == []
    assert session.get(Brand, seen["id"]) is None


def test_rolled_back_savepoint_drops_only_its_audit_rows(session):
    entity = make_entity(session)
    with unit_of_work(None) as s:
        kept = Brand(entity_id=entity.id, name=f"Kept {sfx()}")
        s.add(kept)
        s.flush()
        nested = s.begin_nested()
        gone = Brand(entity_id=entity.id, name=f"Gone {sfx()}")
        s.add(gone)
        s.flush()
        gone_id = gone.id
        nested.rollback()
    assert len(audit_rows(session, "brands", kept.id)) == 1
    assert audit_rows(session, "brands", gone_id) == []


def test_email_outbox_is_not_audited(session):
    entity = make_entity(session)
    with unit_of_work(None) as s:
        row = EmailOutbox(to_address=f"x-{sfx()}@example.test", subject="s", body="link /invite/secret")
        s.add(row)
        s.add(Brand(entity_id=entity.id, name=f"B {sfx()}"))
    assert audit_rows(session, "email_outbox", row.id) == []


def test_bulk_update_is_recorded(session):
    entity = make_entity(session)
    brand = make_brand(session, entity)
    with unit_of_work(None) as s:
        s.exec(update(Brand).where(Brand.id == brand.id).values(name="bulk renamed"))
    fresh(session)
    rows = session.exec(
        select(AuditLog).where(AuditLog.table_name == "brands", AuditLog.row_id == "*").order_by(AuditLog.id.desc())
    ).all()
    assert rows and "UPDATE brands" in rows[0].changes and rows[0].action == "update"


# --- reading the trail ----------------------------------------------------------------------


@pytest.fixture
def two_entities(session):
    a, b = make_entity(session), make_entity(session)
    _, owner_a = make_member(session, a, "owner")
    _, admin_a = make_member(session, a, "admin")
    _, buyer_a = make_member(session, a, "buyer")
    _, owner_b = make_member(session, b, "owner")
    for p, e in [(owner_a, a), (owner_a, a), (owner_b, b)]:
        with unit_of_work(p) as s:
            s.add(Brand(entity_id=e.id, name=f"Trail {sfx()}"))
    return a, b, owner_a, admin_a, buyer_a, owner_b


def test_owner_sees_only_own_entity_trail(session, two_entities):
    a, b, owner_a, admin_a, buyer_a, owner_b = two_entities
    with unit_of_work(owner_a) as s:
        page = list_audit(s, owner_a, table_name="brands")
    assert page.total == 2 and {i.subject_entity_id for i in page.items} == {a.id}
    assert all(i.actor_email for i in page.items)
    with unit_of_work(admin_a) as s:
        assert list_audit(s, admin_a).total >= 2
        assert all(i.subject_entity_id == a.id for i in list_audit(s, admin_a, page_size=200).items)
    with pytest.raises(PermissionDenied), unit_of_work(owner_a) as s:
        list_audit(s, owner_a, entity_id=b.id)
    with pytest.raises(PermissionDenied), unit_of_work(buyer_a) as s:
        list_audit(s, buyer_a)
    with pytest.raises(NotAuthenticated), unit_of_work(None) as s:
        list_audit(s, ANONYMOUS, entity_id=a.id)


def test_platform_admin_sees_everything_with_filters_and_paging(session, two_entities):
    a, b, owner_a, admin_a, buyer_a, owner_b = two_entities
    admin = admin_principal(session)
    with unit_of_work(admin) as s:
        everything = list_audit(s, admin, table_name="brands", page_size=200)
        assert {a.id, b.id} <= {i.subject_entity_id for i in everything.items}
        only_b = list_audit(s, admin, entity_id=b.id, table_name="brands")
        assert only_b.total == 1 and only_b.items[0].actor_user_id == owner_b.user_id
        by_actor = list_audit(s, admin, actor_user_id=owner_a.user_id, table_name="brands")
        assert by_actor.total == 2
        assert list_audit(s, admin, entity_id=a.id, action="delete", table_name="brands").total == 0
        p1 = list_audit(s, admin, entity_id=a.id, page=1, page_size=1)
        p2 = list_audit(s, admin, entity_id=a.id, page=2, page_size=1)
        assert p1.total == p2.total >= 2 and p1.items[0].id != p2.items[0].id and p1.pages == p1.total
        assert p1.items[0].occurred_at >= p2.items[0].occurred_at
        future = list_audit(s, admin, entity_id=a.id, since=utcnow() + timedelta(minutes=1))
        assert future.total == 0
        past = list_audit(s, admin, entity_id=a.id, until=utcnow() - timedelta(days=1))
        assert past.total == 0
        with pytest.raises(ValidationError):
            list_audit(s, admin, action="drop")


def test_entity_approval_is_in_the_entity_trail(session):
    from reup_app.services.identity import accounts

    entity = make_entity(session, status="pending")
    owner_user, owner = make_member(session, entity, "owner")
    admin = admin_principal(session)
    with unit_of_work(admin) as s:
        accounts.approve_entity(s, admin, entity.id)
    with unit_of_work(owner) as s:
        page = list_audit(s, owner, table_name="entities")
    upd = [i for i in page.items if i.action == "update"][0]
    assert upd.changes["status"] == ["pending", "approved"] and upd.actor_user_id == admin.user_id
    assert upd.actor_entity_id is None


def test_two_party_children_get_the_acting_party_whether_the_parent_is_new_or_read(engine):
    """Order lines and their lot allocations take their subject from the order: the acting party.
    At checkout the order is written in the same flush (read from the session); a line changed in
    a unit of work that never loaded its order finds the order in the database."""
    from reup_app.models import OrderLine
    from tests.integration.orderkit import fresh as fresh_session
    from tests.integration.orderkit import make_buyer, make_seller, order_row, place_one, stock

    with fresh_session(engine) as s:
        seller, buyer = make_seller(s), make_buyer(s)
        product, _ = stock(s, seller, qty="20")
    lookups: list[str] = []

    def watch(_conn, _cursor, statement, *_args):
        if statement.lstrip().startswith("SELECT orders.seller_entity_id"):
            lookups.append(statement)

    event.listen(engine, "before_cursor_execute", watch)
    try:
        number = place_one(engine, buyer, product, "2")
    finally:
        event.remove(engine, "before_cursor_execute", watch)
    assert lookups == []  # the new order was read from the session, not queried again
    order = order_row(engine, number)
    with fresh_session(engine) as s:
        line = s.execute(select(OrderLine).where(OrderLine.order_id == order.id)).scalars().one()
        rows = {
            r.table_name: r
            for r in s.execute(
                select(AuditLog).where(
                    AuditLog.table_name.in_(["order_lines", "order_line_allocations"]),
                    AuditLog.changes.contains(f'"order_id": [null, {order.id}]')
                    | AuditLog.changes.contains(f'"order_line_id": [null, {line.id}]'),
                )
            ).scalars()
        }
    assert set(rows) == {"order_lines", "order_line_allocations"}
    assert {r.subject_entity_id for r in rows.values()} == {buyer.entity.id}

    # a system job (no party acting) changes the line without loading its order: the seller's
    with unit_of_work(system_principal("test")) as s:
        held = s.get(OrderLine, line.id)
        held.product_name = held.product_name + " (renamed)"
    with fresh_session(engine) as s:
        edit = (
            s.execute(
                select(AuditLog).where(
                    AuditLog.table_name == "order_lines", AuditLog.action == "update", AuditLog.row_id == str(line.id)
                )
            )
            .scalars()
            .one()
        )
    assert edit.subject_entity_id == seller.entity.id
