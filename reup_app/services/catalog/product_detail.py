"""One marketplace product with its packages (batch / lab data) and the price for this buyer.

Visibility is the catalog's: only products in a public listing state of an APPROVED seller, for
anyone (NotFound otherwise, whether the product exists or not). Lots shown are the sellable ones
(not failed in lab testing, not expired) with stock available; they carry no quantities reserved
for other buyers' orders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from reup_app.errors import NotFound
from reup_app.models import Brand, Entity, InventoryLot, License, Product
from reup_app.models.enums import LabTestState
from reup_app.security.permissions import is_allowed
from reup_app.security.principal import Principal
from reup_app.services.catalog.pricing import buyer_unit_prices, case_price_for
from reup_app.services.catalog.products import on_marketplace
from reup_app.services.catalog.search import CatalogItem
from reup_app.services.common import ZERO, parse_int
from reup_app.services.compliance.license_calendar import is_current

NOT_AVAILABLE = "That product is not available."


@dataclass(frozen=True)
class LotInfo:
    package_label: str
    batch_number: str | None
    lab_test_state: str
    lab_tested_on: date | None
    lab_thc_percent: Decimal | None
    lab_cbd_percent: Decimal | None
    lab_name: str | None
    quantity_available: Decimal
    expires_on: date | None


@dataclass
class ProductDetail(CatalogItem):
    """A catalog item plus the page's extras; `unit_price` is what this buyer pays (its price
    tier, else list), `list_price` the seller's list price."""

    description: str | None = None
    list_price: Decimal = ZERO
    can_order: bool = False  # the principal may place orders (and the product isn't its own)
    lots: list[LotInfo] = field(default_factory=list)


def _visible_product(session: Session, product_id: Any) -> tuple[Product, str, str | None]:
    pid = parse_int(product_id, "product_id")
    row = session.execute(
        select(Product, col(Entity.name), col(Brand.name))
        .join(Entity, col(Entity.id) == col(Product.entity_id))
        .outerjoin(Brand, col(Brand.id) == col(Product.brand_id))
        .where(col(Product.id) == pid, *on_marketplace())
    ).first()
    if row is None:
        raise NotFound(NOT_AVAILABLE)
    return row[0], row[1], row[2]


def _lots(session: Session, product_id: int) -> list[LotInfo]:
    lots = session.execute(
        select(InventoryLot, col(License.state))
        .join(License, col(License.id) == col(InventoryLot.license_id))
        .where(
            col(InventoryLot.product_id) == product_id,
            col(InventoryLot.quantity_available) > 0,
            col(InventoryLot.lab_test_state) != LabTestState.FAILED,
            col(InventoryLot.on_hold).is_(False),  # held in METRC: not for sale
        )
        .order_by(col(InventoryLot.expires_on), col(InventoryLot.id))
    ).all()
    return [
        LotInfo(
            package_label=lot.package_label,
            batch_number=lot.batch_number,
            lab_test_state=lot.lab_test_state,
            lab_tested_on=lot.lab_tested_on,
            lab_thc_percent=lot.lab_thc_percent,
            lab_cbd_percent=lot.lab_cbd_percent,
            lab_name=lot.lab_name,
            quantity_available=lot.quantity_available,
            expires_on=lot.expires_on,
        )
        for lot, state in lots
        if is_current(lot.expires_on, state)  # the date in the license's state
    ]


def availability(session: Session, principal: Principal | None, product_id: Any) -> tuple[Decimal, str, list[LotInfo]]:
    """(available quantity, listing state, sellable lots): the cheap reload for live updates."""
    product, _seller, _brand = _visible_product(session, product_id)
    return product.available_qty, product.listing_state, _lots(session, product.id)


def get_product_detail(session: Session, principal: Principal | None, product_id: Any) -> ProductDetail:
    """The product page: details, this buyer's price, packages with lab data, whether it may order."""
    product, seller_name, brand = _visible_product(session, product_id)
    entity_id = principal.entity_id if principal is not None and principal.is_authenticated else None
    price = product.unit_price
    can_order = False
    if principal is not None and entity_id is not None and entity_id != product.entity_id:
        price = buyer_unit_prices(session, entity_id, [product]).get(product.id, product.unit_price)
        can_order = is_allowed(principal, "order.place", entity_id)
    return ProductDetail(
        id=product.id,
        sku=product.sku,
        name=product.name,
        description=product.description,
        brand=brand,
        seller_entity_id=product.entity_id,
        seller_name=seller_name,
        category=product.category,
        strain_name=product.strain_name,
        strain_type=product.strain_type,
        thc_percent=product.thc_percent,
        cbd_percent=product.cbd_percent,
        unit_of_measure=product.unit_of_measure,
        list_price=product.unit_price,
        unit_price=price,
        case_size=product.case_size,
        case_price=case_price_for(price, product.case_size),
        min_order_qty=product.min_order_qty,
        available_qty=product.available_qty or ZERO,
        listing_state=product.listing_state,
        can_order=can_order,
        lots=_lots(session, product.id),
    )
