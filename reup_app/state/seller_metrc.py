"""/seller/inventory/metrc state: METRC items whose packages wait for a product, mapping one (remembered
for later packages), and the stock conflicts the package sync found (also shown on /seller/inventory)."""

from __future__ import annotations

import reflex as rx

from reup_app import formatting as fmt
from reup_app.realtime.listeners import live_listener
from reup_app.security.permissions import is_allowed
from reup_app.services.catalog import products
from reup_app.services.inventory import metrc_mapping
from reup_app.state.attempt import attempt
from reup_app.state.base import AppState, error_message
from reup_app.state.inputs import parse_id


def _item_view(item: metrc_mapping.UnmatchedItem) -> dict[str, str]:
    return {
        "item": item.item_name,
        "strain": item.strain_name or "",
        "category": item.category or "",
        "packages": str(item.package_count),
        "quantity": fmt.quantity(item.quantity),
        "labels": ", ".join(item.labels) + (" …" if item.package_count > len(item.labels) else ""),
        "licenses": ", ".join(item.license_numbers),
    }


def _conflict_view(c: metrc_mapping.ConflictRow) -> dict[str, str]:
    return {"id": str(c.id), "label": c.package_label, "message": c.message, "since": c.created_at.isoformat()[:16]}


@live_listener
class SellerMetrcState(AppState):
    items: list[dict[str, str]] = []
    conflicts: list[dict[str, str]] = []
    product_options: list[dict[str, str]] = []  # {"id", "label"}
    can_manage: bool = False  # display only: the services decide
    error: str = ""
    notice: str = ""
    loaded: bool = False

    async def _refresh(self) -> None:
        conflicts, self.error = await attempt(self, metrc_mapping.open_conflicts)
        if self.error:
            return
        self.conflicts = [_conflict_view(c) for c in conflicts]
        if self.can_manage:
            items, self.error = await attempt(self, metrc_mapping.list_unmatched)
            if self.error:
                return
            self.items = [_item_view(i) for i in items]
        self.loaded = True

    @rx.event
    async def load(self):
        if (denied := await self._gate("catalog.view", kind="wholesaler")) is not None:
            return denied
        await self._load_section()

    @rx.event
    async def load_section(self):
        """The conflicts (and, for managers, unmatched items): /seller/inventory's section mounts it."""
        await self._load_section()

    async def _load_section(self) -> None:
        principal = await self._principal()
        if principal.entity_id is None or not is_allowed(principal, "catalog.view", principal.entity_id):
            return
        self.can_manage = is_allowed(principal, "inventory.manage", principal.entity_id)
        self.notice = ""
        if self.can_manage:
            try:
                page = await self._call(products.list_own_products, page_size=products.MAX_PAGE_SIZE)
            except Exception as err:
                self.error = error_message(err)
                return
            self.product_options = [
                {"id": str(p.id), "label": f"{p.name} ({p.sku})"} for p in page.items if p.listing_state != "archived"
            ]
        await self._refresh()

    async def _on_domain_event(self, event) -> None:
        if event.kind == "inventory.changed" and self.loaded:
            await self._refresh()

    @rx.event
    async def map_item(self, form: dict):
        """Map one METRC item to a product: its waiting packages become lots, later ones follow."""
        if not isinstance(form, dict) or not all(isinstance(form.get(k, ""), str) for k in ("item", "product_id")):
            self.error = "The form could not be read; reload the page and try again."
            return
        item = form.get("item", "")
        if item not in {x["item"] for x in self.items}:
            self.error = "That METRC item is no longer waiting to be mapped; reload the page."
            return
        pid = parse_id(form.get("product_id", ""))
        if pid is None or str(pid) not in {x["id"] for x in self.product_options}:
            self.error = f"Choose the product that {item} is."
            return
        created, self.error = await attempt(self, metrc_mapping.map_item, item, pid)
        if self.error:
            return
        label = next(x["label"] for x in self.product_options if x["id"] == str(pid))
        self.notice = (
            f"{item} is now {label}: {created} package(s) added to inventory; later ones follow automatically."
        )
        await self._refresh()
