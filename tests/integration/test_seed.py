"""The demo seed: realistic, internally consistent, deterministic and idempotent.

Seeds its own MySQL database (the demo uses fixed e-mails and license numbers, so it cannot share
the per-worker test database).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections import Counter, defaultdict
from datetime import UTC
from decimal import Decimal

import pytest
from sqlalchemy import func
from sqlmodel import Session, SQLModel, select

from reup_app import migrations
from reup_app.db import build_engine
from reup_app.models import (
    Brand,
    ComplianceManifest,
    Delivery,
    Entity,
    InventoryLot,
    Invoice,
    License,
    Membership,
    Notification,
    Order,
    OrderEvent,
    OrderLine,
    OrderLineAllocation,
    Payment,
    Product,
    TradeRelationship,
    User,
)
from reup_app.models.catalog import product_search_text
from reup_app.models.enums import Category, PaymentTerms, Role
from reup_app.models.types import utcnow
from reup_app.security.passwords import check_policy, verify_password
from reup_app.seed import ADMIN_EMAIL, DEMO_ACCOUNTS, DEMO_PASSWORD, seed_demo
from tests.dbutil import drop_mysql_database, fresh_mysql_database

pytestmark = pytest.mark.mysql

ALL_CATEGORIES = {c.value for c in Category}
LABEL_RE = re.compile(r"^1A4[0-9A-Z]{21}$")
NOW = utcnow()
HELD = {"submitted", "accepted", "fulfilled"}
SHIPPED = {"shipped", "delivered", "complete"}


@pytest.fixture(scope="module")
def seeded():
    name = f"reup_seed_{uuid.uuid4().hex[:10]}"
    url = fresh_mysql_database(name)
    engine = build_engine(url)
    try:
        migrations.upgrade(url)
        with Session(engine, expire_on_commit=False) as s:
            summary = seed_demo(s, now=NOW)
        yield engine, summary
    finally:
        engine.dispose()
        drop_mysql_database(name)


@pytest.fixture
def db(seeded):
    with Session(seeded[0]) as s:
        yield s


def _all(db, model, *where):
    return db.exec(select(model).where(*where)).all()


def test_summary_reports_what_was_created(seeded, db):
    _, summary = seeded
    assert summary.created is True
    assert summary.counts["products"] == len(_all(db, Product))
    assert summary.counts["orders"] == len(_all(db, Order))
    text = summary.describe()
    assert DEMO_PASSWORD in text
    for account in DEMO_ACCOUNTS:
        assert account.email in text


def test_every_product_has_a_drawn_picture_the_image_route_can_serve(seeded, db):
    from reup_app.models import ProductImage
    from reup_app.services.catalog.images import media_root, sniff_image

    images = {i.product_id: i for i in _all(db, ProductImage)}
    products = _all(db, Product)
    assert set(images) == {p.id for p in products} and seeded[1].counts["product_images"] == len(products)
    by_category = {}
    for p in products:
        data = (media_root() / images[p.id].storage_key).read_bytes()
        assert sniff_image(data) == ("image/png", 320, 240)
        by_category.setdefault(p.category, data)
    assert len(set(by_category.values())) == len(ALL_CATEGORIES)  # a different picture per category


def test_the_pending_applicant_has_its_licence_certificate_for_the_review(db):
    from reup_app.models import BusinessDocument
    from reup_app.services.private_files import existing_path, sniff_document

    (applicant,) = _all(db, Entity, Entity.status == "pending")
    (lic,) = _all(db, License, License.entity_id == applicant.id)
    (doc,) = _all(db, BusinessDocument, BusinessDocument.entity_id == applicant.id)
    assert lic.review_status == "pending" and doc.license_id == lic.id and doc.kind == "state_license"
    data = existing_path(doc.storage_key).read_bytes()
    assert sniff_document(data) == "application/pdf" and len(data) == doc.size_bytes
    assert hashlib.sha256(data).hexdigest() == doc.sha256 and lic.number.encode() in data
    approved = _all(db, License, License.entity_id != applicant.id)
    assert approved and all(x.review_status == "approved" for x in approved)  # reviewed with their business


def test_wholesalers_have_licenses_brands_and_full_catalogs(db):
    wholesalers = _all(db, Entity, Entity.kind == "wholesaler")
    assert len(wholesalers) >= 2
    for w in wholesalers:
        assert w.status == "approved" and w.approved_at is not None and w.approved_by_user_id is not None
        assert set(w.payment_terms_offered.split(",")) <= {t.value for t in PaymentTerms}
        assert w.min_order_amount > 0
        licenses = _all(db, License, License.entity_id == w.id)
        assert 1 <= len(licenses) <= 2
        for lic in licenses:
            assert re.match(r"^(C11-\d{7}-LIC|CDPH-\d{8})$", lic.number), lic.number
            assert lic.license_type in {"distributor", "manufacturer"}
            assert lic.status == "active" and lic.expires_on is not None and lic.premises_address
        assert any(lic.license_type == "distributor" for lic in licenses)
        assert 3 <= len(_all(db, Brand, Brand.entity_id == w.id)) <= 6
        products = _all(db, Product, Product.entity_id == w.id)
        assert len(products) >= 40
        assert {p.category for p in products} == ALL_CATEGORIES
        states = Counter(p.listing_state for p in products)
        assert states["available"] >= 0.8 * len(products)
        assert {"backorder", "sample", "internal", "archived"} <= set(states)


def test_products_look_real(db):
    products = _all(db, Product)
    brands = {b.id: b.name for b in _all(db, Brand)}
    assert len({(p.entity_id, p.sku) for p in products}) == len(products)
    for p in products:
        assert p.brand_id in brands
        assert p.search_text == product_search_text(p.name, brands[p.brand_id], p.strain_name, p.sku)
        assert isinstance(p.unit_price, Decimal) and p.unit_price > 0
        assert p.case_size >= 1 and p.min_order_qty >= 1
        if p.case_price is not None:
            assert p.case_price < p.unit_price * p.case_size  # case discount
        if p.category in {"flower", "pre_rolls", "vapes", "concentrates"}:
            assert p.strain_name and p.strain_type in {"indica", "sativa", "hybrid", "cbd"}
            assert p.thc_percent is not None and Decimal("0") < p.thc_percent < Decimal("100")
    names = {p.name for p in products}
    assert any("Eighth (3.5g)" in n for n in names) and any("Live Resin Cartridge" in n for n in names)


def test_retailers_have_adult_use_licenses_and_relationships(db):
    retailers = _all(db, Entity, Entity.kind == "retailer", Entity.status == "approved")
    wholesalers = _all(db, Entity, Entity.kind == "wholesaler")
    assert len(retailers) == 2
    for r in retailers:
        assert r.status == "approved"
        licenses = _all(db, License, License.entity_id == r.id)
        assert licenses and all(lic.license_type == "adult_use_retail" for lic in licenses)
        assert all(re.match(r"^C10-\d{7}-LIC$", lic.number) for lic in licenses)
    pairs = {(t.seller_entity_id, t.buyer_entity_id) for t in _all(db, TradeRelationship)}
    assert pairs == {(w.id, r.id) for w in wholesalers for r in retailers}


def test_every_role_has_a_demo_user_with_the_documented_password(db):
    users = {u.email: u for u in _all(db, User)}
    assert {a.email for a in DEMO_ACCOUNTS} <= set(users)
    assert users[ADMIN_EMAIL].is_platform_admin
    roles = {m.role for m in _all(db, Membership)}
    assert roles == {r.value for r in Role}
    for account in DEMO_ACCOUNTS:
        if account.role != "platform_admin":
            user = users[account.email]
            membership = db.exec(select(Membership).where(Membership.user_id == user.id)).one()
            assert membership.role == account.role
    check_policy(DEMO_PASSWORD)  # the documented password passes our own policy
    assert verify_password(DEMO_PASSWORD, users["buyer@greenleaf.demo"].password_hash)
    assert not verify_password("wrong-password-123", users["buyer@greenleaf.demo"].password_hash)


def test_inventory_lots_are_consistent(db):
    lots = _all(db, InventoryLot)
    products = _all(db, Product)
    licenses = {lic.id: lic for lic in _all(db, License)}
    assert len(lots) >= len(products)
    labels = [lot.package_label for lot in lots]
    assert len(set(labels)) == len(labels)
    by_product = defaultdict(list)
    for lot in lots:
        assert len(lot.package_label) == 24 and LABEL_RE.match(lot.package_label), lot.package_label
        assert lot.quantity_on_hand >= 0 and lot.quantity_reserved >= 0 and lot.quantity_available >= 0
        assert lot.quantity_available == lot.quantity_on_hand - lot.quantity_reserved
        assert lot.batch_number and lot.packaged_on is not None
        if lot.lab_test_state == "passed":
            assert lot.lab_name and lot.lab_tested_on >= lot.packaged_on
        by_product[lot.product_id].append(lot)
    for p in products:
        assert by_product[p.id], f"{p.sku} has no lots"
        assert p.available_qty == sum(lot.quantity_available for lot in by_product[p.id])
        assert all(licenses[lot.license_id].entity_id == p.entity_id for lot in by_product[p.id])
    assert {lot.lab_test_state for lot in lots} >= {"passed", "submitted"}


def test_reservations_and_allocations_follow_order_status(db):
    orders = {o.id: o for o in _all(db, Order)}
    lines = {line.id: line for line in _all(db, OrderLine)}
    lots = {lot.id: lot for lot in _all(db, InventoryLot)}
    reserved_by_lot = defaultdict(Decimal)
    allocated_by_line = defaultdict(Decimal)
    for a in _all(db, OrderLineAllocation):
        line = lines[a.order_line_id]
        order = orders[line.order_id]
        lot = lots[a.inventory_lot_id]
        assert a.package_label == lot.package_label and lot.product_id == line.product_id
        assert lot.license_id == order.seller_license_id
        assert lot.lab_test_state == "passed"
        if order.status in HELD:
            reserved_by_lot[lot.id] += a.quantity
        allocated_by_line[line.id] += a.quantity
    for lot in lots.values():
        assert lot.quantity_reserved == reserved_by_lot.get(lot.id, Decimal("0"))
    for line in lines.values():
        status = orders[line.order_id].status
        if status in HELD | SHIPPED:
            assert allocated_by_line[line.id] == line.quantity
        else:
            assert line.id not in allocated_by_line
    assert sum(reserved_by_lot.values()) > 0


def test_orders_cover_the_lifecycle_with_consistent_money_and_timelines(db):
    orders = _all(db, Order)
    assert len(orders) >= 10
    statuses = {o.status for o in orders}
    assert len(statuses) >= 5
    assert statuses >= {
        "submitted",
        "accepted",
        "fulfilled",
        "shipped",
        "delivered",
        "complete",
        "rejected",
        "cancelled",
    }
    numbers = [o.number for o in orders]
    assert len(set(numbers)) == len(numbers) and all(re.match(r"^RU-\d{6}$", n) for n in numbers)
    relationships = {(t.seller_entity_id, t.buyer_entity_id) for t in _all(db, TradeRelationship)}
    licenses = {lic.id: lic for lic in _all(db, License)}
    sellers = {e.id: e for e in _all(db, Entity)}
    for o in orders:
        assert (o.seller_entity_id, o.buyer_entity_id) in relationships
        assert licenses[o.buyer_license_id].entity_id == o.buyer_entity_id
        assert licenses[o.seller_license_id].entity_id == o.seller_entity_id
        assert o.payment_terms in sellers[o.seller_entity_id].payment_terms_offered.split(",")
        lines = _all(db, OrderLine, OrderLine.order_id == o.id)
        assert lines
        for line in lines:
            assert line.quantity > 0
            assert line.line_total == (line.quantity * line.unit_price).quantize(Decimal("0.01"))
        assert o.subtotal == sum(line.line_total for line in lines)
        assert o.total == o.subtotal + o.tax
        assert o.submitted_at is not None and o.submitted_at.tzinfo is not None
        assert o.submitted_at.utcoffset() == UTC.utcoffset(None)

        events = db.exec(select(OrderEvent).where(OrderEvent.order_id == o.id).order_by(OrderEvent.created_at)).all()
        assert events[0].from_status == "draft" and events[0].to_status == "submitted"
        assert events[-1].to_status == o.status
        for before, after in zip(events, events[1:], strict=False):
            assert after.from_status == before.to_status
            assert after.created_at >= before.created_at
        for ev in events:  # shaped like the order state machine's own timeline entries
            assert ev.kind == ev.to_status and ev.actor_user_id is not None
            assert json.loads(ev.detail)["action"] in {
                "submit",
                "accept",
                "reject",
                "cancel",
                "fulfill",
                "ship",
                "deliver",
                "complete",
            }
        if o.status == "fulfilled":
            packages = json.loads(events[-1].detail)["packages"]
            assert {p["line_id"] for p in packages} == {line.id for line in lines}
        assert (o.cancelled_at is not None) == (o.status == "cancelled")
        stamps = [o.submitted_at, o.accepted_at, o.fulfilled_at, o.shipped_at, o.delivered_at, o.completed_at]
        present = [t for t in stamps if t is not None]
        assert present == sorted(present)
        if o.status == "rejected":
            assert json.loads(events[-1].detail)["reason"]


def test_invoices_and_payments(db):
    orders = {o.id: o for o in _all(db, Order)}
    invoices = _all(db, Invoice)
    assert {i.order_id for i in invoices} == {o.id for o in orders.values() if o.status in SHIPPED}
    assert any(i.status == "paid" for i in invoices) and any(i.status == "open" for i in invoices)
    terms_days = {"cod": 0, "prepay": 0, "net_7": 7, "net_15": 15, "net_30": 30, "net_60": 60}
    for inv in invoices:
        order = orders[inv.order_id]
        assert inv.number == "INV-" + order.number.removeprefix("RU-")
        assert inv.total == order.total and inv.seller_entity_id == order.seller_entity_id
        assert (inv.due_at - inv.issued_at).days == terms_days[order.payment_terms]
        payments = _all(db, Payment, Payment.invoice_id == inv.id)
        assert inv.amount_paid == sum((p.amount for p in payments), Decimal("0"))
        assert (inv.status == "paid") == (inv.amount_paid == inv.total)
    assert len(_all(db, Payment)) >= 2
    assert len(_all(db, Notification)) >= 3


def test_shipped_orders_have_a_manifest_and_a_delivery(db):
    orders = {o.id: o for o in _all(db, Order)}
    shipped = {o.id for o in orders.values() if o.status in SHIPPED}
    manifests = _all(db, ComplianceManifest)
    deliveries = _all(db, Delivery)
    assert {m.order_id for m in manifests} == shipped and len(manifests) == len(shipped)
    assert {d.order_id for d in deliveries} == shipped and len(deliveries) == len(shipped)
    for m in manifests:
        assert m.license_id == orders[m.order_id].seller_license_id
        assert (m.status == "accepted") == (orders[m.order_id].status != "shipped")
    for d in deliveries:
        order = orders[d.order_id]
        if order.status == "shipped":
            assert d.status == "pending" and d.delivered_at is None
        else:
            assert d.status == "delivered" and d.delivered_at == order.delivered_at


def test_second_run_changes_nothing(seeded, db):
    engine, _ = seeded
    tables = SQLModel.metadata.sorted_tables

    def snapshot():
        with engine.connect() as conn:
            return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in tables}

    before = snapshot()
    latest_update = db.exec(select(func.max(Product.updated_at))).one()
    with Session(engine) as s:
        again = seed_demo(s)
    assert again.created is False
    assert "already" in again.message and ADMIN_EMAIL in again.message
    assert snapshot() == before
    with Session(engine) as s:
        assert s.exec(select(func.max(Product.updated_at))).one() == latest_update


def test_seed_is_deterministic(db, tmp_path):
    """A second database seeded from scratch (SQLite) holds the same catalog, lots and orders."""
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    migrations.upgrade(url)
    engine = build_engine(url)
    try:
        with Session(engine) as s:
            seed_demo(s, now=NOW)  # same anchor time as the MySQL seed

        def fingerprint(session):
            products = sorted(
                (p.sku, p.name, str(p.unit_price), str(p.available_qty)) for p in session.exec(select(Product)).all()
            )
            lots = sorted(
                (lot.package_label, str(lot.quantity_on_hand), str(lot.quantity_reserved))
                for lot in session.exec(select(InventoryLot)).all()
            )
            orders = sorted((o.number, o.status, str(o.total)) for o in session.exec(select(Order)).all())
            return products, lots, orders

        with Session(engine) as s:
            assert fingerprint(s) == fingerprint(db)
    finally:
        engine.dispose()
