"""Order guides page state: a store's saved products with par quantities, add all to the cart."""

from __future__ import annotations

import dataclasses

import reflex as rx

from reup_app import formatting as fmt
from reup_app.errors import ServiceError
from reup_app.services.ordering import checkout_licenses as checkout_licenses_service
from reup_app.services.ordering import order_guides as guides_service
from reup_app.state.base import AppState, error_message, form_text


@dataclasses.dataclass
class GuideItemView:
    product_id: str = ""
    name: str = ""
    seller: str = ""
    par: str = ""
    unit: str = ""
    available: str = ""


@dataclasses.dataclass
class GuideView:
    id: str = ""
    name: str = ""
    store: str = ""
    products: list[GuideItemView] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class StoreOption:
    value: str = ""
    label: str = ""


def guide_view(g: guides_service.GuideDTO) -> GuideView:
    return GuideView(
        id=str(g.id),
        name=g.name,
        store=g.store,
        products=[
            GuideItemView(
                product_id=str(i.product_id),
                name=i.name,
                seller=i.seller_name,
                par=fmt.quantity(i.par_qty).replace(",", ""),
                unit=fmt.UNIT_LABELS.get(i.unit_of_measure, i.unit_of_measure),
                available=fmt.quantity(i.available_qty),
            )
            for i in g.items
        ],
    )


def add_all_message(result: guides_service.AddAllResult) -> str:
    parts = [f"Added {len(result.added)} product(s) to your cart."]
    if result.trimmed:
        parts.append(
            "Less in stock than par: "
            + "; ".join(f"{t['name']} {t['added']} of {t['wanted']}" for t in result.trimmed)
            + "."
        )
    if result.skipped:
        parts.append("Not added: " + "; ".join(f"{s['name']}: {s['reason']}" for s in result.skipped))
    return " ".join(parts)


class OrderGuidesState(AppState):
    guides: list[GuideView] = []
    stores: list[StoreOption] = []
    store: str = ""
    error: str = ""
    message: str = ""
    loaded: bool = False

    async def _refresh(self) -> None:
        try:
            guides = await self._call(guides_service.list_guides)
        except ServiceError as err:
            self.error = error_message(err)
            return
        self.guides = [guide_view(g) for g in guides]
        self.loaded = True

    @rx.event
    async def load(self):
        if (denied := await self._gate("cart.manage", kind="retailer")) is not None:
            return denied
        self.error = self.message = ""
        try:
            stores = await self._call(checkout_licenses_service.buyer_licenses)
        except ServiceError as err:
            self.error = error_message(err)
            stores = []
        self.stores = [StoreOption(str(s.id), f"{s.premises_name or 'License'} · {s.number}") for s in stores]
        if self.store not in {s.value for s in self.stores}:
            self.store = self.stores[0].value if self.stores else ""
        await self._refresh()

    @rx.event
    def set_store(self, value: str):
        if value in {s.value for s in self.stores}:
            self.store = value

    async def _run(self, fn, *args, success: str = "") -> bool:
        self.error = self.message = ""
        try:
            await self._call(fn, *args)
        except ServiceError as err:
            self.error = error_message(err)
            await self._refresh()
            return False
        self.message = success
        await self._refresh()
        return True

    @rx.event
    async def create(self, form: dict):
        name = form_text(form, "name", 80)
        await self._run(guides_service.create_guide, name, self.store, success=f"Created {name}.")

    @rx.event
    async def set_par(self, guide_id: str, product_id: str, value: str):
        if not isinstance(value, str):
            self.error = "Enter a quantity."
            return
        await self._run(guides_service.set_par, guide_id, product_id, value.strip()[:16], success="Par saved.")

    @rx.event
    async def remove_item(self, guide_id: str, product_id: str):
        await self._run(guides_service.set_par, guide_id, product_id, "0", success="Removed from the guide.")

    @rx.event
    async def delete_guide(self, guide_id: str):
        await self._run(guides_service.delete_guide, guide_id, success="Order guide deleted.")

    @rx.event
    async def add_all(self, guide_id: str):
        self.error = self.message = ""
        try:
            result = await self._call(guides_service.add_guide_to_cart, guide_id)
        except ServiceError as err:
            self.error = error_message(err)
            return
        self.message = add_all_message(result)
