"""/seller/pricing state: price tiers, per-product tier prices, and each customer's tier."""

from __future__ import annotations

from typing import Any

import reflex as rx

from reup_app import formatting as fmt
from reup_app.services.catalog import price_tiers
from reup_app.state.attempt import attempt
from reup_app.state.base import AppState
from reup_app.state.inputs import parse_id

NONE = "none"


class SellerPricingState(AppState):
    tiers: list[dict[str, str]] = []
    customers: list[dict[str, str]] = []
    selected_tier: str = ""
    selected_tier_name: str = ""
    tier_products: list[dict[str, str]] = []
    error: str = ""
    notice: str = ""
    loaded: bool = False
    row_errors: dict[str, str] = {}  # product id -> why its typed tier price was not saved

    async def _run(self, fn, *args: Any, **kw: Any) -> Any:
        """Call a service; on failure show its message (in `error`) and return None."""
        result, self.error = await attempt(self, fn, *args, **kw)
        return result

    async def _refresh(self) -> None:
        tiers = await self._run(price_tiers.list_tiers)
        customers = await self._run(price_tiers.list_customers)
        if tiers is None or customers is None:
            return
        self.tiers = [
            {"id": str(t.id), "name": t.name, "products": str(t.product_count), "customers": str(t.customer_count)}
            for t in tiers
        ]
        self.customers = [
            {
                "id": str(c.buyer_entity_id),
                "name": c.name,
                "tier": str(c.price_tier_id) if c.price_tier_id else NONE,
                "tier_name": c.price_tier_name or "List prices",
                "on_hold": "yes" if c.on_hold else "no",
            }
            for c in customers
        ]
        if self.selected_tier and self.selected_tier not in {t["id"] for t in self.tiers}:
            self.selected_tier, self.tier_products = "", []
        await self._load_tier_products()
        self.loaded = True

    async def _load_tier_products(self) -> None:
        if not self.selected_tier:
            self.tier_products, self.selected_tier_name = [], ""
            return
        rows = await self._run(price_tiers.tier_prices, int(self.selected_tier))
        if rows is None:
            return
        self.selected_tier_name = next((t["name"] for t in self.tiers if t["id"] == self.selected_tier), "")
        self.tier_products = [
            {
                "id": str(r.product_id),
                "sku": r.sku,
                "name": r.name,
                "list_price": fmt.money(r.list_price),
                "tier_price": f"{r.tier_price:.2f}" if r.tier_price is not None else "",
            }
            for r in rows
        ]

    @rx.event
    async def load(self):
        if (denied := await self._gate("catalog.view", kind="wholesaler")) is not None:
            return denied
        self.error = self.notice = ""
        await self._refresh()

    @rx.event
    async def create_tier(self, form: dict):
        name = form.get("name") if isinstance(form, dict) else None
        if not isinstance(name, str):
            self.error = "Enter a tier name."
            return
        tier = await self._run(price_tiers.create_tier, name[:100])
        if tier is None:
            return
        self.notice, self.selected_tier = f"Created tier {tier.name}.", str(tier.id)
        await self._refresh()

    @rx.event
    async def select_tier(self, tier_id: str):
        if tier_id not in {t["id"] for t in self.tiers}:
            return
        self.selected_tier, self.row_errors, self.error = tier_id, {}, ""
        await self._load_tier_products()

    @rx.event
    async def set_tier_price(self, product_id: str, value: str):
        pid = parse_id(product_id)
        if pid is None or not self.selected_tier or not isinstance(value, str):
            return
        row = next((r for r in self.tier_products if r["id"] == str(pid)), None)
        if row is None or row["tier_price"] == value.strip():
            return
        typed = value.strip()[:20]
        price = await self._run(price_tiers.set_tier_price, int(self.selected_tier), pid, typed)
        if self.error:
            # keep what was typed in the field, with the reason next to it; no stale confirmation
            self.row_errors = {**self.row_errors, str(pid): self.error}
            self.tier_products = [{**r, "tier_price": typed} if r["id"] == str(pid) else r for r in self.tier_products]
            self.notice = ""
            return
        self.row_errors = {k: v for k, v in self.row_errors.items() if k != str(pid)}
        self.error = next(iter(self.row_errors.values()), "")  # an earlier row may still be wrong
        self.notice = (
            f"{row['name']}: {fmt.money(price)} in {self.selected_tier_name}."
            if price is not None
            else f"{row['name']}: list price in {self.selected_tier_name}."
        )
        await self._refresh()

    @rx.event
    async def assign(self, buyer_id: str, tier_id: str):
        bid = parse_id(buyer_id)
        if bid is None or (tier_id != NONE and tier_id not in {t["id"] for t in self.tiers}):
            return
        row = await self._run(price_tiers.assign_tier, bid, None if tier_id == NONE else int(tier_id))
        if row is None:
            return
        self.notice = f"{row.name} now pays {row.price_tier_name or 'list prices'}."
        await self._refresh()

    @rx.event
    async def delete_tier(self, tier_id: str):
        tid = parse_id(tier_id)
        if tid is None:
            return
        await self._run(price_tiers.delete_tier, tid)
        if self.error:
            return
        self.notice = "Tier removed; its customers pay list prices."
        await self._refresh()
