"""Product page state: details, packages with lab data, live availability and add-to-cart."""

from __future__ import annotations

import reflex as rx

from reup_app import formatting as fmt
from reup_app.errors import ServiceError
from reup_app.realtime.listeners import live_listener
from reup_app.services.catalog import product_detail as detail_service
from reup_app.services.ordering import cart as cart_service
from reup_app.state.base import AppState, error_message
from reup_app.state.catalog import item_view
from reup_app.state.route_args import route_arg

LAB_LABELS = {"passed": "Passed", "failed": "Failed", "submitted": "Testing", "not_submitted": "Not tested"}
LISTING_LABELS = {"available": "Available", "backorder": "Backorder", "sample": "Sample"}


def _lot_view(lot: detail_service.LotInfo) -> dict[str, str]:
    return {
        "package_label": lot.package_label,
        "batch": lot.batch_number or "",
        "lab_status": LAB_LABELS.get(lot.lab_test_state, lot.lab_test_state),
        "lab_state": lot.lab_test_state,
        "tested_on": lot.lab_tested_on.isoformat() if lot.lab_tested_on else "",
        "lab": lot.lab_name or "",
        "thc": fmt.percent(lot.lab_thc_percent),
        "available": fmt.quantity(lot.quantity_available),
        "expires": lot.expires_on.isoformat() if lot.expires_on else "",
    }


def product_view(p: detail_service.ProductDetail) -> dict[str, str]:
    unit = fmt.UNIT_LABELS.get(p.unit_of_measure, p.unit_of_measure)
    plural = "s" if unit == "unit" and p.min_order_qty != 1 else ""
    return {
        **item_view(p),
        "description": p.description or "",
        "list_price": f"{fmt.money(p.list_price)} / {unit}" if p.list_price != p.unit_price else "",
        "moq": f"{fmt.quantity(p.min_order_qty)} {unit}{plural}",
        "listing": LISTING_LABELS.get(p.listing_state, p.listing_state),
    }


@live_listener
class ProductState(AppState):
    product: dict[str, str] = {}
    lots: list[dict[str, str]] = []
    available: str = ""
    in_stock: bool = False
    can_order: bool = False
    quantity: str = "1"
    error: str = ""
    cart_message: str = ""
    cart_error: str = ""
    loaded: bool = False
    _product_id: int = 0

    def _show_availability(self, available, lots) -> None:
        self.available = fmt.quantity(available)
        self.in_stock = bool(available and available > 0)
        self.lots = [_lot_view(lot) for lot in lots]

    async def _load(self, product_id: int) -> None:
        self._product_id = product_id
        self.cart_message = self.cart_error = ""
        try:
            p = await self._read(detail_service.get_product_detail, product_id)
        except Exception as err:
            self.error, self.product, self.lots, self.loaded = error_message(err, "product page load"), {}, [], True
            return
        self.error = ""
        self.product = product_view(p)
        self.can_order = p.can_order
        self.quantity = fmt.quantity(p.min_order_qty).replace(",", "")
        self._show_availability(p.available_qty, p.lots)
        self.loaded = True

    async def _reload_availability(self) -> None:
        try:
            available, _listing, lots = await self._read(detail_service.availability, self._product_id)
        except ServiceError as err:  # e.g. withdrawn from sale meanwhile
            self.error = error_message(err)
            return
        self._show_availability(available, lots)

    async def _on_domain_event(self, event) -> None:
        """Live availability: reload only when stock of this product moved."""
        if not self._product_id or getattr(event, "kind", "") != "inventory.changed":
            return
        payload = getattr(event, "payload", None) or {}
        ids = payload.get("product_ids") or [payload.get("product_id")]
        if any(str(i) == str(self._product_id) for i in ids if i is not None):
            await self._reload_availability()

    @rx.event
    async def load(self):
        raw = route_arg(self.router.url.path, "products")
        if not raw.isdigit() or len(raw) > 12:
            self.error, self.product, self.lots, self.loaded = detail_service.NOT_AVAILABLE, {}, [], True
            return
        await self._load(int(raw))

    @rx.event
    def set_quantity(self, value: str):
        if isinstance(value, str):
            self.quantity = value.strip()[:16]

    @rx.event
    async def add_to_cart(self):
        self.cart_message = self.cart_error = ""
        if not self._product_id:
            self.cart_error = "Open a product first."
            return
        qty = (self.quantity or "").strip()
        if not qty:
            self.cart_error = "Enter a quantity."
            return
        try:
            item = await self._call(cart_service.add_to_cart, self._product_id, qty)
        except Exception as err:
            self.cart_error = error_message(err, "add to cart")
            return
        self.cart_message = f"Added to your cart ({fmt.quantity(item.quantity)} in cart)."
