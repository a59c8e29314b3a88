"""Initial Dutchie sandbox states: `demo` (one location per demo retail license, with 90 days of
sales) and `empty`, plus bulk benchmark data.

The demo stores are derived from ReUp's own demo seed (run into a throw-away SQLite database, as the
METRC sandbox does): each store's POS catalog holds marketplace products matched by SKU, by METRC
package label, by brand and name, and house products no rule matches. Sales follow a weekly pattern
(Friday and Saturday busiest), products sell at different speeds and some trend up or down.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from reup_app.sandboxes.dutchie.store import DutchieState, Line, Location, Sale, Stock

BENCH_KEY = "bench-dutchie-key"
DAYS = 90
WEEKDAY_FACTOR = (0.8, 0.85, 0.9, 1.0, 1.25, 1.4, 1.05)  # Monday .. Sunday
RATES = (0.2, 0.5, 1.0, 1.5, 2.5, 4.0, 7.0)  # base units per day
HOUSE = ("House Pre-Roll 1g", "House Gummies 10pk", "Store Lighter", "Rolling Papers", "House Vape 0.5g",
         "Glass Pipe", "Hemp Wraps", "CBD Balm 1oz")  # fmt: skip


def empty_state() -> DutchieState:
    return DutchieState()


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, int(rng.gauss(lam, math.sqrt(lam)) + 0.5))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def make_product(pid: int, sku: str, name: str, brand: str, category: str, cost: Decimal, modified: datetime) -> dict:
    return {
        "productId": pid,
        "sku": sku,
        "internalName": name,
        "productName": name,
        "brandId": abs(hash(brand)) % 100000 if brand else None,
        "brandName": brand or None,
        "category": category,
        "masterCategory": category,
        "isActive": True,
        "isCannabis": True,
        "unitCost": float(cost),
        "price": float((cost * Decimal("2.1")).quantize(Decimal("0.01"))),
        "unitType": "Qty",
        "lastModifiedDateUTC": iso(modified),
    }


def demo_state(now: datetime) -> DutchieState:
    """One location per demo retail license; keys from `reup_app.seed.demo_connections.demo_dutchie_key`."""
    from sqlmodel import Session, SQLModel, col, create_engine, select

    import reup_app.models as models
    from reup_app.seed import seed_demo
    from reup_app.seed.demo_connections import demo_dutchie_key

    engine = create_engine("sqlite://")
    SQLModel.metadata.create_all(engine)
    state = DutchieState()
    try:
        with Session(engine) as session:
            seed_demo(session, now=now, password_hash="sandbox-not-a-login")
            licenses = session.exec(select(models.License).order_by(col(models.License.id))).all()
            entities = {e.id: e for e in session.exec(select(models.Entity)).all()}
            brands = {b.id: b.name for b in session.exec(select(models.Brand)).all()}
            products = session.exec(select(models.Product).order_by(col(models.Product.id))).all()
            lots: dict[int, str] = {}
            for lot in session.exec(select(models.InventoryLot).order_by(col(models.InventoryLot.id))).all():
                lots.setdefault(lot.product_id, lot.package_label)
            market = [
                {
                    "id": p.id,
                    "sku": p.sku,
                    "name": p.name,
                    "brand": brands.get(p.brand_id or 0, ""),
                    "category": p.category,
                    "price": Decimal(p.unit_price),
                    "label": lots.get(p.id),
                }
                for p in products
            ]
            vendors = [
                {
                    "vendorId": 500 + lic.id,
                    "vendorName": entities[lic.entity_id].name,
                    "licenseNumber": lic.number,
                    "state": lic.state,
                    "city": None,
                    "address": None,
                    "postalCode": None,
                    "contactName": None,
                    "contactEmail": None,
                    "contactPhone": None,
                }  # fmt: skip
                for lic in licenses
                if lic.license_type != "adult_use_retail"
            ]
            for lic in licenses:
                if lic.license_type != "adult_use_retail":
                    continue
                loc = Location(
                    demo_dutchie_key(lic.number),
                    4000 + lic.id,
                    lic.premises_name or lic.number,
                    lic.number,
                    entities[lic.entity_id].name,
                    lic.state,
                    vendors=[dict(v) for v in vendors],
                )
                _stock_store(state, loc, market, now, random.Random(lic.number))
                state.locations[loc.key] = loc
    finally:
        engine.dispose()
    return state


def _catalog(loc: Location, market: list[dict], rng: random.Random, now: datetime) -> list[tuple[dict, str]]:
    """(product dict, METRC label) of the store: 12 matched by SKU, 6 by label, 4 by brand + name, 8 house."""
    picks = rng.sample(market, min(22, len(market)))
    with_label = [m for m in picks if m["label"]]
    out: list[tuple[dict, str]] = []
    prefix = "".join(w[0] for w in loc.name.split()[:2]).upper() or "ST"
    for n, m in enumerate(picks):
        modified = now - timedelta(days=rng.uniform(1, DAYS))
        cost = m["price"]
        pid = 70000 + loc.location_id * 100 + n
        own_label = f"1A4{loc.location_id:06d}{n:015d}"[:24]
        if n < 12:  # the store keys the wholesaler's SKU
            out.append((make_product(pid, m["sku"], m["name"], m["brand"], m["category"], cost, modified), own_label))
        elif n < 18 and m in with_label:  # its own SKU, but the package carries the marketplace lot's tag
            sku = f"{prefix}-{n:04d}"
            out.append((make_product(pid, sku, f"{m['name']} (store)", "", m["category"], cost, modified), m["label"]))
        else:  # its own SKU, same brand and name
            sku = f"{prefix}-{n:04d}"
            out.append((make_product(pid, sku, m["name"], m["brand"], m["category"], cost, modified), own_label))
    for n, name in enumerate(HOUSE):
        pid = 70000 + loc.location_id * 100 + 50 + n
        modified = now - timedelta(days=rng.uniform(1, DAYS))
        house = make_product(pid, f"{prefix}-H{n:03d}", name, "House", "accessories", Decimal("3.50"), modified)
        out.append((house, f"1A4{loc.location_id:06d}H{n:014d}"[:24]))
    return out


def _stock_store(state: DutchieState, loc: Location, market: list[dict], now: datetime, rng: random.Random) -> None:
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    rates: dict[int, tuple[float, float]] = {}
    for product, label in _catalog(loc, market, rng, now):
        pid = product["productId"]
        loc.products[pid] = product
        rate, trend = rng.choice(RATES), rng.choice((-0.5, 0.0, 0.0, 0.5))
        rates[pid] = (rate, trend)
        cover = rng.choice((1, 3, 5, 8, 14, 30, 45))  # days of stock left
        qty = Decimal(max(0, round(rate * cover)))
        loc.inventory.append(Stock(state.next_id(), pid, qty, label, Decimal(str(product["unitCost"]))))
    stock_of = {s.product_id: s for s in loc.inventory}
    sales: list[Sale] = []
    for day in range(DAYS, 0, -1):
        start = today - timedelta(days=day)
        units: list[int] = []
        for pid, (rate, trend) in rates.items():
            progress = 1 - day / DAYS  # 0 at the first day, ~1 today
            lam = rate * WEEKDAY_FACTOR[start.weekday()] * (1 + trend * (progress - 0.5))
            units += [pid] * _poisson(rng, lam)
        rng.shuffle(units)
        while units:
            take = rng.randint(1, 4)
            basket, units = units[:take], units[take:]
            when = start + timedelta(hours=rng.uniform(16, 27.5))  # 8am-7:30pm Pacific
            if when >= now:
                continue
            lines = tuple(
                Line(
                    pid,
                    stock_of[pid].inventory_id,
                    Decimal(1),
                    Decimal(str(loc.products[pid]["price"])),
                    stock_of[pid].unit_cost,
                )
                for pid in basket
            )
            sales.append(Sale(state.next_id(), when, rng.random() < 0.01, lines, when))
    loc.extend_sorted(sales)


def add_bulk(state: DutchieState, now: datetime, *, inventory: int, lines: int, days: int = 30, seed: int = 3) -> dict:
    """A bench location (key BENCH_KEY): `inventory` rows over inventory/10 products and `lines` sale
    lines (4 per transaction) spread over the past `days` days."""
    if not 0 <= inventory <= 500_000 or not 0 <= lines <= 2_000_000 or not 1 <= days <= 365:
        raise ValueError("bulk needs 0..500000 inventory rows, 0..2000000 lines and 1..365 days")
    rng = random.Random(seed)
    loc = Location(BENCH_KEY, 9999, "Bench Store", "BENCH-RETAIL-LIC", "Bench LSP")
    n_products = max(1, inventory // 10)
    for i in range(n_products):
        pid = 900000 + i
        loc.products[pid] = make_product(pid, f"BENCH-{i:06d}", f"Bench Product {i}", f"Brand {i % 40}", "flower",
                                     Decimal("5.00"), now - timedelta(days=rng.uniform(0, days)))  # fmt: skip
    for i in range(inventory):
        pid = 900000 + i % n_products
        loc.inventory.append(Stock(state.next_id(), pid, Decimal(rng.randint(1, 4)), f"1A4BENCH{i:016d}", Decimal(5)))
    start = now - timedelta(days=days)
    span = (now - start).total_seconds()
    sales = []
    for t in range(lines // 4):
        when = start + timedelta(seconds=span * t / max(1, lines // 4))
        picks = tuple(
            Line(900000 + rng.randrange(n_products), 0, Decimal(1), Decimal(10), Decimal(5)) for _ in range(4)
        )
        sales.append(Sale(state.next_id(), when, False, picks, when))
    loc.extend_sorted(sales)
    state.locations[BENCH_KEY] = loc
    return {"key": BENCH_KEY, "products": n_products, "inventory": inventory, "lines": (lines // 4) * 4}


def shape_stock(loc: Location, s: Stock) -> dict[str, Any]:
    p = loc.products.get(s.product_id, {})
    return {
        "inventoryId": s.inventory_id,
        "productId": s.product_id,
        "sku": p.get("sku"),
        "productName": p.get("productName"),
        "category": p.get("category"),
        "masterCategory": p.get("masterCategory"),
        "brandId": p.get("brandId"),
        "brandName": p.get("brandName"),
        "quantityAvailable": float(s.quantity),
        "quantityUnits": "Qty",
        "unitCost": float(s.unit_cost),
        "unitPrice": p.get("price"),
        "packageId": s.package_label,
        "externalPackageId": s.package_label,
        "allocatedQuantity": 0,
        "lastModifiedDateUtc": p.get("lastModifiedDateUTC"),
    }


def shape_sale(sale: Sale, detail: bool) -> dict[str, Any]:
    subtotal = sum((ln.unit_price * ln.quantity for ln in sale.lines), Decimal(0))
    tax = (subtotal * Decimal("0.15")).quantize(Decimal("0.01"))
    row: dict[str, Any] = {
        "transactionId": sale.transaction_id,
        "customerId": 1,
        "employeeId": 1,
        "transactionDate": iso(sale.when),
        "isVoid": sale.is_void,
        "subtotal": float(subtotal),
        "totalDiscount": 0.0,
        "tax": float(tax),
        "total": float(subtotal + tax),
        "paid": float(subtotal + tax),
        "totalItems": len(sale.lines),
        "transactionType": "Retail",
        "isReturn": False,
        "lastModifiedDateUTC": iso(sale.modified),
        "items": None,
    }
    if detail:
        row["items"] = [
            {
                "transactionId": sale.transaction_id,
                "productId": ln.product_id,
                "inventoryId": ln.inventory_id,
                "quantity": float(ln.quantity),
                "unitPrice": float(ln.unit_price),
                "unitCost": float(ln.unit_cost),
                "totalPrice": float(ln.unit_price * ln.quantity),
                "totalDiscount": 0.0,
                "isReturned": False,
            }
            for ln in sale.lines
        ]
    return row
