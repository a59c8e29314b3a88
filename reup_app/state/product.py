"""Product page state: details, packages with lab data, live availability and add-to-cart."""

from __future__ import annotations

import reflex as rx

from reup_app import formatting as fmt
from reup_app.errors import ServiceError
from reup_app.realtime.listeners import live_listener
from reup_app.services.catalog import images as images_service
from reup_app.services.catalog import product_detail as detail_service
from reup_app.services.ordering import cart as cart_service
from reup_app.services.ordering import order_guides as guides_service
from reup_app.state.base import AppState, error_message, form_text
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

    @rx.var
    def page_title(self) -> str:
        """The browser tab names the product."""
        name = self.product.get("name", "")
        return f"{name} · ReUp" if name else "Product · ReUp"

    lots: list[dict[str, str]] = []
    available: str = ""
    in_stock: bool = False
    can_order: bool = False
    quantity: str = "1"
    error: str = ""
    cart_message: str = ""
    cart_error: str = ""
    loaded: bool = False
    guides: list[dict[str, str]] = []  # the buyer's order guides {"value", "label"}
    guide_message: str = ""
    images: list[str] = []  # URLs of the product's images (public products only)
    image_srcsets: list[str] = []  # their sized variants, same order (services/catalog/thumbnails.py)
    image_index: int = 0
    _product_id: int = 0

    @rx.var
    def image(self) -> str:
        """The image shown large in the gallery ("" = the placeholder)."""
        if not self.images:
            return ""
        return self.images[min(self.image_index, len(self.images) - 1)]

    @rx.var
    def image_srcset(self) -> str:
        if not self.image_srcsets:
            return ""
        return self.image_srcsets[min(self.image_index, len(self.image_srcsets) - 1)]

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
        self.image_index = 0
        try:
            sources = await self._call(images_service.public_image_sources, [product_id])
        except ServiceError:
            sources = {}
        mine = list(sources.get(product_id, []))[:10]
        self.images, self.image_srcsets = [s.url for s in mine], [s.srcset for s in mine]
        self.guide_message = ""
        self.guides = []
        if p.can_order:
            try:
                guides = await self._call(guides_service.list_guides)
            except ServiceError:
                guides = []
            self.guides = [{"value": str(g.id), "label": f"{g.name} ({g.store})"} for g in guides]
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
    async def save_to_guide(self, form: dict):
        """Put this product in one of the buyer's order guides at a par quantity."""
        guide = form_text(form, "guide", 12)
        par = form_text(form, "par", 16)
        if not guide.isdigit() or not self._product_id:
            self.guide_message = "Choose an order guide."
            return
        try:
            await self._call(guides_service.set_par, int(guide), self._product_id, par or "0")
        except ServiceError as err:
            self.guide_message = error_message(err)
            return
        name = next((g["label"] for g in self.guides if g["value"] == guide), "the guide")
        self.guide_message = f"Saved to {name} at par {par}."

    @rx.event
    def show_image(self, index: int):
        if isinstance(index, int) and 0 <= index < len(self.images):
            self.image_index = index

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
