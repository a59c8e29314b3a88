"""Cart page state: one cart across sellers, grouped per seller, and checkout (one order per seller)."""

from __future__ import annotations

import dataclasses
import re
import uuid
from datetime import date

import reflex as rx

from reup_app import formatting as fmt
from reup_app.errors import ServiceError
from reup_app.services.ordering import cart as cart_service
from reup_app.services.ordering import cart_view as cart_view_service
from reup_app.services.ordering import checkout_flow as checkout_service
from reup_app.services.ordering import checkout_licenses as checkout_licenses_service
from reup_app.services.ordering import checkout_outcome as checkout_outcome_service
from reup_app.state.base import AppState, error_message

TERM_LABELS = {
    "cod": "COD (cash on delivery)",
    "prepay": "Prepay",
    "net_7": "Net 7",
    "net_15": "Net 15",
    "net_30": "Net 30",
    "net_60": "Net 60",
}
CHOICE_FIELDS = ("terms", "notes", "delivery", "date")
MAX_CHOICE = {"terms": 16, "notes": 2000, "delivery": 1000, "date": 10}
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclasses.dataclass
class Option:
    value: str = ""
    label: str = ""


@dataclasses.dataclass
class CartLineView:
    item_id: str = ""
    product_id: str = ""
    name: str = ""
    sku: str = ""
    quantity: str = ""
    unit: str = ""
    price: str = ""
    total: str = ""
    issue: str = ""


@dataclasses.dataclass
class CartGroupView:
    seller_id: str = ""
    seller_name: str = ""
    lines: list[CartLineView] = dataclasses.field(default_factory=list)
    subtotal: str = ""
    minimum_message: str = ""  # set when below the seller's minimum order amount
    hold_message: str = ""
    ready: bool = False
    terms_offered: list[Option] = dataclasses.field(default_factory=list)
    terms: str = ""
    notes: str = ""
    delivery: str = ""
    date: str = ""
    license_orders: list[str] = dataclasses.field(default_factory=list)  # one entry per seller license


@dataclasses.dataclass
class PlacedOrder:
    number: str = ""
    seller: str = ""
    total: str = ""


@dataclasses.dataclass
class SkippedView:
    seller: str = ""
    reason: str = ""


def _line_view(ln: cart_view_service.CartLine) -> CartLineView:
    unit = fmt.UNIT_LABELS.get(ln.unit_of_measure, ln.unit_of_measure)
    return CartLineView(
        item_id=str(ln.cart_item_id),
        product_id=str(ln.product_id),
        name=ln.name,
        sku=ln.sku,
        quantity=fmt.quantity(ln.quantity).replace(",", ""),
        unit=unit,
        price=f"{fmt.money(ln.unit_price)} / {unit}",
        total=fmt.money(ln.line_total),
        issue=ln.issue or "",
    )


def _group_view(g: cart_view_service.CartSellerGroup, chosen: dict[str, str]) -> CartGroupView:
    terms = chosen.get("terms") if chosen.get("terms") in g.payment_terms_offered else None
    return CartGroupView(
        seller_id=str(g.seller_entity_id),
        seller_name=g.seller_name,
        lines=[_line_view(ln) for ln in g.lines],
        subtotal=fmt.money(g.subtotal),
        minimum_message=""
        if g.meets_minimum
        else (
            f"{g.seller_name} has a minimum order of {fmt.money(g.min_order_amount)}: add "
            f"{fmt.money(g.shortfall)} more to order from them."
        ),
        hold_message=g.hold_message or "",
        ready=g.can_checkout,
        terms_offered=[Option(t, TERM_LABELS.get(t, t)) for t in g.payment_terms_offered],
        terms=terms or (g.payment_terms_offered[0] if g.payment_terms_offered else ""),
        notes=chosen.get("notes", ""),
        delivery=chosen.get("delivery", ""),
        date=chosen.get("date", ""),
        license_orders=list(g.license_orders) if len(g.license_orders) > 1 else [],
    )


class CartState(AppState):
    groups: list[CartGroupView] = []
    item_count: int = 0
    subtotal: str = ""
    licenses: list[Option] = []
    license_id: str = ""
    error: str = ""
    message: str = ""
    placing: bool = False
    loaded: bool = False
    placed: list[PlacedOrder] = []  # the confirmation after Place orders
    skipped: list[SkippedView] = []  # sellers whose part stayed in the cart, and why
    _choices: dict[str, dict[str, str]] = {}
    # The idempotency key of this tab's next checkout, as a Stripe client keeps one: the same key
    # until a checkout with it is known to have placed orders (its answer shown, or found by a
    # cart load), so a double submit or a retry after a lost answer never orders twice. It lives
    # in the browser's sessionStorage, sent back at every hydrate, so the browser holds it before
    # Place orders runs: after a lost connection or server state, the next cart load looks it up
    # and shows what that checkout placed. The tab's own key, scoped to its business: no secret.
    checkout_key: str = rx.SessionStorage("", name="reup_checkout_key")

    @rx.var
    def ready_count(self) -> int:
        return sum(1 for g in self.groups if g.ready)

    async def _refresh(self) -> None:
        try:
            license_id = int(self.license_id) if self.license_id.isdigit() else None
            cart = await self._call(cart_view_service.get_cart, license_id)
        except Exception as err:
            self.error = error_message(err, "cart load")
            return
        self.groups = [_group_view(g, self._choices.get(str(g.seller_entity_id), {})) for g in cart.groups]
        self.item_count = cart.item_count
        self.subtotal = fmt.money(cart.subtotal)
        self.loaded = True

    @rx.event
    async def load(self):
        if (denied := await self._gate("order.place", kind="retailer")) is not None:
            return denied
        self.error = self.message = ""
        self.placing = False
        self.placed, self.skipped = [], []
        if not self.checkout_key:
            self.checkout_key = uuid.uuid4().hex
        elif not await self._show_lost_answer(self.checkout_key):
            return  # could not look (an outage): the page says so; the next load looks again
        try:
            licenses = await self._call(checkout_licenses_service.buyer_licenses)
        except ServiceError as err:
            self.error = error_message(err)
            self.licenses, self.groups, self.loaded = [], [], True
            return
        self.licenses = [
            Option(str(lic.id), f"{lic.premises_name or 'License'} · {lic.state} {lic.number}") for lic in licenses
        ]
        if self.license_id not in {o.value for o in self.licenses}:
            self.license_id = self.licenses[0].value if self.licenses else ""
        await self._refresh()

    @rx.event
    async def update_quantity(self, item_id: str, value: str):
        if not isinstance(item_id, str) or not item_id.isdigit() or not isinstance(value, str):
            self.error = "Enter a quantity."
            return
        self.message = ""
        try:
            await self._call(cart_service.update_cart_item, int(item_id), value.strip()[:16])
        except ServiceError as err:
            self.error = error_message(err)
            await self._refresh()
            return
        self.error = ""
        await self._refresh()

    @rx.event
    async def remove_item(self, item_id: str):
        if not isinstance(item_id, str) or not item_id.isdigit():
            self.error = "That item is no longer in your cart."
            return
        try:
            await self._call(cart_service.remove_cart_item, int(item_id))
        except ServiceError as err:
            self.error = error_message(err)
        else:
            self.error, self.message = "", "Removed from your cart."
        await self._refresh()

    @rx.event
    def set_choice(self, seller_id: str, field: str, value: str):
        """Per-seller checkout choice: terms, notes, delivery (preferences) or date (requested)."""
        if (
            not isinstance(seller_id, str)
            or not seller_id.isdigit()
            or field not in CHOICE_FIELDS
            or not isinstance(value, str)
        ):
            self.error = "Invalid checkout choice."
            return
        group = next((g for g in self.groups if g.seller_id == seller_id), None)
        if group is None:
            self.error = "That seller is no longer in your cart."
            return
        value = value[: MAX_CHOICE[field]]
        self._choices.setdefault(seller_id, {})[field] = value
        setattr(group, field, value)
        self.groups = list(self.groups)

    @rx.event
    async def set_license(self, value: str):
        if isinstance(value, str) and value in {o.value for o in self.licenses}:
            self.license_id = value
            await self._refresh()  # how each seller's part splits depends on the license's state
        else:
            self.error = "Choose one of your licenses."

    def _choices_for_checkout(self, groups: list[CartGroupView]) -> dict[int, dict[str, str]]:
        out: dict[int, dict[str, str]] = {}
        for g in groups:
            choice: dict[str, str] = {"payment_terms": g.terms}
            if g.notes.strip():
                choice["notes"] = g.notes
            if g.delivery.strip():
                choice["delivery_preferences"] = g.delivery
            if g.date:
                if not DATE_RE.match(g.date):
                    raise ValueError(f"Enter the requested delivery date for {g.seller_name} as YYYY-MM-DD.")
                try:
                    date.fromisoformat(g.date)
                except ValueError:
                    raise ValueError(f"{g.date} is not a valid date.") from None
                choice["requested_delivery_start"] = f"{g.date}T00:00:00"
                choice["requested_delivery_end"] = f"{g.date}T23:59:59"
            out[int(g.seller_id)] = choice
        return out

    @rx.event
    async def place_orders(self):
        """Check out every seller whose part of the cart is ready; the rest stays in the cart."""
        ready = [g for g in self.groups if g.ready]
        if not ready:
            if not self.placed:  # the second click of a double click keeps the confirmation it got
                self.error = "Nothing in your cart can be ordered yet; see the messages above."
            return
        self.message = ""
        if not self.license_id.isdigit():
            self.error = "Choose the license that receives these orders."
            return
        try:
            choices = self._choices_for_checkout(ready)
        except ValueError as err:
            self.error = str(err)
            return
        self.placing = True
        yield
        try:
            result = await self._call(
                checkout_service.checkout,
                buyer_license_id=int(self.license_id),
                choices=choices,
                idempotency_key=self.checkout_key,
                seller_entity_ids=[int(g.seller_id) for g in ready],
            )
        except Exception as err:
            self.error, self.placing = error_message(err, "checkout"), False
            await self._refresh()
            return
        self.error, self.placing = "", False
        self._show_result(result)
        self._choices = {}
        self.checkout_key = uuid.uuid4().hex  # what stayed in the cart is a new checkout
        await self._refresh()

    async def _show_lost_answer(self, key: str) -> bool:
        """If a checkout with this tab's key placed orders (its answer never shown: a shown answer
        replaces the key), show that confirmation and take a new key. False when the lookup
        failed (an outage): the page says so."""
        try:
            result = await self._call(checkout_outcome_service.checkout_outcome, key)  # the primary: just written
        except ServiceError:  # a key the browser sent that cannot be one (malformed): nothing to show
            self.checkout_key = uuid.uuid4().hex
            return True
        except Exception as err:
            self.error = error_message(err, "checkout lookup")
            return False
        if result.orders:
            self._show_result(result)
            self.checkout_key = uuid.uuid4().hex
        return True

    def _show_result(self, result: checkout_service.CheckoutResult) -> None:
        """The confirmation: how many orders were placed (with links) and what stayed in the cart."""
        n = len(result.orders)
        self.message = f"Placed {n} order{'s' if n != 1 else ''}."
        self.placed = [PlacedOrder(o.number, o.seller_name, fmt.money(o.total)) for o in result.orders]
        self.skipped = [SkippedView(s.seller_name, s.reason) for s in result.skipped]
