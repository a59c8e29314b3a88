"""/seller/products state: the wholesaler's own products (list, form, archive), images and CSV.

Display values only: rows are dicts of strings. Every handler validates its arguments; ids are
checked again by the services against the signed-in entity.
"""

from __future__ import annotations

import logging
from typing import Any

import reflex as rx

from reup_app import formatting as fmt
from reup_app.errors import ServiceError
from reup_app.realtime.listeners import live_listener
from reup_app.security.permissions import is_allowed
from reup_app.services.catalog import images as product_images
from reup_app.services.catalog import product_csv, product_fields, products
from reup_app.services.catalog.product_fields import FIELDS, ProductFieldErrors
from reup_app.state.attempt import attempt
from reup_app.state.base import AppState, error_message
from reup_app.state.inputs import describe_rejected_files, parse_id

log = logging.getLogger(__name__)

ALL = "all"
LISTING_LABELS = {
    "available": "Available",
    "backorder": "Backorder",
    "sample": "Sample",
    "internal": "Internal",
    "archived": "Archived",
}
MAX_FIELD_TEXT = product_fields.MAX_DESCRIPTION + 10
PAGE_SIZE = 50
BLANK_FORM = {name: "" for name in FIELDS} | {
    "category": "flower",
    "strain_type": "none",
    "unit_of_measure": "each",
    "listing_state": "available",
    "case_size": "1",
    "min_order_qty": "1",
}
NO_ERRORS = {name: "" for name in FIELDS}
FORM_ID = "product-form-card"
# Limits the page shows (pages import the state, never the services; the services enforce them).
IMAGE_MAX_BYTES = product_images.MAX_IMAGE_BYTES
CSV_MAX_BYTES = product_csv.MAX_BYTES
CSV_COLUMNS = FIELDS


def _product_view(p: products.ProductRow) -> dict[str, str]:
    unit = fmt.UNIT_LABELS.get(p.unit_of_measure, p.unit_of_measure)
    return {
        "id": str(p.id),
        "sku": p.sku,
        "name": p.name,
        "brand": p.brand or "",
        "category": fmt.CATEGORY_LABELS.get(p.category, p.category),
        "strain_type": fmt.STRAIN_TYPE_LABELS.get(p.strain_type, ""),
        "thc": fmt.percent(p.thc_percent),
        "price": f"{fmt.money(p.unit_price)} / {unit}",
        "case": f"{fmt.money(p.case_price)} / {p.case_size}" if p.case_price else "",
        "moq": fmt.quantity(p.min_order_qty),
        "available": fmt.quantity(p.available_qty),
        "listing_state": p.listing_state,
        "listing_label": LISTING_LABELS.get(p.listing_state, p.listing_state),
    }


def _clean_form(form: Any) -> dict[str, str] | None:
    """Only the known fields, as bounded strings; None if the payload isn't a form."""
    if not isinstance(form, dict):
        return None
    out = {}
    for name in FIELDS:
        value = form.get(name, "")
        if value is None:
            value = ""
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            return None
        out[name] = str(value)[:MAX_FIELD_TEXT]
    return out


@live_listener
class SellerProductsState(AppState):
    q: str = ""
    listing_filter: str = ALL
    page: int = 1
    items: list[dict[str, str]] = []
    total: int = 0
    state_counts: list[dict[str, str]] = []
    has_next: bool = False
    error: str = ""
    notice: str = ""
    loaded: bool = False
    can_manage: bool = False  # display only: the services decide

    # the product form (new when editing_id == 0)
    form_open: bool = False
    editing_id: int = 0
    form_values: dict[str, str] = dict(BLANK_FORM)
    field_errors: dict[str, str] = dict(NO_ERRORS)
    form_error: str = ""

    # images of the product being edited
    images: list[dict[str, str]] = []
    image_error: str = ""

    # CSV import panel and results
    import_open: bool = False
    import_summary: str = ""
    import_errors: list[dict[str, str]] = []
    _error_report: str = ""

    async def _refresh(self) -> None:
        result, self.error = await attempt(
            self,
            products.list_own_products,
            text=self.q,
            page=self.page,
            page_size=PAGE_SIZE,
            listing_state="" if self.listing_filter == ALL else self.listing_filter,
        )
        if self.error:
            return
        self.items = [_product_view(p) for p in result.items]
        self.total = result.total
        self.has_next = self.page * PAGE_SIZE < result.total
        self.state_counts = [
            {"value": s, "label": LISTING_LABELS[s], "count": str(result.counts.get(s, 0))}
            for s in product_fields.LISTING_STATES
        ]
        self.loaded = True

    async def _on_domain_event(self, event) -> None:
        """Products or stock changed (another tab, an order): reload the list, not the open form."""
        if self.loaded and event.kind in ("product.changed", "inventory.changed"):
            await self._refresh()

    @rx.event
    async def load(self):
        if (denied := await self._gate("catalog.view", kind="wholesaler")) is not None:
            return denied
        principal = await self._principal()
        self.can_manage = is_allowed(principal, "catalog.manage", principal.entity_id)
        self.notice = self.form_error = ""
        self.form_open = False
        await self._refresh()

    @rx.event
    async def set_q(self, value: str):
        if not isinstance(value, str):
            return
        self.q, self.page = value.strip()[:100], 1
        await self._refresh()

    @rx.event
    async def set_listing_filter(self, value: str):
        if value != ALL and value not in LISTING_LABELS:
            self.error = "Unknown listing state."
            return
        self.listing_filter, self.page = value, 1
        await self._refresh()

    @rx.event
    async def next_page(self):
        if self.has_next:
            self.page += 1
            await self._refresh()

    @rx.event
    async def prev_page(self):
        if self.page > 1:
            self.page -= 1
            await self._refresh()

    # -- form ---------------------------------------------------------------------------------

    @rx.event
    def new_product(self):
        self.form_open, self.editing_id = True, 0
        self.form_values, self.field_errors, self.form_error = dict(BLANK_FORM), dict(NO_ERRORS), ""
        self.images, self.image_error, self.notice = [], "", ""
        return rx.scroll_to(FORM_ID)

    @rx.event
    async def edit_product(self, product_id: str):
        pid = parse_id(product_id)
        if pid is None:
            self.error = "Unknown product."
            return
        row, self.error = await attempt(self, products.get_own_product, pid)
        if self.error:
            return
        self.form_open, self.editing_id, self.notice = True, row.id, ""
        self.form_values, self.field_errors, self.form_error = row.as_fields(), dict(NO_ERRORS), ""
        await self._load_images()
        return rx.scroll_to(FORM_ID)

    @rx.event
    def close_form(self):
        self.form_open, self.editing_id = False, 0
        self.field_errors, self.form_error, self.images = dict(NO_ERRORS), "", []

    @rx.event
    async def save_product(self, form: dict):
        values = _clean_form(form)
        if values is None:
            self.form_error = "The form could not be read; reload the page and try again."
            return
        self.form_values = values  # a failed save shows exactly what was typed
        try:
            if self.editing_id:
                row = await self._call(products.update_product, self.editing_id, values)
            else:
                row = await self._call(products.create_product, values)
        except ProductFieldErrors as err:
            self.field_errors = NO_ERRORS | {k: v for k, v in err.errors.items() if k in NO_ERRORS}
            self.form_error = str(err)
            return
        except Exception as err:
            if not isinstance(err, ServiceError):
                log.exception("saving a product failed")
            self.form_error = error_message(err)
            return
        self.notice = f"{'Saved' if self.editing_id else 'Created'} {row.name} ({row.sku})."
        self.form_open, self.editing_id = False, 0
        self.field_errors, self.form_error = dict(NO_ERRORS), ""
        await self._refresh()

    @rx.event
    async def archive(self, product_id: str):
        await self._change_state(product_id, products.archive_product, "Archived")

    @rx.event
    async def unarchive(self, product_id: str):
        await self._change_state(product_id, products.unarchive_product, "Restored as internal:")

    async def _change_state(self, product_id: Any, fn, verb: str) -> None:
        pid = parse_id(product_id)
        if pid is None:
            self.error = "Unknown product."
            return
        row, self.error = await attempt(self, fn, pid)
        if self.error:
            return
        self.notice = f"{verb} {row.name}."
        await self._refresh()

    # -- images -------------------------------------------------------------------------------

    async def _load_images(self) -> None:
        if not self.editing_id:
            self.images = []
            return
        rows, message = await attempt(self, product_images.list_images, self.editing_id)
        if message:
            self.image_error = message
            return
        self.images = [
            {
                "id": str(i.id),
                "url": i.url,
                "size": f"{i.size_bytes / 1024:.1f} KB",
                "type": i.content_type.removeprefix("image/").upper(),
                "dims": f"{i.width}×{i.height}" if i.width and i.height else "",
            }
            for i in rows
        ]

    @rx.event
    async def upload_images(self, files: list[rx.UploadFile]):
        if not self.editing_id:
            self.image_error = "Save the product before adding images."
            return
        if not isinstance(files, list) or not files:
            self.image_error = "Choose an image to upload."
            return
        problems, added = [], 0
        for f in files[: product_images.MAX_IMAGES_PER_PRODUCT]:
            data = await f.read(product_images.MAX_IMAGE_BYTES + 1)
            _, message = await attempt(self, product_images.add_image, self.editing_id, f.filename or "image", data)
            if message:
                problems.append(message)
            else:
                added += 1
        self.image_error = " ".join(problems)
        await self._load_images()
        if added:
            self.notice = f"Added {added} image{'s' if added > 1 else ''}."
        return rx.clear_selected_files("image_upload")

    @rx.event
    def images_rejected(self, rejections: list):
        """The browser refused image files before upload (too large, wrong type)."""
        self.image_error = describe_rejected_files(
            rejections, max_bytes=product_images.MAX_IMAGE_BYTES, types_text="a PNG, JPEG or WebP image"
        )

    @rx.event
    async def delete_image(self, image_id: str):
        iid = parse_id(image_id)
        if iid is None:
            return
        _, self.image_error = await attempt(self, product_images.delete_image, iid)
        if not self.image_error:
            await self._load_images()

    # -- CSV ----------------------------------------------------------------------------------

    @rx.event
    def toggle_import(self):
        self.import_open = not self.import_open

    @rx.event
    async def export_csv(self):
        text, self.error = await attempt(self, product_csv.export_products_csv)
        if self.error:
            return
        return rx.download(data=text, filename="products.csv", mime_type="text/csv")

    @rx.event
    async def import_csv(self, files: list[rx.UploadFile]):
        self.import_summary, self.import_errors, self._error_report = "", [], ""
        if not isinstance(files, list) or len(files) != 1:
            self.import_summary = "Choose one CSV file to import."
            return
        data = await files[0].read(product_csv.MAX_BYTES + 1)
        report, message = await attempt(self, product_csv.import_products_csv, data)
        if message:
            self.import_summary = f"Nothing was imported: {message}"
            return rx.clear_selected_files("csv_upload")
        parts = [f"{report.created} created", f"{report.updated} updated"]
        if report.unchanged:
            parts.append(f"{report.unchanged} unchanged")
        if report.errors:
            parts.append(f"{report.bad_rows} row{'s' if report.bad_rows > 1 else ''} with problems (not imported)")
        self.import_summary = f"Imported {report.rows} rows: " + ", ".join(parts) + "."
        if report.ignored_columns:
            self.import_summary += " Ignored columns: " + ", ".join(report.ignored_columns[:10]) + "."
        self.import_errors = [
            {"row": str(e.row), "column": e.column, "problem": e.problem} for e in report.errors[:500]
        ]
        self._error_report = product_csv.error_report_csv(report.errors) if report.errors else ""
        await self._refresh()
        return rx.clear_selected_files("csv_upload")

    @rx.event
    def csv_rejected(self, rejections: list):
        """The browser refused the chosen file before upload."""
        self.import_errors, self._error_report = [], ""
        self.import_summary = "Nothing was imported: " + describe_rejected_files(
            rejections, max_bytes=product_csv.MAX_BYTES, types_text="a CSV file"
        )

    @rx.event
    def download_error_report(self):
        if self._error_report:
            return rx.download(data=self._error_report, filename="import-errors.csv", mime_type="text/csv")
