"""Initial sandbox states: `demo` (the ReUp demo seed's licenses and packages), `empty`, and bulk benchmark data.

The demo state is derived by running ReUp's own `seed_demo` into a throw-away in-memory SQLite database and
reading its licenses and inventory lots back, so labels, items, strains, lab states and quantities are the same
ones `reup seed` writes (nothing is copied here).
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from reup_app.sandboxes.metrc.store import Delivery, DeliveryPackage, Facility, Item, MetrcState, Package, Transfer

DEFAULT_VENDOR_KEY = "reup-sandbox-vendor-key"
BENCH_USER_KEY = "bench-user-key"
CATEGORY_NAMES = {
    "flower": "Flower",
    "pre_rolls": "Pre-Roll Flower",
    "vapes": "Vape Cartridge (weight - each)",
    "edibles": "Edible (weight - each)",
    "concentrates": "Concentrate (weight - each)",
    "tinctures": "Tincture (volume - each)",
    "topicals": "Topical (weight - each)",
}
UNIT_NAMES = {"each": "Each", "g": "Grams", "oz": "Ounces", "ml": "Milliliters"}
LAB_STATE_NAMES = {
    "not_submitted": "NotSubmitted",
    "submitted": "SubmittedForTesting",
    "passed": "TestPassed",
    "failed": "TestFailed",
}
LICENSE_TYPE_NAMES = {
    "distributor": "Distributor",
    "manufacturer": "Manufacturer Level 1",
    "adult_use_retail": "Adult-Use Retail",
}


def demo_user_key(company_key: str) -> str:
    """The sandbox user API key of a demo company (documented in the README); the demo seed's METRC
    connections use the same keys."""
    from reup_app.seed.demo_connections import demo_user_key as seeded_key

    return seeded_key(company_key)


def empty_state() -> MetrcState:
    return MetrcState()


def demo_state(now: datetime) -> MetrcState:
    """Facilities and packages of the demo seed; one user key per demo company (wholesalers and retailers)."""
    from sqlmodel import Session, SQLModel, col, create_engine, select

    import reup_app.models as models
    from reup_app.seed import catalog_data, seed_demo

    engine = create_engine("sqlite://")
    SQLModel.metadata.create_all(engine)
    state = MetrcState()
    try:
        with Session(engine) as session:
            seed_demo(session, now=now, password_hash="sandbox-not-a-login", product_images=False)
            licenses = {lic.id: lic for lic in session.exec(select(models.License)).all()}
            for lic in licenses.values():
                assert lic.premises_name and lic.expires_on, lic.number  # the demo seed sets both
                state.facilities[lic.number] = Facility(
                    lic.number,
                    lic.premises_name,
                    LICENSE_TYPE_NAMES.get(lic.license_type, lic.license_type),
                    lic.created_at.date(),
                    lic.expires_on,
                    can_sell_to_consumers=lic.license_type == "adult_use_retail",
                )
            for spec in (*catalog_data.WHOLESALERS, *catalog_data.RETAILERS):
                state.user_keys[demo_user_key(spec.key)] = {ls.number for ls in spec.licenses}
            products = {p.id: p for p in session.exec(select(models.Product)).all()}
            brands = {b.id: b.name for b in session.exec(select(models.Brand)).all()}
            lots = session.exec(select(models.InventoryLot).order_by(col(models.InventoryLot.id))).all()
            for lot in lots:
                product = products[lot.product_id]
                item = Item(
                    product.name,
                    CATEGORY_NAMES.get(product.category, product.category),
                    product.strain_name,
                    UNIT_NAMES.get(product.unit_of_measure, product.unit_of_measure),
                    lot.lab_thc_percent,
                    lot.lab_cbd_percent,
                    brands.get(product.brand_id) if product.brand_id is not None else None,
                )
                assert lot.packaged_on is not None, lot.package_label  # the demo seed dates every package
                pid = state.next_id()
                state.packages[pid] = Package(
                    id=pid,
                    label=lot.package_label,
                    license_number=licenses[lot.license_id].number,
                    item=item,
                    quantity=Decimal(lot.quantity_on_hand),
                    lab_state=LAB_STATE_NAMES[lot.lab_test_state],
                    packaged_date=lot.packaged_on,
                    last_modified=_aware(lot.updated_at),
                    expiration_date=lot.expires_on,
                    production_batch=lot.batch_number,
                )
            _demo_transfers(session, state, licenses)
    finally:
        engine.dispose()
    return state


def _demo_transfers(session, state: MetrcState, licenses: dict) -> None:
    """The demo's received METRC manifests as received transfers: the shipped package lines were accepted in
    full and the buyer holds its own package with the same label (the seller's package keeps the rest)."""
    from sqlmodel import col, select

    import reup_app.models as models

    manifests = session.exec(
        select(models.ComplianceManifest).where(col(models.ComplianceManifest.manifest_number).is_not(None))
    ).all()
    by_key = {(p.license_number, p.label): p for p in state.packages.values()}
    for manifest in sorted(manifests, key=lambda m: m.id):
        order = session.get(models.Order, manifest.order_id)
        shipper, recipient = licenses[order.seller_license_id].number, licenses[order.buyer_license_id].number
        received_at = _aware(order.delivered_at or order.shipped_at)
        rows = session.exec(
            select(models.OrderLineAllocation, models.OrderLine)
            .join(models.OrderLine, col(models.OrderLine.id) == col(models.OrderLineAllocation.order_line_id))
            .where(col(models.OrderLine.order_id) == order.id)
            .order_by(col(models.OrderLineAllocation.id))
        ).all()
        lines = []
        for allocation, line in rows:
            source = by_key[(shipper, allocation.package_label)]
            lines.append(
                DeliveryPackage(
                    source.id,
                    source.label,
                    Decimal(allocation.quantity),
                    source.item.unit,
                    Decimal(line.unit_price) * Decimal(allocation.quantity),
                    "Accepted",
                    Decimal(allocation.quantity),
                )
            )
            held = by_key.get((recipient, source.label))
            if held is not None:  # a second shipment from the same package: one package at the buyer
                held.quantity += Decimal(allocation.quantity)
                held.received_from_manifest, held.received_at = manifest.manifest_number, received_at
                held.last_modified = max(held.last_modified, received_at)
                continue
            pid = state.next_id()
            state.packages[pid] = by_key[(recipient, source.label)] = replace(
                source,
                id=pid,
                license_number=recipient,
                quantity=Decimal(allocation.quantity),
                received_from_manifest=manifest.manifest_number,
                received_from_license=shipper,
                received_at=received_at,
                last_modified=received_at,
            )
        delivery = Delivery(state.next_id(), recipient, "Wholesale", None, None, None, lines, received_at=received_at)
        tid = state.next_id()
        shipped_at = _aware(order.shipped_at)
        state.transfers[tid] = Transfer(
            tid, manifest.manifest_number, shipper, None, shipped_at, received_at, {}, [delivery]
        )


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo else value.replace(tzinfo=UTC)


def add_bulk(state: MetrcState, now: datetime, *, facilities: int, packages: int, days: int = 7, seed: int = 1) -> dict:
    """Add `facilities` bench licenses (user key BENCH_USER_KEY) holding `packages` packages between them.

    LastModified times spread evenly over the past `days` days, so a sync walks `days` 24-hour windows.
    """
    if not 1 <= facilities <= 100 or not 0 <= packages <= 500_000 or not 1 <= days <= 365:
        raise ValueError("bulk needs 1..100 facilities, 0..500000 packages and 1..365 days")
    rng = random.Random(seed)
    start = len([f for f in state.facilities if f.startswith("BENCH-")])
    numbers = [f"BENCH-{start + i + 1:05d}-LIC" for i in range(facilities)]
    for n, number in enumerate(numbers):
        state.facilities[number] = Facility(
            number, f"Bench Facility {start + n + 1}", "Distributor", now.date() - timedelta(days=400), now.date()
        )
    state.user_keys.setdefault(BENCH_USER_KEY, set()).update(numbers)
    span = timedelta(days=days).total_seconds()
    categories = list(CATEGORY_NAMES.values())
    for i in range(packages):
        number = numbers[i % facilities]
        pid = state.next_id()
        state.packages[pid] = Package(
            id=pid,
            label=f"1A4BENCH{start + i % facilities:02d}{i:014d}"[:24],
            license_number=number,
            item=Item(f"Bench Item {i % 500}", rng.choice(categories), f"Strain {i % 97}", "Each"),
            quantity=Decimal(rng.randint(1, 500)),
            lab_state="TestPassed",
            packaged_date=(now - timedelta(days=days + 10)).date(),
            last_modified=now - timedelta(seconds=span * (packages - i) / max(packages, 1)),
        )
    return {"facilities": numbers, "packages": packages, "user_key": BENCH_USER_KEY}
