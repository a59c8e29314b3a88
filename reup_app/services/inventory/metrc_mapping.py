"""The seller's side of the METRC package sync: METRC items whose packages ReUp can't place yet, mapping
an item to a product (remembered, so later packages of that item become lots automatically), and the
open stock conflicts the sync found."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlmodel import Session, col

from reup_app.errors import NotFound, ValidationError
from reup_app.events import emit
from reup_app.models import InventoryLot, License, Product
from reup_app.models.metrc_sync import InventoryConflict, MetrcItemMapping, MetrcPackage
from reup_app.models.types import utcnow
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services.common import ZERO, clean_text, parse_int, require_member


@dataclass(frozen=True)
class UnmatchedItem:
    """All unmatched packages of one METRC item (what the seller maps in one step)."""

    item_name: str
    strain_name: str | None
    category: str | None
    package_count: int
    quantity: Decimal
    labels: list[str]
    license_numbers: list[str]


@dataclass(frozen=True)
class ConflictRow:
    id: int
    package_label: str
    metrc_quantity: Decimal
    reserved_quantity: Decimal
    message: str
    created_at: datetime


def list_unmatched(session: Session, principal: Principal, *, limit_labels: int = 5) -> list[UnmatchedItem]:
    """The principal's unmatched METRC packages grouped by item, most packages first."""
    entity_id = require_member(principal)
    authorize(principal, "inventory.manage", entity_id)
    rows = session.execute(
        select(MetrcPackage, col(License.number))
        .join(License, col(License.id) == col(MetrcPackage.license_id))
        .where(col(MetrcPackage.entity_id) == entity_id)
        .order_by(col(MetrcPackage.item_name), col(MetrcPackage.label))
    ).all()
    groups: dict[str, list[tuple[MetrcPackage, str]]] = {}
    for pkg, number in rows:
        groups.setdefault(pkg.item_name, []).append((pkg, number))
    items = [
        UnmatchedItem(
            item_name=name,
            strain_name=next((p.strain_name for p, _ in group if p.strain_name), None),
            category=next((p.category for p, _ in group if p.category), None),
            package_count=len(group),
            quantity=sum((p.quantity for p, _ in group), ZERO),
            labels=[p.label for p, _ in group[:limit_labels]],
            license_numbers=sorted({n for _, n in group}),
        )
        for name, group in groups.items()
    ]
    return sorted(items, key=lambda i: (-i.package_count, i.item_name))


def map_item(session: Session, principal: Principal, item_name: Any, product_id: Any) -> int:
    """Remember that METRC item `item_name` is `product_id` and turn its unmatched packages into lots of
    that product now. Returns the lots created. Owners, admins and fulfillment ("inventory.manage")."""
    entity_id = require_member(principal)
    authorize(principal, "inventory.manage", entity_id)
    name = clean_text(item_name, "item_name", max_len=255, required=True)
    pid = parse_int(product_id, "product_id")
    product = session.execute(
        select(Product).where(col(Product.id) == pid).with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if product is None or product.entity_id != entity_id:
        raise NotFound("That product was not found.")
    pending = list(
        session.execute(
            select(MetrcPackage)
            .where(col(MetrcPackage.entity_id) == entity_id, col(MetrcPackage.item_name) == name)
            .order_by(col(MetrcPackage.id))
            .with_for_update()
        ).scalars()
    )
    mapping = session.execute(
        select(MetrcItemMapping).where(
            col(MetrcItemMapping.entity_id) == entity_id, col(MetrcItemMapping.item_name) == name
        )
    ).scalar_one_or_none()
    if mapping is None and not pending:
        raise ValidationError(f"No METRC packages of item {name!r} are waiting to be mapped.", "item_name")
    mapping = mapping or MetrcItemMapping(entity_id=entity_id, item_name=name, product_id=pid)
    mapping.product_id, mapping.created_by = pid, principal.user_id
    mapping.item_id = next((p.item_id for p in pending if p.item_id), mapping.item_id)
    session.add(mapping)
    return _lots_from_pending(session, product, pending)


def _lots_from_pending(session: Session, product: Product, pending: list[MetrcPackage]) -> int:
    if not pending:
        return 0
    labels = [p.label for p in pending]
    taken = set(
        session.execute(
            select(col(InventoryLot.package_label)).where(col(InventoryLot.package_label).in_(labels))
        ).scalars()
    )
    now = utcnow()
    fresh = [p for p in pending if p.label not in taken]
    rows = [
        {
            "product_id": product.id,
            "license_id": p.license_id,
            "package_label": p.label,
            "quantity_on_hand": p.quantity,
            "quantity_reserved": ZERO,
            "quantity_available": p.quantity,
            "lab_test_state": p.lab_test_state,
            "on_hold": p.on_hold,
            "expires_on": p.expires_on,
            "created_at": now,
            "updated_at": now,
        }
        for p in fresh
    ]
    if rows:
        session.execute(insert(InventoryLot), rows)
        product.available_qty = (product.available_qty or ZERO) + sum((p.quantity for p in fresh), ZERO)
        product.updated_at = now
        session.add(product)
        emit(
            session,
            "inventory.changed",
            entity_ids=[product.entity_id],
            payload={
                "product_ids": [product.id],
                "available": {str(product.id): str(product.available_qty)},
                "public": True,
            },
        )
    session.execute(delete(MetrcPackage).where(col(MetrcPackage.id).in_([p.id for p in pending])))
    return len(rows)


def item_mappings(session: Session, principal: Principal) -> dict[str, int]:
    """The remembered METRC item -> product id mappings of the principal's business."""
    entity_id = require_member(principal)
    authorize(principal, "inventory.manage", entity_id)
    rows = session.execute(
        select(col(MetrcItemMapping.item_name), col(MetrcItemMapping.product_id)).where(
            col(MetrcItemMapping.entity_id) == entity_id
        )
    ).all()
    return {name: pid for name, pid in rows}


def open_conflicts(session: Session, principal: Principal) -> list[ConflictRow]:
    """Stock conflicts METRC reported that are still open, newest first (every member may look)."""
    entity_id = require_member(principal)
    authorize(principal, "catalog.view", entity_id)
    rows = session.execute(
        select(InventoryConflict)
        .where(col(InventoryConflict.entity_id) == entity_id, col(InventoryConflict.resolved_at).is_(None))
        .order_by(col(InventoryConflict.id).desc())
    ).scalars()
    return [
        ConflictRow(c.id, c.package_label, c.metrc_quantity, c.reserved_quantity, c.message, c.created_at) for c in rows
    ]


def unmatched_count(session: Session, entity_id: int) -> int:
    return int(
        session.execute(
            select(func.count()).select_from(MetrcPackage).where(col(MetrcPackage.entity_id) == entity_id)
        ).scalar_one()
    )
