"""The licenses an order goes under: the buyer's license to receive, and each seller's license to sell."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from reup_app.errors import (
    Conflict,
    ValidationError,
)
from reup_app.models import (
    License,
)
from reup_app.models.enums import (
    LicenseStatus,
)
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services.common import (
    fmt_qty,
    parse_int,
    require_member,
)
from reup_app.services.compliance.license_calendar import is_current, license_today
from reup_app.services.inventory import lots as inventory
from reup_app.services.ordering.cart import (
    _LICENSE_COLS,
)
from reup_app.services.ordering.checkout_plans import _SellerPlan
from reup_app.services.ordering.license_split import split_over_licenses


def _buyer_license(session: Session, entity_id: int, buyer_license_id: Any) -> License:
    license = (
        session.execute(
            select(License)
            .options(_LICENSE_COLS)
            .where(col(License.id) == parse_int(buyer_license_id, "buyer_license_id"))
        )
        .scalars()
        .first()
    )
    if license is None or license.entity_id != entity_id:
        raise ValidationError("Choose one of your business's licenses to receive this order.", "buyer_license_id")
    if license.status != LicenseStatus.ACTIVE or not is_current(license.expires_on, license.state):
        raise ValidationError(
            f"License {license.number} is not active, so it can't receive orders.", "buyer_license_id"
        )
    return license


def _seller_licenses(session: Session, seller_ids: list[int], state: str) -> dict[int, list[License]]:
    """Active, unexpired licenses of these sellers in `state` (cannabis can't cross state lines)."""
    today = license_today(state)
    out: dict[int, list[License]] = defaultdict(list)
    for lic in session.execute(
        select(License)
        .options(_LICENSE_COLS)
        .where(
            col(License.entity_id).in_(seller_ids),
            col(License.state) == state,
            col(License.status) == LicenseStatus.ACTIVE,
        )
        .order_by(col(License.id))
    ).scalars():
        if lic.expires_on is None or lic.expires_on >= today:
            out[lic.entity_id].append(lic)
    return out


def _license_parts(
    plan: _SellerPlan, candidates: list[License], state: str, stock: inventory.StockLock
) -> list[tuple[License, list[tuple[int, Decimal]]]]:
    """The seller licenses this seller's part ships under, each with its (product id, quantity) lines:
    one order per license (rule in `license_split`); Conflict naming the product when the seller's
    licenses in `state` can't cover a line, so only this seller's part is held back."""
    lines = [(i.product_id, i.quantity) for i in plan.items]
    if plan.license_id is not None:
        chosen = next((lic for lic in candidates if lic.id == plan.license_id), None)
        if chosen is None:
            raise ValidationError(f"{plan.seller.name} can't ship to you under that license.", "seller_license_id")
        candidates = [chosen]
    if not candidates:
        raise ValidationError(
            f"{plan.seller.name} holds no active license in {state}, so it can't sell to your license there.",
            "buyer_license_id",
        )
    sellable = {(pid, lic.id): stock.sellable_qty(pid, lic.id) for pid, _ in lines for lic in candidates}
    split = split_over_licenses(lines, [lic.id for lic in candidates], sellable)
    for pid, have in split.short.items():
        product = stock.products[pid]
        wanted = next(qty for p, qty in lines if p == pid)
        raise Conflict(
            f"Only {fmt_qty(have)} {product.unit_of_measure} of {product.name} available to ship from "
            f"{plan.seller.name} to your license in {state}; {fmt_qty(wanted)} requested."
        )
    by_id = {lic.id: lic for lic in candidates}
    return [(by_id[lic_id], part) for lic_id, part in split.parts.items()]


@dataclass(frozen=True)
class LicenseChoice:
    id: int
    state: str
    number: str
    premises_name: str | None


def buyer_licenses(session: Session, principal: Principal) -> list[LicenseChoice]:
    """The principal's business's active, unexpired licenses an order can be received under."""
    entity_id = require_member(principal)
    authorize(principal, "order.place", entity_id)
    rows = session.execute(
        select(License)
        .where(col(License.entity_id) == entity_id, col(License.status) == LicenseStatus.ACTIVE)
        .order_by(col(License.id))
    ).scalars()
    return [
        LicenseChoice(id=lic.id, state=lic.state, number=lic.number, premises_name=lic.premises_name)
        for lic in rows
        if is_current(lic.expires_on, lic.state)
    ]
