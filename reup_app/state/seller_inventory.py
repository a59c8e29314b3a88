"""/seller/inventory state: packages (lots) per license, creating a lot, adjusting on hand."""

from __future__ import annotations

import logging
from collections import defaultdict
from decimal import Decimal
from typing import Any

import reflex as rx

from reup_app import formatting as fmt
from reup_app.errors import ServiceError, ValidationError
from reup_app.realtime.listeners import live_listener
from reup_app.security.permissions import is_allowed
from reup_app.services.catalog import products
from reup_app.services.inventory import lot_management as lot_management_service
from reup_app.state.attempt import attempt
from reup_app.state.base import AppState, error_message
from reup_app.state.inputs import parse_id

log = logging.getLogger(__name__)

ALL = "all"
LAB_LABELS = {"not_submitted": "Not submitted", "submitted": "Submitted", "passed": "Passed", "failed": "Failed"}
LOT_FIELDS = (
    "product_id",
    "license_id",
    "package_label",
    "batch_number",
    "quantity_on_hand",
    "lab_test_state",
    "lab_thc_percent",
    "lab_cbd_percent",
    "lab_name",
    "lab_tested_on",
    "packaged_on",
    "expires_on",
)
NO_LOT_ERRORS = {name: "" for name in LOT_FIELDS}
PACKAGE_LABEL_HELP = lot_management_service.PACKAGE_LABEL_HELP  # shown by the page; the service enforces the format
ADJUST_FIELDS = ("mode", "amount", "reason")
ADJUST_FORM_ID = "adjust-form-card"


def _lot_view(lot: lot_management_service.LotDTO) -> dict[str, str]:
    unit = fmt.UNIT_LABELS.get(lot.unit_of_measure, lot.unit_of_measure)
    return {
        "id": str(lot.id),
        "product": lot.product_name,
        "sku": lot.sku,
        "license": lot.license_number,
        "license_id": str(lot.license_id),
        "package_label": lot.package_label,
        "batch": lot.batch_number or "",
        "lab_state": lot.lab_test_state,
        "lab_label": LAB_LABELS.get(lot.lab_test_state, lot.lab_test_state),
        "lab_thc": fmt.percent(lot.lab_thc_percent),
        "lab_name": lot.lab_name or "",
        "on_hand": fmt.quantity(lot.quantity_on_hand),
        "reserved": fmt.quantity(lot.quantity_reserved),
        "available": fmt.quantity(lot.quantity_available),
        "unit": unit,
        "expires": lot.expires_on.isoformat() if lot.expires_on else "",
    }


def _license_totals(lots: list[lot_management_service.LotDTO]) -> list[dict[str, str]]:
    sums: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0), Decimal(0), Decimal(0)])
    for lot in lots:
        s = sums[lot.license_number]
        s[0] += 1
        s[1] += lot.quantity_on_hand
        s[2] += lot.quantity_reserved
        s[3] += lot.quantity_available
    return [
        {
            "license": k,
            "lots": str(int(v[0])),
            "on_hand": fmt.quantity(v[1]),
            "reserved": fmt.quantity(v[2]),
            "available": fmt.quantity(v[3]),
        }
        for k, v in sorted(sums.items())
    ]


@live_listener
class SellerInventoryState(AppState):
    lots: list[dict[str, str]] = []
    license_totals: list[dict[str, str]] = []
    licenses: list[dict[str, str]] = []  # {"id", "label"}
    product_options: list[dict[str, str]] = []  # {"id", "label"}
    license_filter: str = ALL
    product_filter: str = ALL
    error: str = ""
    notice: str = ""
    loaded: bool = False
    can_manage: bool = False  # display only: the services decide

    form_open: bool = False
    lot_errors: dict[str, str] = dict(NO_LOT_ERRORS)
    lot_error: str = ""

    adjusting_id: int = 0
    adjusting_label: str = ""
    adjust_error: str = ""

    async def _refresh(self) -> None:
        lots, self.error = await attempt(
            self,
            lot_management_service.list_lots,
            product_id=None if self.product_filter == ALL else int(self.product_filter),
            license_id=None if self.license_filter == ALL else int(self.license_filter),
        )
        if self.error:
            return
        self.lots = [_lot_view(x) for x in lots]
        self.license_totals = _license_totals(lots)
        self.loaded = True

    async def _load_options(self) -> None:
        licenses = await self._call(lot_management_service.list_own_licenses)
        self.licenses = [{"id": str(x.id), "label": f"{x.number} ({x.state}, {x.status})"} for x in licenses]
        page = await self._call(products.list_own_products, page_size=products.MAX_PAGE_SIZE)
        self.product_options = [
            {"id": str(p.id), "label": f"{p.name} ({p.sku})"} for p in page.items if p.listing_state != "archived"
        ]

    @rx.event
    async def load(self):
        if (denied := await self._gate("catalog.view", kind="wholesaler")) is not None:
            return denied
        principal = await self._principal()
        self.can_manage = is_allowed(principal, "inventory.manage", principal.entity_id)
        self.notice = ""
        try:
            await self._load_options()
        except Exception as err:
            self.error = error_message(err)
            return
        await self._refresh()

    async def _on_domain_event(self, event) -> None:
        """Stock moved (orders, other tabs): reload what this page shows; the service re-authorizes."""
        if event.kind == "inventory.changed" and self.loaded:
            await self._refresh()

    @rx.event
    async def set_license_filter(self, value: str):
        if value != ALL and value not in {x["id"] for x in self.licenses}:
            return
        self.license_filter = value
        await self._refresh()

    @rx.event
    async def set_product_filter(self, value: str):
        if value != ALL and value not in {x["id"] for x in self.product_options}:
            return
        self.product_filter = value
        await self._refresh()

    @rx.event
    def open_form(self):
        self.form_open, self.lot_errors, self.lot_error, self.notice = True, dict(NO_LOT_ERRORS), "", ""

    @rx.event
    def close_form(self):
        self.form_open = False

    @rx.event
    async def create_lot(self, form: dict):
        if not isinstance(form, dict) or not all(isinstance(form.get(k, ""), str) for k in LOT_FIELDS):
            self.lot_error = "The form could not be read; reload the page and try again."
            return
        values = {k: form.get(k, "").strip()[:64] for k in LOT_FIELDS}
        errors = dict(NO_LOT_ERRORS)
        pid, lid = parse_id(values["product_id"]), parse_id(values["license_id"])
        if pid is None:
            errors["product_id"] = "Choose a product."
        if lid is None:
            errors["license_id"] = "Choose a license."
        if not values["quantity_on_hand"]:
            errors["quantity_on_hand"] = "Enter the quantity on hand."
        if values["lab_test_state"] not in LAB_LABELS:
            errors["lab_test_state"] = "Choose a lab status."
        if any(errors.values()):
            self.lot_errors, self.lot_error = errors, "Fix the highlighted fields."
            return
        kw: dict[str, Any] = {k: values[k] or None for k in LOT_FIELDS if k not in ("product_id", "license_id")}
        kw["package_label"] = (values["package_label"] or "").upper()
        kw["quantity_on_hand"] = values["quantity_on_hand"]
        try:
            lot = await self._call(lot_management_service.create_lot, product_id=pid, license_id=lid, **kw)
        except ValidationError as err:
            self.lot_errors = NO_LOT_ERRORS | ({err.field: str(err)} if err.field in NO_LOT_ERRORS else {})
            self.lot_error = str(err)
            return
        except Exception as err:
            if not isinstance(err, ServiceError):
                log.exception("creating a lot failed")
            self.lot_error = error_message(err)
            return
        self.form_open, self.lot_errors, self.lot_error = False, dict(NO_LOT_ERRORS), ""
        self.notice = f"Added package {lot.package_label} ({fmt.quantity(lot.quantity_on_hand)} of {lot.product_name})."
        await self._refresh()

    @rx.event
    def start_adjust(self, lot_id: str):
        lid = parse_id(lot_id)
        lot = next((x for x in self.lots if x["id"] == str(lid)), None)
        if lid is None or lot is None:
            return
        self.adjusting_id, self.adjusting_label, self.adjust_error, self.notice = lid, lot["package_label"], "", ""
        return rx.scroll_to(ADJUST_FORM_ID)

    @rx.event
    def cancel_adjust(self):
        self.adjusting_id, self.adjust_error = 0, ""

    @rx.event
    async def adjust(self, form: dict):
        if not self.adjusting_id:
            return
        if not isinstance(form, dict) or not all(isinstance(form.get(k, ""), str) for k in ADJUST_FIELDS):
            self.adjust_error = "The form could not be read; reload the page and try again."
            return
        mode, amount, reason = (form.get(k, "").strip()[:255] for k in ADJUST_FIELDS)
        if mode not in ("count", "change"):
            self.adjust_error = "Choose whether you enter a new count or a change."
            return
        if not amount:
            self.adjust_error = "Enter the new on-hand count." if mode == "count" else "Enter the change, e.g. -2."
            return
        kw = {"quantity_on_hand": amount} if mode == "count" else {"delta": amount}
        lot, self.adjust_error = await attempt(
            self, lot_management_service.adjust_lot, self.adjusting_id, reason=reason, **kw
        )
        if self.adjust_error:
            return
        self.adjusting_id, self.adjust_error = 0, ""
        self.notice = f"Package {lot.package_label}: on hand is now {fmt.quantity(lot.quantity_on_hand)}."
        await self._refresh()
