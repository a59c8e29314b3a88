"""Shared setup for the METRC transfer tests: a seller bound to the sandbox's Pacific Bloom facility,
a buyer bound to Greenleaf, a package that exists in both ReUp and the sandbox, and the sender."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select

from reup_app.jobs.outbox_sender import Fence, claim_due, deliver
from reup_app.models import ComplianceManifest, InventoryLot, OutboxMessage
from reup_app.models.types import utcnow
from reup_app.services.ordering import orders
from reup_app.settings import reset_settings_cache
from tests.integration.orderkit import (
    Party,
    advance,
    call,
    fresh,
    key,
    make_buyer,
    make_seller,
    order_row,
    place_one,
    stock,
)
from tests.metrc_kit import GREENLEAF, PB_DIST, bind_license_number, make_metrc_connection
from tests.sandboxes import MetrcSandbox

LATER = timedelta(hours=2)  # claim as if every backoff had elapsed
DRIVER = {
    "driver_name": "Dana Ruiz",
    "driver_license_number": "CA-D1234567",
    "driver_phone": "(510) 555-0142",
    "vehicle_make": "Ford",
    "vehicle_model": "Transit",
    "vehicle_plate": "8ABC123",
}


def sandbox_settings(metrc_sandbox: MetrcSandbox):
    """Settings that reach the sandbox (its vendor key, a short request timeout), for a fixture."""
    mp = pytest.MonkeyPatch()
    mp.setenv("REUP_METRC_VENDOR_KEY", MetrcSandbox.VENDOR_KEY)
    mp.setenv("REUP_METRC_TIMEOUT_SECONDS", "2")
    reset_settings_cache()
    yield metrc_sandbox
    mp.undo()
    reset_settings_cache()
    retire_sandbox_rows()


def retire_sandbox_rows() -> None:
    """The sandbox is reset before each test, so what earlier tests linked to it is gone: disable their
    METRC connections and void their manifests (sandbox ids restart, and transfer ids are unique here)."""
    from sqlalchemy import func, update

    from reup_app.db import get_engine
    from reup_app.models import IntegrationConnection

    with fresh(get_engine()) as s:
        s.execute(update(IntegrationConnection).where(IntegrationConnection.provider == "metrc").values(enabled=False))
        s.execute(
            update(ComplianceManifest)
            .where(ComplianceManifest.provider == "metrc", ComplianceManifest.template_id.is_not(None))
            .values(
                status="voided",
                external_transfer_id=None,
                template_id=func.concat("reset-", ComplianceManifest.id),
            )
        )
        s.commit()


@dataclass
class Trade:
    seller: Party
    buyer: Party
    number: str
    lot: InventoryLot
    sandbox: MetrcSandbox

    @property
    def name(self) -> str:
        return f"ReUp {self.number}"


def fulfilled_trade(session, engine, sb: MetrcSandbox, *, connected: bool = True, qty: str = "4") -> Trade:
    """An order of 4 from one 10-unit package, fulfilled, seller (maybe) connected to the sandbox."""
    retire_sandbox_rows()
    seller, buyer = make_seller(session), make_buyer(session)
    bind_license_number(session, seller.license, PB_DIST)
    bind_license_number(session, buyer.license, GREENLEAF)
    label = f"1A40{uuid.uuid4().hex[:20].upper()}"
    product, (lot,) = stock(session, seller, qty="10", price="12.50")
    lot.package_label = label
    session.add(lot)
    session.commit()
    sb.create_package(license_number=PB_DIST, label=label, quantity=10, item=product.name)
    if connected:
        make_metrc_connection(session, seller.license, sb.base_url, sb.user_key("pacificbloom"))
    number = place_one(engine, buyer, product, qty)
    advance(engine, seller, number, "accept", "fulfill")
    return Trade(seller, buyer, number, lot, sb)


def ship(engine, trade: Trade, **details):
    return call(engine, trade.seller.owner, orders.transition, trade.number, "ship", idempotency_key=key(), **details)


def manifest_of(engine, number: str) -> ComplianceManifest:
    with fresh(engine) as s:
        oid = order_row(engine, number).id
        return s.execute(select(ComplianceManifest).where(ComplianceManifest.order_id == oid)).scalar_one()


def outbox_row(engine, reference: str) -> OutboxMessage | None:
    with fresh(engine) as s:
        return s.execute(select(OutboxMessage).where(OutboxMessage.reference == reference)).scalars().first()


def fence() -> Fence:
    return Fence(100, name=f"t-{uuid.uuid4().hex[:8]}")


def send(engine, fence_: Fence, reference: str, *, later: bool = False) -> str | None:
    """Claim due rows and deliver ours (others are left to be re-claimed); its new status."""
    outcome = None
    for msg in claim_due(engine, fence_, now=utcnow() + LATER if later else None, limit=100):
        if msg.reference == reference:
            outcome = deliver(engine, fence_, msg)
    return outcome


def drain(engine, fence_: Fence, reference: str, passes: int = 8) -> list[str]:
    outcomes = []
    for _ in range(passes):
        outcome = send(engine, fence_, reference, later=True)
        if outcome is None:
            break
        outcomes.append(outcome)
        if outcome in ("sent", "dead"):
            break
    return outcomes


def templates_named(sb: MetrcSandbox, name: str) -> list[dict]:
    return [t for t in sb.templates() if t["Name"] == name]
