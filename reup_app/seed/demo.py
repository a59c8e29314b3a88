"""The demo data set: a small, realistic California marketplace, built deterministically.

    from reup_app.db import unit_of_work
    from reup_app.seed import seed_demo
    with unit_of_work(system_principal("seed")) as session:
        summary = seed_demo(session)

What it creates (see `DEMO_ACCOUNTS` for the logins; one password, `DEMO_PASSWORD`, for all):
- a platform admin;
- two approved wholesalers (licenses, brands, 40+ products each across all seven categories,
  METRC-style inventory lots with lab results), and two approved retailers with adult-use licenses;
- trade relationships (with a price tier on two of them);
- 16 orders (RU-100001..) in every common status with a timeline shaped as the order state machine
  records it (OrderEvent kind = status reached, detail {"action": ...}), reservations and package
  allocations, invoices (INV- + the order digits) and payments, METRC manifest and delivery rows
  for shipped orders, plus a few messages and notifications.

Every random choice comes from `random.Random(SEED)`, so two runs produce the same names, SKUs,
package labels, quantities and prices; only timestamps move with the day the seed runs.

Inventory invariants the seed keeps (and the tests check):
- every lot: quantity_available == quantity_on_hand - quantity_reserved, none negative;
- Product.available_qty == sum of its lots' quantity_available;
- a lot's quantity_reserved == the sum of its allocations to submitted/accepted/fulfilled orders
  (reservations are recorded as OrderLineAllocation rows from submission on); orders that have
  shipped have reduced quantity_on_hand instead; rejected/cancelled orders hold nothing.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

from sqlalchemy import func
from sqlmodel import Session, select

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
    OrderMessage,
    Payment,
    PriceTier,
    PriceTierPrice,
    Product,
    TradeRelationship,
    User,
)
from reup_app.models.catalog import product_search_text
from reup_app.models.enums import (
    DeliveryStatus,
    EntityStatus,
    InvoiceStatus,
    LabTestState,
    LicenseStatus,
    ListingState,
    ManifestStatus,
    OrderStatus,
    PaymentMethod,
    Provider,
    Role,
)
from reup_app.models.types import utcnow
from reup_app.security import mfa
from reup_app.security.passwords import hash_password
from reup_app.security.principal import system_principal
from reup_app.seed import catalog_data as data
from reup_app.seed.demo_applicant import add_pending_applicant
from reup_app.seed.demo_connections import connect_demo_fleetbase, connect_demo_licenses, connect_demo_stores
from reup_app.seed.product_art import add_demo_images
from reup_app.services.audit.trail import install_audit_listener

T = TypeVar("T")


def _known(value: T | None) -> T:
    """A value this builder has set before (an order's shipped_at, the admin, ...), which the
    type of an optional column cannot show."""
    if value is None:
        raise RuntimeError("demo data: a value set earlier in the build is missing")
    return value


SEED = 20261124
DEMO_PASSWORD = "ReUp-demo-2026!"
ADMIN_EMAIL = data.PLATFORM_ADMIN[0]
DEMO_ADMIN_TOTP_SECRET = "REUPDEMOADMINTOTPKEY234567ABCDEF"  # base32; documented in README (demo only)

CENT = Decimal("0.01")
ZERO = Decimal("0")

# California wholesale (distributor -> retailer) sales are sales for resale: no sales tax, and
# since 1 Jan 2023 the cannabis excise tax is collected by the retailer from the consumer, not
# on the wholesale invoice. Orders therefore carry tax 0.00 and total == subtotal.
WHOLESALE_TAX_RATE = Decimal("0")

TERMS_DAYS = {"cod": 0, "prepay": 0, "net_7": 7, "net_15": 15, "net_30": 30, "net_60": 60}

# Statuses whose lines hold a reservation on their lots.
RESERVING_STATUSES = frozenset({OrderStatus.SUBMITTED, OrderStatus.ACCEPTED, OrderStatus.FULFILLED})
# Statuses whose goods have left the building (on-hand already reduced).
SHIPPED_STATUSES = frozenset({OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.COMPLETE})
_HAPPY_PATH = (
    OrderStatus.SUBMITTED,
    OrderStatus.ACCEPTED,
    OrderStatus.FULFILLED,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
    OrderStatus.COMPLETE,
)


# --------------------------------------------------------------------------------------------
# Demo accounts
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoAccount:
    email: str
    full_name: str
    role: str  # a Role value, or "platform_admin"
    entity_name: str | None  # None for the platform admin
    entity_kind: str | None


def _build_accounts() -> tuple[DemoAccount, ...]:
    accounts = [DemoAccount(ADMIN_EMAIL, data.PLATFORM_ADMIN[1], "platform_admin", None, None)]
    for spec in (*data.WHOLESALERS, *data.RETAILERS):
        for role, full_name in spec.people:
            accounts.append(DemoAccount(f"{role}@{spec.domain}", full_name, str(role), spec.name, spec.kind))
    return tuple(accounts)


# Every demo login; all use DEMO_PASSWORD.
DEMO_ACCOUNTS: tuple[DemoAccount, ...] = _build_accounts()


@dataclass
class SeedSummary:
    created: bool
    message: str
    counts: dict[str, int] = field(default_factory=dict)
    accounts: tuple[DemoAccount, ...] = DEMO_ACCOUNTS
    password: str = DEMO_PASSWORD

    def describe(self) -> str:
        """Human-readable summary with the demo logins (printed by `reup seed`)."""
        lines = [self.message]
        if self.counts:
            lines.append("  " + ", ".join(f"{v} {k}" for k, v in self.counts.items()))
        lines.append("")
        lines.append(f"Demo logins (password for all: {self.password}):")
        width = max(len(a.email) for a in self.accounts)
        for a in self.accounts:
            where = a.entity_name or "ReUp platform"
            lines.append(f"  {a.email:<{width}}  {a.role:<14} {where}")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Orders to create: (status, buyer key, buyer license index, seller key, terms, days ago, lines)
# --------------------------------------------------------------------------------------------

ORDER_PLAN: tuple[tuple[str, str, int, str, str, float, int], ...] = (
    (OrderStatus.COMPLETE, "greenleaf", 0, "emeraldcoast", "net_30", 44, 4),
    (OrderStatus.COMPLETE, "greenleaf", 0, "pacificbloom", "net_30", 38, 5),
    (OrderStatus.COMPLETE, "canopy", 0, "emeraldcoast", "cod", 31, 3),
    (OrderStatus.REJECTED, "canopy", 1, "emeraldcoast", "net_15", 26, 2),
    (OrderStatus.DELIVERED, "greenleaf", 0, "emeraldcoast", "net_15", 12, 4),
    (OrderStatus.DELIVERED, "canopy", 0, "pacificbloom", "net_30", 9, 3),
    (OrderStatus.CANCELLED, "greenleaf", 0, "pacificbloom", "net_15", 7, 2),
    (OrderStatus.SHIPPED, "greenleaf", 0, "pacificbloom", "cod", 3.5, 3),
    (OrderStatus.SHIPPED, "canopy", 1, "emeraldcoast", "net_15", 3, 4),
    (OrderStatus.FULFILLED, "canopy", 0, "pacificbloom", "net_30", 2.6, 3),
    (OrderStatus.FULFILLED, "greenleaf", 0, "emeraldcoast", "net_30", 2.4, 2),
    (OrderStatus.ACCEPTED, "greenleaf", 0, "pacificbloom", "net_15", 1.6, 4),
    (OrderStatus.ACCEPTED, "canopy", 1, "emeraldcoast", "cod", 1.2, 3),
    (OrderStatus.SUBMITTED, "canopy", 0, "pacificbloom", "net_30", 0.5, 3),
    (OrderStatus.SUBMITTED, "greenleaf", 0, "emeraldcoast", "net_15", 0.3, 2),
    (OrderStatus.SUBMITTED, "greenleaf", 0, "pacificbloom", "cod", 0.1, 3),
)
FIRST_ORDER_NUMBER = 100001


def invoice_number_for(order: Order) -> str:
    """INV- plus the order number's digits (as reup_app.services.billing.invoices numbers them)."""
    return "INV-" + order.number.split("-", 1)[-1]


REJECT_REASON = "Our Long Beach route is full this week; please reorder for next Wednesday's run."
CANCEL_REASON = "Duplicate of a phone order placed with our sales rep."


# --------------------------------------------------------------------------------------------
# The builder
# --------------------------------------------------------------------------------------------


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class _Company:
    """Rows created for one company spec."""

    def __init__(self, spec: data.CompanySpec, entity: Entity):
        self.spec = spec
        self.entity = entity
        self.licenses: list[License] = []
        self.users: dict[str, User] = {}
        self.brands: dict[str, Brand] = {}
        self.products: list[Product] = []

    @property
    def distributor_license(self) -> License:
        return next(lic for lic in self.licenses if lic.license_type == "distributor")


class _DemoBuilder:
    def __init__(self, session: Session, password_hash: str, now: datetime):
        self.s = session
        self.rng = random.Random(SEED)
        self.now = now
        self.today = now.date()
        self.password_hash = password_hash
        self.admin: User | None = None
        self.companies: dict[str, _Company] = {}
        self.lots_by_product: dict[int, list[InventoryLot]] = defaultdict(list)
        self.brand_prefix: dict[int, str] = {}
        self.tier_prices: dict[tuple[int, int], Decimal] = {}  # (buyer entity, product) -> price
        self.label_serial: dict[int, int] = {}
        self.facility_code: dict[int, str] = {}
        self.orders: list[Order] = []
        self.counts: dict[str, int] = defaultdict(int)

    # -- helpers ------------------------------------------------------------------------------

    def _add(self, row, kind: str):
        self.s.add(row)
        self.counts[kind] += 1
        return row

    def _ago(self, days: float, hours: float = 0) -> datetime:
        return self.now - timedelta(days=days, hours=hours)

    def _price(self, lo: str, hi: str) -> Decimal:
        low, high = Decimal(lo), Decimal(hi)
        raw = low + (high - low) * Decimal(str(round(self.rng.random(), 4)))
        # Wholesale menus quote to the quarter dollar.
        return (raw * 4).quantize(Decimal("1"), rounding=ROUND_HALF_UP) / 4

    def _pct(self, lo: float, hi: float) -> Decimal:
        return Decimal(str(round(self.rng.uniform(lo, hi), 1))).quantize(CENT)

    def _near(self, value: Decimal, spread: float) -> Decimal:
        """A lab result within `spread` points of the labelled potency."""
        return max(ZERO, value + Decimal(str(round(self.rng.uniform(-spread, spread), 2)))).quantize(CENT)

    def _at(self, day: date, hour: int) -> datetime:
        return datetime.combine(day, datetime.min.time(), tzinfo=self.now.tzinfo) + timedelta(hours=hour)

    def _package_label(self, license: License) -> str:
        serial = self.label_serial[license.id] + self.rng.randint(1, 37)
        self.label_serial[license.id] = serial
        label = f"1A4{self.facility_code[license.id]}{serial:012d}"
        assert len(label) == 24, label
        return label

    # -- companies, people --------------------------------------------------------------------

    def build_admin(self) -> User:
        email, name = data.PLATFORM_ADMIN
        admin = self._add(
            User(
                email=email,
                full_name=name,
                password_hash=self.password_hash,
                is_platform_admin=True,
                created_at=self._ago(120),
                updated_at=self._ago(120),
            ),
            "users",
        )
        self.s.flush()
        # MFA is mandatory for platform admins; the demo admin's TOTP key is public (README) so the
        # demo can be used. Add it to an authenticator app, or: python -c "import pyotp;
        # print(pyotp.TOTP('<key>').now())".
        admin.mfa_secret_encrypted = mfa.encrypt_secret(admin.id, DEMO_ADMIN_TOTP_SECRET)
        admin.mfa_enabled = True
        self.s.add(admin)
        self.admin = admin
        return admin

    def build_company(self, spec: data.CompanySpec, age_days: int) -> _Company:
        created = self._ago(age_days)
        entity = self._add(
            Entity(
                name=spec.name,
                legal_name=spec.legal_name,
                kind=spec.kind,
                status=EntityStatus.APPROVED,
                email=f"hello@{spec.domain}",
                phone=spec.phone,
                address_line1=spec.address,
                city=spec.city,
                state="CA",
                postal_code=spec.postal_code,
                payment_terms_offered=spec.payment_terms_offered,
                min_order_amount=spec.min_order_amount,
                description=spec.description,
                approved_at=created + timedelta(days=2, hours=3),
                approved_by_user_id=_known(self.admin).id,
                created_at=created,
                updated_at=created + timedelta(days=2, hours=3),
            ),
            "entities",
        )
        self.s.flush()
        company = _Company(spec, entity)
        for lspec in spec.licenses:
            lic = self._add(
                License(
                    entity_id=entity.id,
                    state="CA",
                    number=lspec.number,
                    license_type=lspec.license_type,
                    status=LicenseStatus.ACTIVE,
                    expires_on=self.today + timedelta(days=lspec.expires_in_days),
                    premises_name=lspec.premises_name,
                    premises_address=lspec.address,
                    premises_city=lspec.city,
                    premises_postal_code=lspec.postal_code,
                    review_status="approved",  # checked when the business was approved
                    reviewed_at=created + timedelta(days=2, hours=3),
                    reviewed_by_user_id=_known(self.admin).id,
                    created_at=created,
                    updated_at=created,
                ),
                "licenses",
            )
            company.licenses.append(lic)
        for role, full_name in spec.people:
            user = self._add(
                User(
                    email=f"{role}@{spec.domain}",
                    full_name=full_name,
                    password_hash=self.password_hash,
                    created_at=created + timedelta(hours=1),
                    updated_at=created + timedelta(hours=1),
                ),
                "users",
            )
            company.users[str(role)] = user
        self.s.flush()
        for role, user in company.users.items():
            self._add(
                Membership(user_id=user.id, entity_id=entity.id, role=role, created_at=user.created_at), "memberships"
            )
        for lic, lspec in zip(company.licenses, spec.licenses, strict=True):
            self.facility_code[lic.id] = lspec.metrc_facility_code
            self.label_serial[lic.id] = self.rng.randint(10_000, 90_000) * 1000
        self.companies[spec.key] = company
        return company

    # -- catalog --------------------------------------------------------------------------------

    def build_catalog(self, company: _Company, index: int, mg_pools: dict[str, list]) -> None:
        spec = company.spec
        for bspec in spec.brands:
            brand = self._add(
                Brand(
                    entity_id=company.entity.id,
                    name=bspec.name,
                    created_at=company.entity.created_at + timedelta(days=3),
                ),
                "brands",
            )
            company.brands[bspec.name] = brand
        self.s.flush()
        for bspec in spec.brands:
            self.brand_prefix[company.brands[bspec.name].id] = bspec.sku_prefix

        seq = 0
        used_names: set[str] = set()
        for category, count in data.CATEGORY_COUNTS.items():
            brands = [b for b in spec.brands if category in b.categories]
            picks: list[tuple[data.ProductTemplate, tuple | None]] = []
            if category in data.MG_PRODUCTS:
                picks = [(tpl, None) for tpl in mg_pools[category][index * count : (index + 1) * count]]
            else:
                cbd = data.CBD_TEMPLATES.get(category, ())
                templates = data.STRAIN_TEMPLATES[category]
                for i in range(count - len(cbd)):
                    tpl = templates[i % len(templates)]
                    picks.append((tpl, self._unique_strain(tpl, data.STRAINS, used_names)))
                for tpl in cbd:
                    picks.append((tpl, self._unique_strain(tpl, data.CBD_STRAINS, used_names)))
            for i, (tpl, strain) in enumerate(picks):
                seq += 1
                bspec = brands[i % len(brands)]
                self._make_product(company, company.brands[bspec.name], bspec.sku_prefix, category, tpl, strain, seq)
        self.s.flush()

        # A few listings that are not plainly "available", as on any real menu.
        states = [ListingState.BACKORDER] * 2 + [ListingState.SAMPLE, ListingState.INTERNAL, ListingState.ARCHIVED]
        for product, state in zip(self.rng.sample(company.products, len(states)), states, strict=True):
            product.listing_state = state

        for product in company.products:
            self._make_lots(company, product)
        self.s.flush()

    def _unique_strain(self, tpl: data.ProductTemplate, strains, used_names: set[str]):
        for _ in range(200):
            strain = self.rng.choice(strains)
            name = tpl.name.format(strain=strain[0])
            if name not in used_names:
                used_names.add(name)
                return strain
        raise RuntimeError("ran out of strain names for " + tpl.name)  # pragma: no cover

    def _make_product(self, company, brand, prefix, category, tpl, strain, seq) -> Product:
        strain_name, strain_type, thc, cbd = None, "none", None, None
        if strain is not None and tpl.cbd_strain:
            strain_name, t_lo, t_hi, c_lo, c_hi = strain
            strain_type = "cbd"
            thc, cbd = self._pct(t_lo, t_hi), self._pct(c_lo, c_hi)
        elif strain is not None:
            strain_name, strain_type, s_lo, s_hi = strain
            lo, hi = tpl.thc if tpl.thc else (s_lo, s_hi)
            thc = self._pct(lo, hi)
            cbd = self._pct(0.05, 0.9) if self.rng.random() < 0.6 else None
        name = tpl.name.format(strain=strain_name) if strain_name else tpl.name
        unit_price = self._price(*tpl.price)
        discount = Decimal("0.92") if tpl.uom == "oz" else Decimal("0.95")
        case_price = _money(unit_price * tpl.case_size * discount) if tpl.case_size > 1 else None
        sku = f"{prefix}-{tpl.code}-{seq:03d}"
        created = self._ago(self.rng.randint(45, 90))
        description = tpl.description
        if strain_name:
            description = f"{description} Cultivar: {strain_name}."
        product = self._add(
            Product(
                entity_id=company.entity.id,
                brand_id=brand.id,
                sku=sku,
                name=name,
                description=description,
                category=category,
                strain_name=strain_name,
                strain_type=strain_type,
                thc_percent=thc,
                cbd_percent=cbd,
                unit_of_measure=tpl.uom,
                case_size=tpl.case_size,
                unit_price=unit_price,
                case_price=case_price,
                min_order_qty=Decimal(tpl.min_order),
                listing_state=ListingState.AVAILABLE,
                available_qty=ZERO,
                search_text=product_search_text(name, brand.name, strain_name, sku),
                created_at=created,
                updated_at=created,
            ),
            "products",
        )
        company.products.append(product)
        return product

    def _make_lots(self, company: _Company, product: Product) -> None:
        plan: list[tuple[License, bool]] = [(company.distributor_license, True)]
        if self.rng.random() < 0.35:
            plan.append((company.distributor_license, False))
        manufacturer = next((lic for lic in company.licenses if lic.license_type == "manufacturer"), None)
        if manufacturer is not None and product.category in data.MANUFACTURED_CATEGORIES:
            plan.append((manufacturer, False))
        state = product.listing_state
        for n, (lic, oldest) in enumerate(plan, start=1):
            packaged = self.today - timedelta(days=self.rng.randint(50, 150) if oldest else self.rng.randint(3, 40))
            if state in (ListingState.BACKORDER, ListingState.ARCHIVED):
                on_hand = 0  # sold through / depleted package
            elif state == ListingState.SAMPLE:
                on_hand = product.case_size
            else:
                on_hand = product.case_size * self.rng.randint(3, 14)
            lab_state, lab_thc, lab_cbd, lab_name, tested = LabTestState.PASSED, None, None, None, None
            if not oldest and (self.today - packaged).days < 10:
                lab_state = LabTestState.SUBMITTED
            elif state == ListingState.ARCHIVED and oldest:
                lab_state = LabTestState.FAILED  # failed pesticide panel; listing pulled
            if lab_state in (LabTestState.PASSED, LabTestState.FAILED):
                lab_name = self.rng.choice(data.LABS)
                tested = packaged + timedelta(days=self.rng.randint(3, 8))
                if product.category in data.PERCENT_CATEGORIES and product.thc_percent is not None:
                    lab_thc = self._near(product.thc_percent, 1.5)
                    if product.cbd_percent is not None:
                        lab_cbd = self._near(product.cbd_percent, 0.3)
            qty = Decimal(on_hand).quantize(Decimal("0.001"))
            lot = self._add(
                InventoryLot(
                    product_id=product.id,
                    license_id=lic.id,
                    package_label=self._package_label(lic),
                    batch_number=f"{self.brand_prefix[_known(product.brand_id)]}{packaged:%y%m%d}-{product.sku[3:5]}{n:02d}",
                    quantity_on_hand=qty,
                    quantity_reserved=ZERO,
                    quantity_available=qty,
                    lab_test_state=lab_state,
                    lab_thc_percent=lab_thc,
                    lab_cbd_percent=lab_cbd,
                    lab_name=lab_name,
                    lab_tested_on=tested,
                    packaged_on=packaged,
                    expires_on=packaged + timedelta(days=data.SHELF_LIFE_DAYS[product.category]),
                    created_at=self._at(packaged, hour=15),
                    updated_at=self.now,
                ),
                "inventory_lots",
            )
            self.lots_by_product[product.id].append(lot)

    # -- relationships and price tiers --------------------------------------------------------------

    def build_relationships(self) -> None:
        tiers = {
            ("pacificbloom", "greenleaf"): ("Preferred Partner", Decimal("0.93")),
            ("emeraldcoast", "canopy"): ("Volume Buyer", Decimal("0.95")),
        }
        for seller in data.WHOLESALERS:
            for buyer in data.RETAILERS:
                s_co, b_co = self.companies[seller.key], self.companies[buyer.key]
                tier_id = None
                if (seller.key, buyer.key) in tiers:
                    name, factor = tiers[(seller.key, buyer.key)]
                    tier = self._add(
                        PriceTier(seller_entity_id=s_co.entity.id, name=name, created_at=self._ago(80)), "price_tiers"
                    )
                    self.s.flush()
                    tier_id = tier.id
                    available = [p for p in s_co.products if p.listing_state == ListingState.AVAILABLE]
                    for product in self.rng.sample(available, 12):
                        price = _money(product.unit_price * factor)
                        self._add(
                            PriceTierPrice(price_tier_id=tier.id, product_id=product.id, unit_price=price),
                            "price_tier_prices",
                        )
                        self.tier_prices[(b_co.entity.id, product.id)] = price
                self._add(
                    TradeRelationship(
                        seller_entity_id=s_co.entity.id,
                        buyer_entity_id=b_co.entity.id,
                        price_tier_id=tier_id,
                        created_at=self._ago(75),
                        updated_at=self._ago(75),
                    ),
                    "trade_relationships",
                )
        self.s.flush()

    # -- orders -----------------------------------------------------------------------------------------

    def _timeline(self, status: str, days_ago: float) -> dict[str, datetime]:
        submitted = self._ago(days_ago, hours=self.rng.uniform(0, 1.5))
        times: dict[str, datetime] = {OrderStatus.SUBMITTED: submitted}
        if status in (OrderStatus.REJECTED, OrderStatus.CANCELLED):
            times[status] = submitted + timedelta(hours=self.rng.uniform(1, 5))
            return times
        gaps = {
            OrderStatus.ACCEPTED: (1.5, 6),
            OrderStatus.FULFILLED: (8, 20),
            OrderStatus.SHIPPED: (6, 14),
            OrderStatus.DELIVERED: (2, 6),
            OrderStatus.COMPLETE: (24 * 4, 24 * 12),
        }
        t = submitted
        for step in _HAPPY_PATH[1 : _HAPPY_PATH.index(status) + 1]:
            t = t + timedelta(hours=self.rng.uniform(*gaps[step]))
            times[step] = t
        latest = self.now - timedelta(minutes=5)
        return {k: min(v, latest) for k, v in times.items()}

    def _shippable_lots(self, product: Product, license: License, by: date) -> list[InventoryLot]:
        lots = [
            lot
            for lot in self.lots_by_product[product.id]
            if lot.license_id == license.id
            and lot.lab_test_state == LabTestState.PASSED
            and lot.lab_tested_on is not None
            and lot.lab_tested_on <= by
            and lot.quantity_available > 0
        ]
        return sorted(lots, key=lambda lot: (lot.packaged_on, lot.package_label))  # FIFO

    def _pick_lines(self, seller: _Company, buyer: _Company, license: License, n: int, by: date):
        candidates = [p for p in seller.products if p.listing_state == ListingState.AVAILABLE]
        self.rng.shuffle(candidates)
        lines: list[tuple[Product, Decimal, Decimal]] = []
        for product in candidates:
            if len(lines) == n:
                break
            stock = sum((lot.quantity_available for lot in self._shippable_lots(product, license, by)), ZERO)
            max_mult = int(stock // product.min_order_qty)
            if max_mult < 1:
                continue
            qty = product.min_order_qty * min(max_mult, self.rng.randint(1, 3))
            price = self.tier_prices.get((buyer.entity.id, product.id), product.unit_price)
            lines.append((product, qty, price))
        # Orders meet the seller's minimum: top up the cheapest-to-grow lines.
        minimum = seller.entity.min_order_amount
        for _ in range(40):
            subtotal = sum((_money(q * p) for _, q, p in lines), ZERO)
            if subtotal >= minimum:
                break
            i = self.rng.randrange(len(lines))
            product, qty, price = lines[i]
            stock = sum((lot.quantity_available for lot in self._shippable_lots(product, license, by)), ZERO)
            if qty + product.min_order_qty <= stock:
                lines[i] = (product, qty + product.min_order_qty, price)
        return lines

    def build_orders(self) -> None:
        for i, (status, buyer_key, lic_idx, seller_key, terms, days_ago, n_lines) in enumerate(ORDER_PLAN):
            buyer, seller = self.companies[buyer_key], self.companies[seller_key]
            buyer_license, seller_license = buyer.licenses[lic_idx], seller.distributor_license
            times = self._timeline(status, days_ago)
            submitted = times[OrderStatus.SUBMITTED]
            lines = self._pick_lines(seller, buyer, seller_license, n_lines, submitted.date())
            subtotal = sum((_money(q * p) for _, q, p in lines), ZERO)
            tax = _money(subtotal * WHOLESALE_TAX_RATE)
            placed_by = buyer.users[Role.BUYER]
            order = self._add(
                Order(
                    number=f"RU-{FIRST_ORDER_NUMBER + i}",
                    buyer_entity_id=buyer.entity.id,
                    buyer_license_id=buyer_license.id,
                    seller_entity_id=seller.entity.id,
                    seller_license_id=seller_license.id,
                    status=status,
                    payment_terms=terms,
                    subtotal=subtotal,
                    tax=tax,
                    total=subtotal + tax,
                    notes=self._order_note(i),
                    delivery_preferences=buyer.spec.delivery_preferences,
                    created_by_user_id=placed_by.id,
                    submitted_at=submitted,
                    accepted_at=times.get(OrderStatus.ACCEPTED),
                    fulfilled_at=times.get(OrderStatus.FULFILLED),
                    shipped_at=times.get(OrderStatus.SHIPPED),
                    delivered_at=times.get(OrderStatus.DELIVERED),
                    completed_at=times.get(OrderStatus.COMPLETE),
                    cancelled_at=times.get(OrderStatus.CANCELLED),
                    created_at=submitted - timedelta(minutes=self.rng.randint(4, 40)),
                    updated_at=max(times.values()),
                ),
                "orders",
            )
            if status in (OrderStatus.SUBMITTED, OrderStatus.ACCEPTED):
                start = self._at(self.today + timedelta(days=2 + i % 3), hour=17)  # 10am Pacific
                order.requested_delivery_start = start
                order.requested_delivery_end = start + timedelta(hours=5)
            self.s.flush()
            line_rows = []
            for product, qty, price in lines:
                line_rows.append(
                    (
                        self._add(
                            OrderLine(
                                order_id=order.id,
                                product_id=product.id,
                                sku=product.sku,
                                product_name=product.name,
                                quantity=qty,
                                unit_price=price,
                                line_total=_money(qty * price),
                            ),
                            "order_lines",
                        ),
                        product,
                    )
                )
            self.s.flush()
            allocations = self._apply_inventory(order, line_rows, seller_license, submitted.date())
            self._events(order, times, buyer, seller, allocations)
            self.orders.append(order)
        self.s.flush()

    def _order_note(self, i: int) -> str | None:
        notes = (
            None,
            "Please include COAs with the manifest.",
            None,
            "Mixed case OK if you're short on eighths.",
            None,
            "Same delivery window as last time, thanks!",
        )
        return notes[i % len(notes)]

    def _apply_inventory(self, order: Order, line_rows, license: License, by: date) -> list[OrderLineAllocation]:
        """Reserve (open orders) or deplete (shipped orders) lots FIFO and record allocations."""
        if order.status not in RESERVING_STATUSES and order.status not in SHIPPED_STATUSES:
            return []
        allocations: list[OrderLineAllocation] = []
        for line, product in line_rows:
            remaining = line.quantity
            for lot in self._shippable_lots(product, license, by):
                take = min(remaining, lot.quantity_available)
                if take <= 0:
                    continue
                if order.status in RESERVING_STATUSES:
                    lot.quantity_reserved += take
                else:
                    lot.quantity_on_hand -= take
                lot.quantity_available = lot.quantity_on_hand - lot.quantity_reserved
                lot.updated_at = order.updated_at
                allocations.append(
                    self._add(
                        OrderLineAllocation(
                            order_line_id=line.id,
                            inventory_lot_id=lot.id,
                            package_label=lot.package_label,
                            quantity=take,
                        ),
                        "allocations",
                    )
                )
                remaining -= take
                if remaining <= 0:
                    break
            if remaining > 0:  # pragma: no cover - _pick_lines only picks lines the stock covers
                raise RuntimeError(f"demo seed: not enough stock for {product.sku}")
        self.s.flush()
        return allocations

    def _events(
        self,
        order: Order,
        times: dict[str, datetime],
        buyer: _Company,
        seller: _Company,
        allocations: list[OrderLineAllocation],
    ) -> None:
        """The order timeline, shaped as `reup_app.services.ordering.orders.transition` records it: one event
        per transition, kind = the status reached, detail = {"action": ..., plus what it carried}."""
        actors: dict[str, tuple[_Company, str, str]] = {
            OrderStatus.SUBMITTED: (buyer, Role.BUYER, "submit"),
            OrderStatus.CANCELLED: (buyer, Role.BUYER, "cancel"),
            OrderStatus.ACCEPTED: (seller, Role.SALES, "accept"),
            OrderStatus.REJECTED: (seller, Role.SALES, "reject"),
            OrderStatus.FULFILLED: (seller, Role.FULFILLMENT, "fulfill"),
            OrderStatus.SHIPPED: (seller, Role.FULFILLMENT, "ship"),
            OrderStatus.DELIVERED: (seller, Role.FULFILLMENT, "deliver"),
            OrderStatus.COMPLETE: (seller, Role.ADMIN, "complete"),
        }
        extra: dict[str, dict[str, Any]] = {
            OrderStatus.REJECTED: {"reason": REJECT_REASON},
            OrderStatus.CANCELLED: {"reason": CANCEL_REASON},
            OrderStatus.FULFILLED: {
                "packages": [
                    {"line_id": a.order_line_id, "package_label": a.package_label, "quantity": str(a.quantity)}
                    for a in allocations
                ]
            },
            OrderStatus.SHIPPED: {"invoice_number": invoice_number_for(order)},
            OrderStatus.COMPLETE: {"note": "Paid in full, thanks!"},
        }
        previous: str = OrderStatus.DRAFT
        for status, at in sorted(times.items(), key=lambda kv: kv[1]):
            company, role, action = actors[status]
            detail = {"action": action, **extra.get(status, {})}
            self._add(
                OrderEvent(
                    order_id=order.id,
                    kind=str(status),
                    from_status=str(previous),
                    to_status=str(status),
                    actor_user_id=company.users[role].id,
                    actor_entity_id=company.entity.id,
                    detail=json.dumps(detail),
                    created_at=at,
                ),
                "order_events",
            )
            previous = status

    # -- shipping records ---------------------------------------------------------------------------------

    def build_shipments(self) -> None:
        """The METRC manifest and Fleetbase delivery rows the ship transition creates. Delivered
        orders get finished ones; orders still on the road keep them pending, as the state
        machine leaves them for the integration jobs."""
        for order in self.orders:
            if order.status not in SHIPPED_STATUSES:
                continue
            delivered = order.status != OrderStatus.SHIPPED
            self._add(
                ComplianceManifest(
                    order_id=order.id,
                    license_id=order.seller_license_id,
                    provider=Provider.METRC,
                    status=ManifestStatus.ACCEPTED if delivered else ManifestStatus.PENDING,
                    manifest_number=f"{self.rng.randint(10**9, 10**10 - 1)}" if delivered else None,
                    submitted_at=_known(order.shipped_at) - timedelta(hours=2) if delivered else None,
                    created_at=_known(order.shipped_at),
                    updated_at=_known(order.delivered_at or order.shipped_at),
                ),
                "manifests",
            )
            self._add(
                Delivery(
                    order_id=order.id,
                    provider=Provider.FLEETBASE,
                    status=DeliveryStatus.DELIVERED if delivered else DeliveryStatus.PENDING,
                    driver_name="Rosa Alvarez",
                    driver_phone="(510) 555-0175",
                    vehicle="2022 Ford Transit, CA 8XKD412",
                    eta=None if delivered else _known(order.shipped_at) + timedelta(hours=5),
                    delivered_at=order.delivered_at,
                    created_at=_known(order.shipped_at),
                    updated_at=_known(order.delivered_at or order.shipped_at),
                ),
                "deliveries",
            )
        self.s.flush()

    # -- billing ------------------------------------------------------------------------------------------

    def build_invoices(self) -> None:
        partial_done = False
        for order in self.orders:
            if order.status not in SHIPPED_STATUSES:
                continue
            seller = self._company_of(order.seller_entity_id)
            issued = _known(order.shipped_at)
            invoice = self._add(
                Invoice(
                    number=invoice_number_for(order),
                    order_id=order.id,
                    seller_entity_id=order.seller_entity_id,
                    buyer_entity_id=order.buyer_entity_id,
                    status=InvoiceStatus.OPEN,
                    subtotal=order.subtotal,
                    tax=order.tax,
                    total=order.total,
                    amount_paid=ZERO,
                    issued_at=issued,
                    due_at=issued + timedelta(days=TERMS_DAYS[order.payment_terms]),
                    created_at=issued,
                ),
                "invoices",
            )
            self.s.flush()
            payments: list[tuple[Decimal, str, str, datetime]] = []
            if order.status == OrderStatus.COMPLETE:
                if order.payment_terms == "cod":
                    payments.append(
                        (order.total, PaymentMethod.CASH, "COD collected by driver", _known(order.delivered_at))
                    )
                else:
                    payments.append(
                        (
                            order.total,
                            PaymentMethod.ACH,
                            f"ACH {self.rng.randint(100000, 999999)}",
                            _known(order.completed_at) - timedelta(hours=2),
                        )
                    )
            elif order.status == OrderStatus.DELIVERED and not partial_done:
                partial_done = True
                half = _money(order.total / 2)
                payments.append(
                    (
                        half,
                        PaymentMethod.CHECK,
                        f"Check #{self.rng.randint(1000, 9999)}",
                        _known(order.delivered_at) + timedelta(days=2),
                    )
                )
            for amount, method, reference, at in payments:
                at = min(at, self.now - timedelta(minutes=5))
                self._add(
                    Payment(
                        invoice_id=invoice.id,
                        amount=amount,
                        method=method,
                        reference=reference,
                        received_at=at,
                        recorded_by_user_id=seller.users[Role.ADMIN].id,
                        created_at=at,
                    ),
                    "payments",
                )
                invoice.amount_paid += amount
            if invoice.amount_paid >= invoice.total:
                invoice.status = InvoiceStatus.PAID
        self.s.flush()

    def _company_of(self, entity_id: int) -> _Company:
        return next(c for c in self.companies.values() if c.entity.id == entity_id)

    # -- messages and notifications ----------------------------------------------------------------

    def build_conversation_and_notifications(self) -> None:
        by_status: dict[str, list[Order]] = defaultdict(list)
        for order in self.orders:
            by_status[order.status].append(order)

        accepted = by_status[OrderStatus.ACCEPTED][0]
        buyer, seller = self._company_of(accepted.buyer_entity_id), self._company_of(accepted.seller_entity_id)
        t = _known(accepted.accepted_at)
        for offset, author, company, body in (
            (
                20,
                buyer.users[Role.BUYER],
                buyer,
                "Any chance this can ride on Wednesday's route? We're low on eighths.",
            ),
            (55, seller.users[Role.SALES], seller, "Yes - you're on Wednesday's Bay Area route, ETA 10am-1pm."),
        ):
            self._add(
                OrderMessage(
                    order_id=accepted.id,
                    author_user_id=author.id,
                    author_entity_id=company.entity.id,
                    body=body,
                    created_at=min(t + timedelta(minutes=offset), self.now),
                ),
                "order_messages",
            )

        def notify(
            user: User, entity: Entity, kind: str, title: str, body: str, order: Order, at: datetime, read: bool
        ) -> None:
            self._add(
                Notification(
                    user_id=user.id,
                    entity_id=entity.id,
                    kind=kind,
                    title=title,
                    body=body,
                    link=f"/orders/{order.id}",
                    created_at=at,
                    read_at=at + timedelta(hours=1) if read else None,
                ),
                "notifications",
            )

        for order in by_status[OrderStatus.SUBMITTED]:
            buyer, seller = self._company_of(order.buyer_entity_id), self._company_of(order.seller_entity_id)
            for role in (Role.SALES, Role.OWNER):
                notify(
                    seller.users[role],
                    seller.entity,
                    "order.submitted",
                    f"New order {order.number} from {buyer.entity.name}",
                    f"{order.total:,} USD, {order.payment_terms.replace('_', ' ').upper()}",
                    order,
                    _known(order.submitted_at),
                    read=False,
                )
        for status, kind, verb in (
            (OrderStatus.ACCEPTED, "order.accepted", "was accepted"),
            (OrderStatus.SHIPPED, "order.shipped", "has shipped"),
            (OrderStatus.REJECTED, "order.rejected", "was rejected"),
        ):
            for order in by_status[status]:
                buyer, seller = self._company_of(order.buyer_entity_id), self._company_of(order.seller_entity_id)
                at = {
                    OrderStatus.ACCEPTED: order.accepted_at,
                    OrderStatus.SHIPPED: order.shipped_at,
                    OrderStatus.REJECTED: order.updated_at,
                }[status]
                body = (
                    REJECT_REASON if status == OrderStatus.REJECTED else f"{seller.entity.name} - {order.total:,} USD"
                )
                notify(
                    buyer.users[Role.BUYER],
                    buyer.entity,
                    kind,
                    f"Order {order.number} {verb}",
                    body,
                    order,
                    _known(at),
                    read=status == OrderStatus.REJECTED,
                )
        self.s.flush()

    # -- final consistency ---------------------------------------------------------------------------------

    def finish_inventory(self) -> None:
        for company in self.companies.values():
            for product in company.products:
                product.available_qty = sum((lot.quantity_available for lot in self.lots_by_product[product.id]), ZERO)
        self.s.flush()


def seed_demo(
    session: Session,
    *,
    now: datetime | None = None,
    password_hash: str | None = None,
    product_images: bool = True,
) -> SeedSummary:
    """Create the demo data set and commit it; do nothing if the demo admin already exists.

    `now` (timezone-aware UTC) anchors timestamps; `password_hash` skips hashing DEMO_PASSWORD;
    `product_images` draws a picture per product into the media folder (`seed/product_art.py`).
    """
    existing = session.exec(select(User).where(User.email == ADMIN_EMAIL)).first()
    if existing is not None:
        return SeedSummary(
            created=False, message=f"Demo data already present ({ADMIN_EMAIL} exists); nothing was changed."
        )
    now = now or utcnow()
    if now.tzinfo is None:
        raise ValueError("seed_demo needs a timezone-aware `now`")
    install_audit_listener()  # the demo rows are audited like any other writes
    if session.info.get("principal") is None:
        session.info["principal"] = system_principal("seed")

    builder = _DemoBuilder(session, password_hash or hash_password(DEMO_PASSWORD), now)
    builder.build_admin()
    for age, spec in zip((110, 100), data.WHOLESALERS, strict=True):
        builder.build_company(spec, age)
    for age, spec in zip((95, 90), data.RETAILERS, strict=True):
        builder.build_company(spec, age)
    mg_pools = {}
    for category, templates in data.MG_PRODUCTS.items():
        pool = list(templates)
        builder.rng.shuffle(pool)
        mg_pools[category] = pool
    for index, spec in enumerate(data.WHOLESALERS):
        builder.build_catalog(builder.companies[spec.key], index, mg_pools)
    if product_images:
        session.flush()
        products = [p for company in builder.companies.values() for p in company.products]
        builder.counts["product_images"] = add_demo_images(session, products, now)
    add_pending_applicant(session, builder.password_hash, now)  # the admin's business review
    builder.build_relationships()
    builder.build_orders()
    builder.build_invoices()
    builder.build_shipments()
    builder.build_conversation_and_notifications()
    builder.finish_inventory()
    builder.counts["integration_connections"] = connect_demo_licenses(
        session,
        [(spec.key, builder.companies[spec.key].licenses) for spec in data.WHOLESALERS],
        now,
    ) + connect_demo_stores(
        session, [lic for spec in data.RETAILERS for lic in builder.companies[spec.key].licenses], now
    )
    builder.counts["integration_connections"] += connect_demo_fleetbase(
        session, [lic for spec in data.WHOLESALERS for lic in builder.companies[spec.key].licenses], now
    )
    session.commit()

    counts = {
        k: builder.counts[k]
        for k in (
            "entities",
            "licenses",
            "users",
            "brands",
            "products",
            "inventory_lots",
            "trade_relationships",
            "orders",
            "order_lines",
            "invoices",
            "payments",
            "deliveries",
            "notifications",
            "integration_connections",
            "product_images",
        )
    }
    return SeedSummary(created=True, message="Demo data created.", counts=counts)


def database_is_empty(session: Session) -> bool:
    """True when the database holds no users and no entities (used by `reup seed --if-empty`)."""
    users = session.exec(select(func.count()).select_from(User)).one()
    entities = session.exec(select(func.count()).select_from(Entity)).one()
    return users == 0 and entities == 0
