"""/pos: a retailer's Dutchie stores. Owners and admins connect each store (the location key goes
from the form to the service, never into a state var), test it (/whoami), set the target cover,
sharing and push mode, sync now, and map unmatched POS products; buyers see the reorder
suggestions with their math and trend, and add one or all to the cart. The page refreshes live
when a store's sync finishes (`pos.synced`) or moves (`integration.sync_progress`)."""

from __future__ import annotations

import asyncio
from typing import Any

import reflex as rx

from reup_app.errors import ServiceError
from reup_app.events.kinds import POS_SYNCED, SYNC_PROGRESS
from reup_app.formatting import format_datetime
from reup_app.realtime.listeners import live_listener
from reup_app.security.permissions import is_allowed
from reup_app.services.ordering import pos_reorder
from reup_app.services.pos import check, matching, suggestions
from reup_app.services.pos import connections as svc
from reup_app.state.base import AppState, error_message, form_text
from reup_app.state.inputs import parse_id

STATUS_LABELS = {"not_connected": "Not connected", "ok": "Connected", "error": "Error", "retry": "Sync queued",
                 "disconnected": "Disconnected"}  # fmt: skip


def _store_row(v: svc.StoreView) -> dict[str, str]:
    last = v.last_sync
    last_text = "Never synced"
    if last is not None:
        outcome = "failed" if last.status == "failed" else f"{last.items_seen} rows"
        last_text = f"{format_datetime(last.finished_at or last.started_at)} ({last.resource}): {outcome}"
    return {
        "license_id": str(v.license_id), "license": v.license_number, "premises": v.premises_name,
        "status": "running" if v.running else v.status,
        "status_label": "Syncing" if v.running else STATUS_LABELS.get(v.status, v.status),
        "connected": "1" if v.connected else "", "location_name": v.location_name, "warning": v.license_warning,
        "last_sync": last_text, "last_error": (v.last_error or (last.error if last else ""))[:400],
        "target": str(v.target_cover_days), "share": "1" if v.share_sell_through else "",
        "push_mode": v.push_mode, "products": str(v.products), "unmatched": str(v.unmatched),
    }  # fmt: skip


def _suggestion_row(s: suggestions.Suggestion) -> dict[str, str]:
    return {
        "pos_id": str(s.pos_id), "name": s.pos_name or s.product_name, "sku": s.pos_sku,
        "on_hand": f"{s.on_hand.normalize():f}", "velocity": f"{s.velocity:.2f}", "cover": f"{s.days_of_cover:.1f}",
        "lead": str(s.lead_days), "target": str(s.target_days), "quantity": f"{s.quantity.normalize():f}",
        "product": s.product_name, "seller": s.seller_name, "price": f"{s.unit_price:.2f}",
        "offer": s.offer_reason, "math": s.math, "in_stock": "1" if s.in_stock else "",
    }  # fmt: skip


@live_listener(kinds={POS_SYNCED, SYNC_PROGRESS})
class PosState(AppState):
    stores: list[dict[str, str]] = []
    selected: str = ""  # license id whose suggestions and mapping show
    rows: list[dict[str, str]] = []  # suggestions of the selected store
    trends: dict[str, list[dict[str, Any]]] = {}  # pos id -> [{"week", "units"}]
    unmatched: list[dict[str, str]] = []
    candidates: list[dict[str, str]] = []
    map_for: str = ""  # POS product id whose candidate search is open
    connect_for: str = ""
    can_manage: bool = False
    matched: str = "0"
    error: str = ""
    notice: str = ""
    _entity_id: int | None = None

    async def _reload(self) -> None:
        principal = await self._principal()
        self.can_manage = is_allowed(principal, "integration.manage", principal.entity_id)
        if self.can_manage:
            self.stores = [_store_row(v) for v in await self._call(svc.list_stores)]
        if not self.selected and self.stores:
            self.selected = next((s["license_id"] for s in self.stores if s["connected"]), self.stores[0]["license_id"])
        await self._reload_store()

    async def _reload_store(self) -> None:
        ident = parse_id(self.selected)
        self.rows, self.trends, self.unmatched = [], {}, []
        if ident is None:
            return
        result = await self._call(suggestions.store_suggestions, ident)
        self.rows = [_suggestion_row(s) for s in result.items]
        self.trends = {
            str(s.pos_id): [{"week": f"-{len(s.trend) - i}w", "units": u} for i, u in enumerate(s.trend)]
            for s in result.items
        }
        self.matched = str(result.matched)
        if self.can_manage:
            self.unmatched = [
                {"id": str(u.id), "name": u.name, "sku": u.sku, "brand": u.brand_name, "label": u.package_label}
                for u in await self._call(matching.unmatched, ident)
            ]

    def _result(self, err: Exception | None, notice: str = "") -> None:
        self.error, self.notice = (error_message(err, "POS action"), "") if err else ("", notice)

    @rx.event
    async def load(self):
        if (denied := await self._gate("cart.manage", kind="retailer")) is not None:
            return denied
        self._entity_id = (await self._principal()).entity_id
        self.error = self.notice = self.connect_for = self.map_for = ""
        self.candidates, self.stores = [], []
        try:
            await self._reload()
        except ServiceError as err:
            self._result(err)

    @rx.event
    async def select_store(self, license_id: str):
        self.selected = str(parse_id(license_id) or "")
        try:
            await self._reload_store()
        except ServiceError as err:
            self._result(err)

    @rx.event
    def open_connect(self, license_id: str):
        self.connect_for = str(parse_id(license_id) or "")

    @rx.event
    def cancel(self):
        self.connect_for = self.map_for = ""
        self.candidates = []

    async def _act(self, fn, *args, notice: str = "", **kw) -> Any:
        try:
            result = await self._call(fn, *args, **kw)
        except ServiceError as err:
            self._result(err)
            return None
        self._result(None, notice)
        await self._reload()
        return result

    @rx.event
    async def connect(self, form: dict):
        ident = parse_id(form.get("license_id") if isinstance(form, dict) else None)
        key = form_text(form, "location_key", 300)
        if ident is None:
            self.error, self.notice = "Unknown store.", ""
            return
        self.connect_for = ""
        self.selected = str(ident)
        await self._act(svc.connect_store, ident, key, notice="Saved. Press Test to check the key with Dutchie.")

    @rx.event
    async def test_store(self, license_id: str):
        ident = parse_id(license_id)
        if ident is None:
            return
        principal = await self._principal()
        try:
            result = await asyncio.to_thread(check.test_store, principal, ident)
        except ServiceError as err:
            self._result(err)
            return
        self.error, self.notice = ("", result.message) if result.ok else (result.warning or result.message, "")
        await self._reload()

    @rx.event
    async def sync_now(self, license_id: str):
        ident = parse_id(license_id)
        if ident is not None:
            await self._act(svc.sync_now, ident, notice="Sync queued: the worker starts it within 15 seconds.")

    @rx.event
    async def save_settings(self, form: dict):
        ident = parse_id(form.get("license_id") if isinstance(form, dict) else None)
        raw = form_text(form, "target", 8)
        if ident is None or not raw.isdigit():
            self.error, self.notice = "Enter the target cover as a whole number of days.", ""
            return
        await self._act(
            svc.update_settings, ident, target_cover_days=int(raw), share_sell_through=bool(form.get("share")),
            push_mode=form_text(form, "push_mode", 20) or None, notice="Store settings saved.",
        )  # fmt: skip

    @rx.event
    async def add_one(self, pos_id: str):
        ident, store = parse_id(pos_id), parse_id(self.selected)
        if ident is None or store is None:
            return
        result = await self._act(pos_reorder.add_suggestions_to_cart, store, [ident])
        if result is not None:
            self._result(None if result.added else ServiceError("; ".join(result.skipped)), "Added to your cart.")

    @rx.event
    async def add_all(self):
        store = parse_id(self.selected)
        if store is None:
            return
        result = await self._act(pos_reorder.add_suggestions_to_cart, store, None)
        if result is not None:
            skipped = f" Skipped: {'; '.join(result.skipped)}" if result.skipped else ""
            self._result(None, f"Added {result.added} suggestion(s) to your cart.{skipped}")

    @rx.event
    async def search(self, form: dict):
        store = parse_id(self.selected)
        self.map_for = str(parse_id(form.get("pos_id") if isinstance(form, dict) else None) or "")
        if store is None or not self.map_for:
            return
        found = await self._call(matching.candidates, store, form_text(form, "q", 100))
        self.candidates = [
            {"id": str(c.product_id), "label": f"{c.name} ({c.sku}) by {c.seller_name}, ${c.unit_price:.2f}"}
            for c in found
        ]

    @rx.event
    async def map_to(self, product_id: str):
        store, pos, product = parse_id(self.selected), parse_id(self.map_for), parse_id(product_id)
        if store is None or pos is None or product is None:
            return
        self.map_for, self.candidates = "", []
        await self._act(matching.map_product, store, pos, product, notice="Mapped.")

    async def _on_domain_event(self, event) -> None:
        if self._entity_id is None or self._entity_id not in (event.entity_ids or ()):
            return
        principal = await self._principal()
        if principal.entity_id != self._entity_id:
            return
        if event.kind == SYNC_PROGRESS and not event.payload.get("finished"):
            return
        try:
            await self._reload()
        except ServiceError:
            pass
