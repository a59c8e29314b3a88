"""Order page state: lines, timeline, the principal's actions, messages, invoice, payments, holds.

Every handler validates its arguments and calls a service, which authorizes against the order's
own buyer/seller (ids shown here come from the loaded order, never from the browser).
"""

from __future__ import annotations

import uuid
from typing import Any

import reflex as rx

from reup_app.errors import ServiceError
from reup_app.realtime.listeners import live_listener
from reup_app.security.permissions import is_allowed
from reup_app.services.billing import download_tickets, invoices, payments
from reup_app.services.compliance import manifest_pdf, manifests, preship
from reup_app.services.logistics import deliveries, delivery_cancel
from reup_app.services.ordering import line_edits as line_edits_service
from reup_app.services.ordering import messages
from reup_app.services.ordering import order_views as order_views_service
from reup_app.services.ordering import orders as orders_service
from reup_app.services.ordering import reordering as reordering_service
from reup_app.services.pos import pushes as pos_pushes
from reup_app.state.base import AppState, error_message
from reup_app.state.deliveries import PROBLEM_KINDS, delivery_view
from reup_app.state.order_views import (
    actor,
    describe_event,
    invoice_view,
    line_view,
    manifest_view,
    order_view,
    payment_view,
    preship_view,
    when,
)
from reup_app.state.route_args import route_arg

# Buttons, in display order: action -> label. reject/cancel take the reason typed on the page.
ACTION_LABELS = {
    "accept": "Accept",
    "backorder": "Backorder",
    "fulfill": "Fulfill",
    "ship": "Ship",
    "deliver": "Mark delivered",
    "complete": "Complete",
    "reject": "Reject",
    "cancel": "Cancel order",
}
NEEDS_REASON = {
    "reject": "Give the buyer a reason for rejecting the order.",
    "cancel": "Tell the seller why you are cancelling the order.",
}
PAYMENT_METHODS = [("ach", "ACH"), ("check", "Check"), ("cash", "Cash"), ("wire", "Wire")]
SHIPPED_STATUSES = frozenset({"shipped", "delivered", "complete"})
MAX_TEXT = {"reason": 1000, "message": 4000, "amount": 20, "reference": 128, "driver_name": 128, "vehicle": 128}
# The ship form's METRC transporter fields (validated by services.ordering.shipment_details).
SHIP_FORM_FIELDS = {
    "driver_license_number": 32,
    "driver_phone": 32,
    "vehicle_make": 48,
    "vehicle_model": 48,
    "vehicle_plate": 10,
    "etd": 32,
    "eta": 32,
}


def reorder_notice(result: reordering_service.ReorderResult) -> str:
    """What reorder added, saying which lines it trimmed to what is in stock."""
    if not result.added:
        return ""
    notice = f"Added {len(result.added)} product(s) to your cart."
    trimmed = "; ".join(f"{t['name']}: {t['added']} of {t['ordered']} ordered" for t in result.trimmed)
    return f"{notice} Less is in stock than you ordered, so we added — {trimmed}." if trimmed else notice


@live_listener
class OrderDetailState(AppState):
    order: dict[str, str] = {}

    @rx.var
    def page_title(self) -> str:
        """The browser tab names the order."""
        number = self.order.get("number", "")
        return f"Order {number} · ReUp" if number else "Order · ReUp"

    lines: list[dict[str, str]] = []
    events: list[dict[str, str]] = []
    thread: list[dict[str, str]] = []
    actions: list[str] = []
    can_edit_lines: bool = False
    can_reorder: bool = False
    can_message: bool = False
    invoice: dict[str, str] = {}
    payment_rows: list[dict[str, str]] = []
    manifest: dict[str, str] = {}  # METRC manifest: status, number, last error (both parties, live)
    pos_push: str = ""  # the buyer's Dutchie draft receive / purchase order and its status (buyer only)
    delivery: dict[str, str] = {}  # Fleetbase delivery panel (both parties, live); see state/deliveries.py
    delivery_steps: list[dict[str, str]] = []
    problem_kind: str = "short"
    problem_text: str = ""
    delivery_cancel_reason: str = ""
    confirming_delivery_cancel: bool = False
    preship_checks: list[dict[str, str]] = []  # the seller's pre-ship checklist while the order can ship
    preship_blocked: bool = False
    can_record_payment: bool = False
    can_hold: bool = False
    buyer_on_hold: bool = False
    hold_reason: str = ""
    reason: str = ""
    confirming_cancel: bool = False  # the cancel confirmation dialog is open
    message_body: str = ""
    payment_amount: str = ""
    payment_method: str = "ach"
    payment_reference: str = ""
    driver_name: str = ""
    vehicle: str = ""
    ship_form: dict[str, str] = {}  # SHIP_FORM_FIELDS -> text
    error: str = ""
    notice: str = ""
    loaded: bool = False
    _number: str = ""
    _buyer_entity_id: int = 0
    _view_key: str = ""

    # -- loading ---------------------------------------------------------------------------

    async def _refresh(self) -> None:
        principal = await self._principal()
        try:
            o = await self._call(order_views_service.get_order, self._number, principal=principal)
        except Exception as err:
            self.error, self.order, self.loaded = error_message(err, "order load"), {}, True
            return
        self.order = order_view(o)
        self.lines = [line_view(ln) for ln in o.lines]
        self.events = [{"who": actor(e), "when": when(e.created_at), "what": describe_event(e)} for e in o.events]
        self.thread = [
            {"author": m.author_name, "business": m.author_entity_name, "when": when(m.created_at), "body": m.body}
            for m in o.messages
        ]
        self.actions = [a for a in ACTION_LABELS if a in o.available_actions]
        self.can_edit_lines = "edit_lines" in o.available_actions
        self._buyer_entity_id = o.buyer_entity_id
        seller = o.side == "seller"
        self.can_reorder = o.side == "buyer" and is_allowed(principal, "cart.manage", o.buyer_entity_id)
        self.can_message = o.side is not None and is_allowed(principal, "order.message", principal.entity_id)
        self.can_record_payment = seller and is_allowed(principal, "payment.record", o.seller_entity_id)
        self.can_hold = seller and is_allowed(principal, "customer.hold", o.seller_entity_id)
        await self._load_invoice(o.invoice_number, principal)
        await self._load_compliance(o, principal)
        if self.can_hold:
            try:
                hold = await self._call(payments.get_buyer_hold, o.buyer_entity_id, principal=principal)
                self.buyer_on_hold, self.hold_reason = hold.on_hold, hold.reason or ""
            except ServiceError as err:
                self.error = error_message(err)
        self.loaded = True

    async def _load_invoice(self, number: str | None, principal) -> None:
        if not number:
            self.invoice, self.payment_rows = {}, []
            return
        try:
            inv = await self._call(invoices.get_invoice, number, principal=principal)
        except ServiceError as err:
            self.invoice, self.payment_rows, self.error = {}, [], error_message(err)
            return
        self.invoice = invoice_view(inv)
        self.payment_rows = [payment_view(p) for p in inv.payments]

    async def _load_compliance(self, o, principal) -> None:
        """The manifest once shipped; the pre-ship checklist while this principal may ship."""
        self.manifest, self.preship_checks, self.preship_blocked = {}, [], False
        self.delivery, self.delivery_steps = {}, []
        try:
            if o.status in SHIPPED_STATUSES:
                m = await self._call(manifests.get_order_manifest, o.number, principal=principal)
                self.manifest = manifest_view(m) if m is not None else {}
                d = await self._call(deliveries.get_order_delivery, o.number, principal=principal)
                self.delivery, self.delivery_steps = delivery_view(d)
            push = await self._call(pos_pushes.push_status, o.number, principal=principal)
            self.pos_push = (
                f"{push.kind}: {push.status}" + (f" ({push.detail})" if push and push.detail else "") if push else ""
            )
            if "ship" in o.available_actions:
                report = await self._call(preship.preship_report, o.number, principal=principal)
                self.preship_checks = [preship_view(c) for c in report.checks]
                self.preship_blocked = not report.ok
        except ServiceError as err:
            self.error = error_message(err)

    async def _on_domain_event(self, event) -> None:
        """Reload when this order (its status, invoice or METRC manifest) changed."""
        payload = getattr(event, "payload", None) or {}
        if self._number and payload.get("order_number") == self._number:
            await self._refresh()

    @rx.event
    async def load(self):
        if (denied := await self._gate("order.view")) is not None:
            return denied
        self.error = self.notice = self.reason = self.message_body = ""
        self.confirming_cancel = False
        self.payment_amount = self.payment_reference = self.driver_name = self.vehicle = ""
        self.ship_form = {}
        self.problem_text = ""
        self.order, self.loaded = {}, False
        self._view_key = uuid.uuid4().hex[:16]
        number = route_arg(self.router.url.path, "orders")
        if not number:
            self.error, self.loaded = "Order was not found.", True
            return
        self._number = number[:32]
        await self._refresh()

    # -- form fields -----------------------------------------------------------------------

    def _text(self, value: Any, field: str) -> str | None:
        if not isinstance(value, str):
            self.error = "Invalid input."
            return None
        return value[: MAX_TEXT[field]]

    @rx.event
    def set_reason(self, value: str):
        text = self._text(value, "reason")
        if text is not None:
            self.reason = text

    @rx.event
    def set_message_body(self, value: str):
        text = self._text(value, "message")
        if text is not None:
            self.message_body = text

    @rx.event
    def set_payment_amount(self, value: str):
        text = self._text(value, "amount")
        if text is not None:
            self.payment_amount = text

    @rx.event
    def set_payment_reference(self, value: str):
        text = self._text(value, "reference")
        if text is not None:
            self.payment_reference = text

    @rx.event
    def set_driver_name(self, value: str):
        text = self._text(value, "driver_name")
        if text is not None:
            self.driver_name = text

    @rx.event
    def set_ship_field(self, field: str, value: str):
        if field not in SHIP_FORM_FIELDS or not isinstance(value, str):
            self.error = "Invalid input."
            return
        self.ship_form = {**self.ship_form, field: value[: SHIP_FORM_FIELDS[field]]}

    @rx.event
    def set_vehicle(self, value: str):
        text = self._text(value, "vehicle")
        if text is not None:
            self.vehicle = text

    @rx.event
    def set_payment_method(self, value: str):
        if value in dict(PAYMENT_METHODS):
            self.payment_method = value
        else:
            self.error = "Choose cash, check, ACH or wire."

    # -- actions ---------------------------------------------------------------------------

    async def _run(self, fn, *args, success: str, **kw) -> bool:
        """Call a service for this order; show its refusal, or `success` and reload."""
        if not self._number:
            self.error = "Open an order first."
            return False
        self.error = self.notice = ""
        try:
            await self._call(fn, *args, **kw)
        except Exception as err:
            self.error = error_message(err, "order action")
            await self._refresh()
            return False
        self.notice = success
        await self._refresh()
        return True

    @rx.event
    async def act(self, action: str):
        if action not in ACTION_LABELS:
            self.error = "Unknown order action."
            return
        data: dict[str, str] = {}
        if action in ("reject", "cancel"):
            reason = self.reason.strip()
            if action in NEEDS_REASON and not reason and action in self.actions:
                self.error = NEEDS_REASON[action]
                return
            if reason:
                data["reason"] = reason
        if action == "ship":
            data.update(
                {k: v for k, v in (("driver_name", self.driver_name.strip()), ("vehicle", self.vehicle.strip())) if v}
            )
            data.update({k: v.strip() for k, v in self.ship_form.items() if k in SHIP_FORM_FIELDS and v.strip()})
        key = f"{self._view_key}:{action}"  # a repeated click of this button replays, never re-applies
        if await self._run(
            orders_service.transition,
            self._number,
            action,
            idempotency_key=key,
            success=f"Order {self._number} {orders_service.PAST[action]}.",
            **data,
        ):
            self.reason = ""
            self.confirming_cancel = False

    @rx.event
    def ask_cancel(self):
        """The buyer's Cancel order button: confirm in a dialog that asks for the reason first."""
        self.error = ""
        self.confirming_cancel = "cancel" in self.actions

    @rx.event
    def keep_order(self):
        self.confirming_cancel = False

    @rx.event
    async def change_line(self, line_id: str, quantity: str):
        if not isinstance(line_id, str) or not line_id.isdigit() or not isinstance(quantity, str):
            self.error = "Enter a quantity."
            return
        current = next((ln for ln in self.lines if ln["id"] == line_id), None)
        if current is None or current["quantity"] == quantity.strip():
            return
        await self._run(
            line_edits_service.edit_lines,
            self._number,
            [{"line_id": int(line_id), "quantity": quantity.strip()[:16]}],
            success="Line updated.",
        )

    @rx.event
    async def remove_line(self, line_id: str):
        if not isinstance(line_id, str) or not line_id.isdigit():
            self.error = "Unknown line."
            return
        await self._run(
            line_edits_service.edit_lines,
            self._number,
            [{"line_id": int(line_id), "remove": True}],
            success="Line removed.",
        )

    @rx.event
    async def reorder(self):
        if not self._number:
            return
        try:
            result = await self._call(reordering_service.reorder, self._number)
        except ServiceError as err:
            self.error = error_message(err)
            return
        skipped = "; ".join(f"{s['name']}: {s['reason']}" for s in result.skipped)
        self.error = f"Not added — {skipped}" if skipped else ""
        self.notice = reorder_notice(result)

    @rx.event
    async def send_message(self):
        body = self.message_body.strip()
        if not body:
            self.error = "Write a message first."
            return
        if await self._run(messages.post_message, self._number, body, success="Message sent."):
            self.message_body = ""

    @rx.event
    def set_problem_kind(self, value: str):
        if value in dict(PROBLEM_KINDS):
            self.problem_kind = value

    @rx.event
    def set_problem_text(self, value: str):
        text = self._text(value, "message")
        if text is not None:
            self.problem_text = text[:1000]

    @rx.event
    async def report_problem(self):
        if not self.problem_text.strip():
            self.error = "Say what was wrong with the delivery."
            return
        if await self._run(
            deliveries.report_problem,
            self._number,
            self.problem_kind,
            self.problem_text.strip(),
            success="Problem reported to the seller.",
        ):
            self.problem_text = ""

    @rx.event
    def ask_cancel_delivery(self, open_: bool):
        self.confirming_delivery_cancel = bool(open_) and self.delivery.get("can_cancel") == "yes"
        self.error = ""

    @rx.event
    def set_delivery_cancel_reason(self, value: str):
        text = self._text(value, "reason")
        if text is not None:
            self.delivery_cancel_reason = text[:500]

    @rx.event
    async def cancel_delivery(self):
        reason = self.delivery_cancel_reason.strip()
        if not reason:
            self.error = "Say why the delivery is cancelled; the buyer reads it."
            return
        if await self._run(
            delivery_cancel.cancel_delivery,
            self._number,
            reason,
            success="Cancelling the delivery in Fleetbase; the status follows in moments.",
        ):
            self.delivery_cancel_reason, self.confirming_delivery_cancel = "", False

    @rx.event
    async def record_payment(self):
        number = self.invoice.get("number", "")
        if not number:
            self.error = "This order has no invoice yet."
            return
        if not self.payment_amount.strip():
            self.error = "Enter the amount received."
            return
        if await self._run(
            payments.record_payment,
            number,
            self.payment_amount.strip(),
            self.payment_method,
            self.payment_reference.strip() or None,
            success="Payment recorded.",
        ):
            self.payment_amount = self.payment_reference = ""

    @rx.event
    async def set_hold(self, on_hold: bool):
        if not isinstance(on_hold, bool) or not self._buyer_entity_id:
            self.error = "Invalid request."
            return
        reason = self.reason.strip() or None
        await self._run(
            payments.set_buyer_hold,
            self._buyer_entity_id,
            on_hold,
            reason,
            success="Customer put on hold." if on_hold else "Hold released.",
        )

    @rx.event
    async def download_invoice(self):
        number = self.invoice.get("number", "")
        if not number:
            self.error = "This order has no invoice yet."
            return
        try:
            ticket = await self._call(download_tickets.create_invoice_ticket, number)
        except ServiceError as err:
            self.error = error_message(err)
            return
        return rx.download(url=f"/api/invoices/{number}.pdf?ticket={ticket}", filename=f"{number}.pdf")

    @rx.event
    async def download_manifest(self):
        if not self._number or not self.manifest:
            self.error = "This order has no manifest yet; it gets one when it ships."
            return
        try:
            ticket = await self._call(manifest_pdf.create_manifest_ticket, self._number)
        except ServiceError as err:
            self.error = error_message(err)
            return
        return rx.download(
            url=f"/api/orders/{self._number}/manifest.pdf?ticket={ticket}", filename=f"manifest-{self._number}.pdf"
        )
