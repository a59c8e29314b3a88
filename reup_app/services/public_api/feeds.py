"""Keyset-paginated lists for the public API: stable order (updated_at, id) ascending, an opaque
cursor, `updated_since`. Authorization is the same as the pages' (`order.view`, `catalog.view`);
row shapes come from the domains' own readers (`ordering.records.summary_columns_query`, `catalog.products`).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import and_, or_, select
from sqlmodel import Session, col

from reup_app.errors import NotFound, ValidationError
from reup_app.models import Brand, Entity, InventoryLot, OrderMessage, Product, ProductImage
from reup_app.models.enums import OrderStatus
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services.catalog import images
from reup_app.services.catalog.products import on_marketplace
from reup_app.services.common import authorize_party, parse_int, require_member
from reup_app.services.ordering.order_views import message_dtos, messages_query
from reup_app.services.ordering.orders import load_order
from reup_app.services.ordering.records import (
    MessageDTO,
    OrderSummary,
    summary_columns_query,
    summary_from_columns,
)

MAX_LIMIT = 200
T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(updated_at: datetime, row_id: int) -> str:
    raw = json.dumps([updated_at.isoformat(), int(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        stamp, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        moment = datetime.fromisoformat(stamp)
        if moment.tzinfo is None or not isinstance(row_id, int):
            raise ValueError
        return moment, row_id
    except (ValueError, TypeError):
        raise ValidationError("The cursor is not valid; use next_cursor from the previous page.", "cursor") from None


def _limit(limit: int) -> int:
    if not 1 <= int(limit) <= MAX_LIMIT:
        raise ValidationError(f"limit must be between 1 and {MAX_LIMIT}.", "limit")
    return int(limit)


def _since(updated_since: datetime | None) -> datetime | None:
    if updated_since is not None and updated_since.tzinfo is None:
        raise ValidationError("updated_since needs a time zone (RFC 3339, e.g. 2026-01-31T12:00:00Z).", "updated_since")
    return updated_since


def _keyset(stmt: Any, updated_col: Any, id_col: Any, cursor: str | None, updated_since: datetime | None) -> Any:
    after = decode_cursor(cursor)
    if _since(updated_since) is not None:
        stmt = stmt.where(updated_col >= updated_since)
    if after is not None:
        stamp, row_id = after
        stmt = stmt.where(or_(updated_col > stamp, and_(updated_col == stamp, id_col > row_id)))
    return stmt.order_by(updated_col, id_col)


def _page(rows: list, limit: int, key: Any) -> tuple[list, str | None]:
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(*key(rows[-1])) if more and rows else None)


def page_in_memory(
    items: list[T],
    key: Callable[[T], tuple[datetime, int]],
    cursor: str | None,
    updated_since: datetime | None,
    limit: int,
) -> Page[T]:
    """`_keyset` + `_page` over rows aggregated in Python: same order (key ascending), cursor and filter."""
    limit, after, since = _limit(limit), decode_cursor(cursor), _since(updated_since)
    rows = sorted(
        (i for i in items if (since is None or key(i)[0] >= since) and (after is None or key(i) > after)), key=key
    )
    rows, nxt = _page(rows[: limit + 1], limit, key)
    return Page(rows, nxt)


# long: one filter per documented query parameter of GET /api/v1/orders
def order_feed(
    session: Session,
    principal: Principal,
    *,
    side: str | None = None,
    status: list[str] | None = None,
    counterparty_id: int | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    updated_since: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[OrderSummary]:
    """The principal's business's orders (as buyer, seller or both), oldest change first."""
    entity_id = require_member(principal)
    authorize(principal, "order.view", entity_id)
    limit = _limit(limit)
    stmt, orders = summary_columns_query()
    o = orders.c  # Core columns: the statement stays Core (cheaper to run than an ORM select)
    buyer, seller = o.buyer_entity_id == entity_id, o.seller_entity_id == entity_id
    if side == "buyer":
        stmt = stmt.where(buyer)
        if counterparty_id is not None:
            stmt = stmt.where(o.seller_entity_id == counterparty_id)
    elif side == "seller":
        stmt = stmt.where(seller)
        if counterparty_id is not None:
            stmt = stmt.where(o.buyer_entity_id == counterparty_id)
    elif side is None:
        stmt = stmt.where(or_(buyer, seller))
        if counterparty_id is not None:
            stmt = stmt.where(
                or_(
                    and_(buyer, o.seller_entity_id == counterparty_id),
                    and_(seller, o.buyer_entity_id == counterparty_id),
                )
            )
    else:
        raise ValidationError("side must be buyer or seller.", "side")
    if status:
        bad = [s for s in status if s not in set(OrderStatus)]
        if bad:
            raise ValidationError(f"Unknown order status {bad[0]!r}.", "status")
        stmt = stmt.where(o.status.in_(status))
    else:
        stmt = stmt.where(o.status != OrderStatus.DRAFT.value)
    if created_from is not None:
        stmt = stmt.where(o.created_at >= created_from)
    if created_to is not None:
        stmt = stmt.where(o.created_at < created_to)
    stmt = _keyset(stmt, o.updated_at, o.id, cursor, updated_since).limit(limit + 1)
    rows, nxt = _page(list(session.execute(stmt).all()), limit, lambda r: (r[14], r[0]))  # (updated_at, id)
    return Page([summary_from_columns(r) for r in rows], nxt)


@dataclass(frozen=True)
class ProductItem:
    product: Product
    brand: str | None


def product_feed(
    session: Session,
    principal: Principal,
    *,
    scope: str = "own",
    updated_since: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[ProductItem]:
    """scope "own": the seller's catalog in every listing state (catalog.view); "marketplace": every
    business's publicly listed products (what buyers see on the marketplace)."""
    entity_id = require_member(principal)
    limit = _limit(limit)
    stmt = select(Product, col(Brand.name)).outerjoin(Brand, col(Brand.id) == col(Product.brand_id))
    if scope == "own":
        authorize(principal, "catalog.view", entity_id)
        stmt = stmt.where(col(Product.entity_id) == entity_id)
    elif scope == "marketplace":
        authorize(principal, "order.view", entity_id)  # any member of an approved business
        stmt = stmt.join(Entity, col(Entity.id) == col(Product.entity_id)).where(*on_marketplace())
    else:
        raise ValidationError("scope must be own or marketplace.", "scope")
    stmt = _keyset(stmt, col(Product.updated_at), col(Product.id), cursor, updated_since).limit(limit + 1)
    rows, nxt = _page(list(session.execute(stmt).all()), limit, lambda r: (r[0].updated_at, r[0].id))
    return Page([ProductItem(p, b) for p, b in rows], nxt)


def lot_feed(
    session: Session,
    principal: Principal,
    *,
    product_id: int | None = None,
    updated_since: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[InventoryLot]:
    """The seller's inventory lots (catalog.view on its own business)."""
    entity_id = require_member(principal)
    authorize(principal, "catalog.view", entity_id)
    limit = _limit(limit)
    stmt = select(InventoryLot).join(Product, col(Product.id) == col(InventoryLot.product_id))
    stmt = stmt.where(col(Product.entity_id) == entity_id)
    if product_id is not None:
        stmt = stmt.where(col(InventoryLot.product_id) == product_id)
    stmt = _keyset(stmt, col(InventoryLot.updated_at), col(InventoryLot.id), cursor, updated_since).limit(limit + 1)
    rows, nxt = _page(list(session.execute(stmt).scalars().all()), limit, lambda r: (r.updated_at, r.id))
    return Page(rows, nxt)


def read_product(session: Session, principal: Principal, product_id: int) -> ProductItem:
    """The business's own product (catalog.view), or any publicly listed one; NotFound otherwise."""
    entity_id = require_member(principal)
    p = session.get(Product, product_id)
    if p is not None and p.entity_id == entity_id:
        authorize(principal, "catalog.view", entity_id)
    elif (
        p is not None
        and session.execute(
            select(col(Product.id))
            .join(Entity, col(Entity.id) == col(Product.entity_id))
            .where(col(Product.id) == p.id, *on_marketplace())
        ).first()
    ):
        authorize(principal, "order.view", entity_id)
    else:
        raise NotFound("That product was not found.")
    brand = session.get(Brand, p.brand_id) if p.brand_id else None
    return ProductItem(p, brand.name if brand else None)


def read_lot(session: Session, principal: Principal, lot_id: int) -> InventoryLot:
    """One of the business's own inventory lots (catalog.view, as `lot_feed`); NotFound for a
    missing lot or another business's."""
    lot = session.get(InventoryLot, parse_int(lot_id, "lot_id"))
    product = session.get(Product, lot.product_id) if lot is not None else None
    authorize_party(principal, "catalog.view", [product.entity_id if product else None], "That lot was not found.")
    assert lot is not None  # authorize_party raised NotFound for a missing lot
    return lot


def image_feed(
    session: Session, principal: Principal, product_id: int, *, cursor: str | None = None, limit: int = 50
) -> Page[images.ImageRow]:
    """A product's images for whoever may read the product (`read_product`): its own business's
    members every image, others a public listing's (`images.visible_rows`). Images are never
    edited, so (created_at, id) orders them (the pages' upload order)."""
    product = read_product(session, principal, product_id).product
    limit = _limit(limit)
    stmt = select(ProductImage).where(col(ProductImage.product_id) == product.id)
    stmt = _keyset(stmt, col(ProductImage.created_at), col(ProductImage.id), cursor, None).limit(limit + 1)
    rows, nxt = _page(list(session.execute(stmt).scalars().all()), limit, lambda r: (r.created_at, r.id))
    shown = images.visible_rows(session, principal, product, rows)
    return Page(shown, nxt if shown else None)


def message_feed(
    session: Session, principal: Principal, number: str, *, cursor: str | None = None, limit: int = 50
) -> Page[MessageDTO]:
    """An order's messages, oldest first, for either party (`load_order`: NotFound for others).
    Messages are never edited: (created_at, id) orders them."""
    order, _side = load_order(session, principal, number)
    limit = _limit(limit)
    stmt = messages_query(order).order_by(None)
    stmt = _keyset(stmt, col(OrderMessage.created_at), col(OrderMessage.id), cursor, None).limit(limit + 1)
    rows, nxt = _page(list(session.execute(stmt).all()), limit, lambda r: (r[0].created_at, r[0].id))
    return Page(message_dtos(order, rows), nxt)
