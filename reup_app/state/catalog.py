"""Marketplace catalog page state: search, filter, sort and paging over public listings."""

from __future__ import annotations

import logging
from decimal import Decimal

import reflex as rx

from reup_app import formatting as fmt
from reup_app.db import run_in_unit_of_work
from reup_app.errors import ServiceError
from reup_app.realtime.listeners import live_listener, show_interest
from reup_app.security.permissions import is_allowed
from reup_app.services.catalog import cards as cards_service
from reup_app.services.catalog import catalog_query as catalog_query_service
from reup_app.services.catalog import facets as facets_service
from reup_app.services.ordering import cart as cart_service
from reup_app.state.base import AppState, error_message, form_text
from reup_app.state.push_loads import shared

log = logging.getLogger(__name__)

SORT_OPTIONS = [
    ("name", "Name A-Z"),
    ("price_asc", "Price: low to high"),
    ("price_desc", "Price: high to low"),
    ("thc_desc", "THC: high to low"),
    ("newest", "Newest"),
]
ALL = "all"  # the select's "no filter" value (Radix selects cannot hold "")
STRAIN_FILTERS = {ALL: "All strain types", **{k: v for k, v in fmt.STRAIN_TYPE_LABELS.items() if v}}


def item_view(item) -> dict[str, str]:
    """A product card's display strings (a CatalogItem, or anything with its fields)."""
    unit = fmt.UNIT_LABELS.get(item.unit_of_measure, item.unit_of_measure)
    return {
        "id": str(item.id),
        "sku": item.sku,
        "name": item.name,
        "brand": item.brand or "",
        "seller": item.seller_name or "",
        "category": fmt.CATEGORY_LABELS.get(item.category, item.category),
        "strain": item.strain_name or "",
        "strain_type": fmt.STRAIN_TYPE_LABELS.get(item.strain_type, ""),
        "thc": fmt.percent(item.thc_percent),
        "cbd": fmt.percent(item.cbd_percent),
        "seller_id": str(item.seller_entity_id),
        "unit": unit,
        "case_size": str(item.case_size) if item.case_size and item.case_size > 1 else "",
        "moq": fmt.quantity(item.min_order_qty).replace(",", ""),
        "image": getattr(item, "image_url", "") or "",
        "srcset": getattr(item, "image_srcset", "") or "",
        "price": f"{fmt.money(item.unit_price)} / {unit}",
        "case": f"{fmt.money(item.case_price)} / case of {item.case_size}" if item.case_price else "",
        **_availability(item.available_qty),
        "listing": item.listing_state,
    }


def _availability(qty: Decimal | None) -> dict[str, str]:
    return {"available": fmt.quantity(qty), "in_stock": "yes" if qty and qty > 0 else "no"}


# coalesce: a burst of orders updates an open tab's availability once per 2 s, not once per order
@live_listener(kinds={"inventory.changed"}, interest="product_ids", coalesce=2.0)
class CatalogState(AppState):
    q: str = ""
    category: str = ALL
    strain_type: str = ALL
    # range filters as typed (validated by CatalogQuery.parse, which names the bad field)
    thc_min: str = ""
    thc_max: str = ""
    price_min: str = ""
    price_max: str = ""
    in_stock: bool = False
    sort: str = "name"
    page: int = 1
    items: list[dict[str, str]] = []
    total: int = 0
    pages: int = 0
    has_next: bool = False
    has_prev: bool = False
    error: str = ""
    loaded: bool = False
    seller: str = ALL  # the seller filter; a storefront is the marketplace filtered to one seller
    sellers: list[dict[str, str]] = []  # {"value", "label"} for the seller select
    can_order: bool = False  # the signed-in principal may add to a cart
    added: dict[str, str] = {}  # product id -> "Added ..." after a card's Add to cart
    add_errors: dict[str, str] = {}  # product id -> why a card's Add to cart failed

    @rx.var
    def seller_name(self) -> str:
        """The storefront's seller ("" on the whole marketplace)."""
        return next((o["label"] for o in self.sellers if o["value"] == self.seller), "") if self.seller != ALL else ""

    async def _refresh(self) -> None:
        raw = {
            "text": self.q,
            "category": "" if self.category == ALL else self.category,
            "strain_type": "" if self.strain_type == ALL else self.strain_type,
            "thc_min": self.thc_min,
            "thc_max": self.thc_max,
            "price_min": self.price_min,
            "price_max": self.price_max,
            "in_stock": self.in_stock,
            "seller_entity_id": "" if self.seller == ALL else self.seller,
            "sort": self.sort,
            "page": self.page,
            "page_size": 24,
        }
        try:
            query = catalog_query_service.CatalogQuery.parse(**raw)
            result, sources = await self._read(cards_service.search_with_pictures, query)
        except Exception as err:  # service errors are shown as they are; others generically
            if not isinstance(err, ServiceError):
                log.exception("catalog search failed")
            self.error = error_message(err)
            return
        self.error = ""
        for i in result.items:
            first = next(iter(sources.get(i.id) or []), None)
            i.image_url, i.image_srcset = (first.url, first.srcset) if first else ("", "")
        self.items = [item_view(i) for i in result.items]
        show_interest(CatalogState, self.router.session.client_token, [i.id for i in result.items])
        self.total = result.total
        self.pages = max(result.pages, 1)
        self.page = result.page
        self.has_next = result.has_next
        self.has_prev = result.has_prev
        self.loaded = True

    async def _load_sellers(self) -> None:
        principal = await self._principal()
        entity_id = principal.entity_id if principal.is_authenticated else None
        self.can_order = entity_id is not None and is_allowed(principal, "cart.manage", entity_id)
        if self.sellers:  # the seller list is loaded once per tab
            return
        try:
            sellers = await self._call(facets_service.get_catalog_sellers)
        except ServiceError:
            sellers = []
        self.sellers = [{"value": str(f.entity_id), "label": f.name} for f in sellers]

    async def _on_domain_event(self, event) -> None:
        """Stock changed: the cards showing those products take their current availability, read
        from the primary once per event in this worker (not a search per tab, and read after the
        change committed, so an event overtaken by a later one still shows the latest). The search
        re-runs only when the list itself may change: a shown product no longer listed, or one
        running out under the in-stock filter."""
        changed = {str(pid) for pid in event.payload.get("product_ids") or ()}
        items = self.get_value("items")  # unproxied: reading 24 cards through Reflex's proxies cost more than the rest
        shown = {item["id"] for item in items if item["id"] in changed} if self.loaded else set()
        if not shown:
            return
        ids = sorted(int(pid) for pid in changed if pid.isdigit())
        try:
            available = await shared(
                ("catalog.available", event.id),
                lambda: run_in_unit_of_work(None, cards_service.listed_availability, None, ids),
            )
        except Exception as err:
            log.warning("availability for a stock change failed (%s): searching again", type(err).__name__)
            await self._refresh()
            return
        now = {pid: available.get(int(pid)) for pid in shown}
        if any(qty is None or (self.in_stock and qty <= 0) for qty in now.values()):
            await self._refresh()
            return
        self.items = [{**item, **_availability(now[item["id"]])} if item["id"] in now else item for item in items]

    @rx.event
    async def load(self):
        """on_load: take filters from the URL (?q=&category=&strain_type=&thc_min=&thc_max=&price_min=
        &price_max=&in_stock=1&sort=&page=) so links are shareable."""
        params = self.router.url.query_parameters
        self.q = str(params.get("q", ""))[:100]
        cat = str(params.get("category", ALL))
        self.category = cat if cat in fmt.CATEGORY_LABELS else ALL
        strain = str(params.get("strain_type", ALL))
        self.strain_type = strain if strain in STRAIN_FILTERS else ALL
        self.thc_min, self.thc_max = str(params.get("thc_min", ""))[:12], str(params.get("thc_max", ""))[:12]
        self.price_min, self.price_max = str(params.get("price_min", ""))[:12], str(params.get("price_max", ""))[:12]
        self.in_stock = str(params.get("in_stock", "")) in ("1", "true", "yes")
        sort = str(params.get("sort", "name"))
        self.sort = sort if sort in dict(SORT_OPTIONS) else "name"
        page = str(params.get("page", "1"))
        self.page = int(page) if page.isdigit() and 0 < int(page) < 100000 else 1
        seller = str(params.get("seller", ""))
        self.seller = seller if seller.isdigit() and len(seller) < 12 else ALL
        self.added, self.add_errors = {}, {}
        await self._load_sellers()
        await self._refresh()

    @rx.event
    async def set_seller(self, value: str):
        if not isinstance(value, str) or (value != ALL and value not in {o["value"] for o in self.sellers}):
            self.error = "Unknown seller."
            return
        self.seller, self.page = value, 1
        await self._refresh()

    @rx.event
    async def quick_add(self, form: dict):
        """A card's Add to cart: quantity in units, or in cases of the product's case size."""
        pid = str(form.get("product_id", ""))
        item = next((i for i in self.items if i["id"] == pid), None)
        if item is None:
            self.error = "That product is no longer on this page."
            return
        self.added, self.add_errors = {}, {}
        try:
            qty = Decimal(str(form.get("qty", "")).strip()[:12])
        except ArithmeticError:
            self.add_errors = {pid: "Enter a quantity."}
            return
        cases = str(form.get("per", "unit")) == "case" and item["case_size"] != ""
        units = qty * int(item["case_size"]) if cases else qty
        try:
            added = await self._call(cart_service.add_to_cart, int(pid), units)
        except ServiceError as err:
            self.add_errors = {pid: error_message(err)}
            return
        unit = item["unit"] + ("s" if item["unit"] == "unit" and units != 1 else "")
        self.added = {pid: f"Added {fmt.quantity(units)} {unit} ({fmt.quantity(added.quantity)} in cart)."}

    @rx.event
    async def set_q(self, value: str):
        if not isinstance(value, str):
            self.error = "Search text must be text."
            return
        self.q = value.strip()[:100]
        self.page = 1
        await self._refresh()

    @rx.event
    async def set_category(self, value: str):
        if not isinstance(value, str) or (value != ALL and value not in fmt.CATEGORY_LABELS):
            self.error = "Unknown category."
            return
        self.category = value
        self.page = 1
        await self._refresh()

    @rx.event
    async def set_sort(self, value: str):
        if value not in dict(SORT_OPTIONS):
            self.error = "Unknown sort order."
            return
        self.sort = value
        self.page = 1
        await self._refresh()

    @rx.event
    async def next_page(self):
        if self.has_next:
            self.page += 1
            await self._refresh()

    @rx.event
    async def prev_page(self):
        if self.has_prev:
            self.page -= 1
            await self._refresh()

    @rx.event
    async def clear_filters(self):
        self.q, self.category, self.strain_type, self.sort, self.page = "", ALL, ALL, "name", 1
        self.seller = ALL
        self.thc_min = self.thc_max = self.price_min = self.price_max = ""
        self.in_stock = False
        await self._refresh()

    @rx.event
    async def set_strain_type(self, value: str):
        if value not in STRAIN_FILTERS:
            self.error = "Unknown strain type."
            return
        self.strain_type, self.page = value, 1
        await self._refresh()

    @rx.event
    async def set_in_stock(self, value: bool):
        self.in_stock, self.page = value, 1
        await self._refresh()

    @rx.event
    async def apply_ranges(self, form: dict):
        """THC % and price ranges (a form, applied together); bad values are named by the service."""
        self.thc_min, self.thc_max = form_text(form, "thc_min", 12), form_text(form, "thc_max", 12)
        self.price_min, self.price_max = form_text(form, "price_min", 12), form_text(form, "price_max", 12)
        self.page = 1
        await self._refresh()
