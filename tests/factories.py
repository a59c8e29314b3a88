"""Small creators of valid rows. Each takes a session, commits, and returns the row.

Names, e-mails, license numbers and SKUs carry a random suffix so tests never collide.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlmodel import Session

from reup_app.models import (
    Brand,
    Entity,
    InventoryLot,
    License,
    Membership,
    Product,
    User,
)
from reup_app.models.catalog import product_search_text
from reup_app.security.passwords import hash_password
from reup_app.security.principal import Principal

DEFAULT_PASSWORD = "Test-Password-123"
_HASH = None


def _suffix() -> str:
    return uuid.uuid4().hex[:8]


def _password_hash() -> str:
    global _HASH
    if _HASH is None:
        _HASH = hash_password(DEFAULT_PASSWORD)
    return _HASH


def _save(session: Session, row):
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def make_user(session: Session, **kw) -> User:
    sfx = _suffix()
    kw.setdefault("email", f"user-{sfx}@example.test")
    kw.setdefault("full_name", f"Test User {sfx}")
    kw.setdefault("password_hash", _password_hash())
    return _save(session, User(**kw))


def make_entity(session: Session, kind: str = "wholesaler", **kw) -> Entity:
    sfx = _suffix()
    kw.setdefault("name", f"{kind.title()} {sfx}")
    kw.setdefault("status", "approved")
    kw.setdefault("state", "CA")
    return _save(session, Entity(kind=kind, **kw))


def make_license(session: Session, entity: Entity, **kw) -> License:
    kw.setdefault("state", entity.state or "CA")
    kw.setdefault("number", f"C11-{_suffix().upper()}-LIC")
    kw.setdefault("license_type", "distributor" if entity.kind == "wholesaler" else "adult_use_retail")
    return _save(session, License(entity_id=entity.id, **kw))


def make_member(session: Session, entity: Entity, role: str = "owner", **user_kw) -> tuple[User, Principal]:
    user = make_user(session, **user_kw)
    _save(session, Membership(user_id=user.id, entity_id=entity.id, role=role))
    return user, Principal(
        user_id=user.id, entity_id=entity.id, roles=frozenset({role}), token_version=user.token_version
    )


def make_brand(session: Session, entity: Entity, **kw) -> Brand:
    kw.setdefault("name", f"Brand {_suffix()}")
    return _save(session, Brand(entity_id=entity.id, **kw))


def make_product(session: Session, entity: Entity, brand: Brand | None = None, **kw) -> Product:
    sfx = _suffix()
    kw.setdefault("sku", f"SKU-{sfx}")
    kw.setdefault("name", f"Product {sfx}")
    kw.setdefault("category", "flower")
    kw.setdefault("unit_price", Decimal("10.00"))
    kw.setdefault("strain_type", "hybrid")
    brand_name = brand.name if brand else ""
    kw.setdefault("search_text", product_search_text(kw["name"], brand_name, kw.get("strain_name")))
    return _save(session, Product(entity_id=entity.id, brand_id=brand.id if brand else None, **kw))


def make_lot(
    session: Session, product: Product, license: License, quantity: Decimal = Decimal("100"), **kw
) -> InventoryLot:
    kw.setdefault("package_label", f"1A40{uuid.uuid4().hex[:20].upper()}")
    kw.setdefault("lab_test_state", "passed")  # a shippable package unless a test says otherwise
    lot = InventoryLot(
        product_id=product.id,
        license_id=license.id,
        quantity_on_hand=quantity,
        quantity_reserved=Decimal("0"),
        quantity_available=quantity,
        **kw,
    )
    _save(session, lot)
    product.available_qty = (product.available_qty or Decimal("0")) + quantity
    _save(session, product)
    return lot
