"""/seller/products: the wholesaler's own catalog: list, create/edit form, images, CSV import/export."""

from __future__ import annotations

import reflex as rx

from reup_app import formatting as fmt
from reup_app.components.forms import (
    data_table,
    error_callout,
    form_card,
    labelled,
    native_select,
    notice_callout,
    rejected_files,
)
from reup_app.components.shell import page_shell
from reup_app.state.seller_products import ALL, CSV_COLUMNS, CSV_MAX_BYTES, FORM_ID, IMAGE_MAX_BYTES, LISTING_LABELS
from reup_app.state.seller_products import SellerProductsState as S

STRAIN_OPTIONS = [("none", "None"), ("indica", "Indica"), ("sativa", "Sativa"), ("hybrid", "Hybrid"), ("cbd", "CBD")]
UNIT_OPTIONS = [("each", "Each"), ("g", "Gram"), ("oz", "Ounce"), ("ml", "Millilitre")]
IMAGE_TYPES = {"image/png": [".png"], "image/jpeg": [".jpg", ".jpeg"], "image/webp": [".webp"]}


def _input(name: str, text: str, *, type_: str = "text", hint: str | None = None, **props) -> rx.Component:
    id_ = f"product-{name}"
    control = rx.input(
        id=id_,
        name=name,
        type=type_,
        default_value=S.form_values[name],
        aria_invalid=rx.cond(S.field_errors[name] != "", "true", "false"),
        aria_describedby=f"{id_}-error",
        width="100%",
        **props,
    )
    return labelled(text, id_, control, S.field_errors[name], hint)


def _select(name: str, text: str, options: list[tuple[str, str]]) -> rx.Component:
    id_ = f"product-{name}"
    control = native_select(id_, options, name=name, default_value=S.form_values[name], aria_describedby=f"{id_}-error")
    return labelled(text, id_, control, S.field_errors[name])


def _product_form() -> rx.Component:
    description = labelled(
        "Description",
        "product-description",
        rx.text_area(
            id="product-description",
            name="description",
            default_value=S.form_values["description"],
            rows="3",
            width="100%",
            max_length=5000,
        ),
        S.field_errors["description"],
    )
    return form_card(
        rx.heading(rx.cond(S.editing_id == 0, "New product", "Edit product"), size="5", as_="h2"),
        [
            _input("name", "Name", required=True, max_length=255),
            _input("sku", "SKU", required=True, max_length=64),
            _input("brand", "Brand", max_length=128),
            _select("category", "Category", list(fmt.CATEGORY_LABELS.items())),
            _input("strain_name", "Strain", max_length=128),
            _select("strain_type", "Strain type", STRAIN_OPTIONS),
            _input("thc_percent", "THC %", input_mode="decimal"),
            _input("cbd_percent", "CBD %", input_mode="decimal"),
            _select("unit_of_measure", "Unit", UNIT_OPTIONS),
            _input("unit_price", "Unit price", input_mode="decimal", required=True, hint="US dollars per unit"),
            _input("case_size", "Case size", input_mode="numeric", hint="Units per case"),
            _input("case_price", "Case price", input_mode="decimal", hint="Optional price for a whole case"),
            _input("min_order_qty", "Minimum order quantity", input_mode="decimal"),
            _select("listing_state", "Listing state", list(LISTING_LABELS.items())),
        ],
        extra=(description,),
        error=S.form_error,
        submit=rx.cond(
            S.can_manage, rx.button(rx.cond(S.editing_id == 0, "Create product", "Save changes"), type="submit")
        ),
        on_submit=S.save_product,
        on_cancel=S.close_form,
        columns=rx.breakpoints(initial="1", sm="2", md="3"),
        key=S.editing_id.to_string(),
        after=(rx.cond(S.editing_id != 0, _images()),),
        data_testid="product-form",
        id=FORM_ID,
    )


def _images() -> rx.Component:
    return rx.vstack(
        rx.separator(margin_y="16px"),
        rx.heading("Images", size="4", as_="h3"),
        rx.text(
            f"PNG, JPEG or WebP, up to {IMAGE_MAX_BYTES // 1024 // 1024} MB each. Images of "
            "internal or archived products are visible only to your team.",
            size="2",
            color_scheme="gray",
        ),
        rx.flex(
            rx.foreach(
                S.images,
                lambda img: rx.vstack(
                    rx.image(
                        src=img["url"],
                        alt="Product image",
                        width="120px",
                        height="120px",
                        object_fit="cover",
                        border_radius="6px",
                    ),
                    rx.text(img["type"], " · ", img["size"], size="1", color_scheme="gray"),
                    rx.cond(
                        S.can_manage,
                        rx.button(
                            "Remove",
                            size="1",
                            variant="soft",
                            color_scheme="red",
                            on_click=S.delete_image(img["id"]),
                            aria_label="Remove image",
                        ),
                    ),
                    spacing="1",
                ),
            ),
            gap="12px",
            wrap="wrap",
        ),
        rx.cond(S.can_manage, _image_upload()),
        error_callout(S.image_error),
        spacing="3",
        width="100%",
        align="start",
    )


def _image_upload() -> rx.Component:
    return rx.vstack(
        rx.upload(
            rx.vstack(
                rx.icon("image-plus"),
                rx.text("Drop images here or click to choose", size="2"),
                align="center",
                spacing="1",
            ),
            id="image_upload",
            accept=IMAGE_TYPES,
            max_size=IMAGE_MAX_BYTES,
            multiple=True,
            border=f"1px dashed {rx.color('gray', 8)}",
            padding="16px",
            border_radius="8px",
            width="100%",
            aria_label="Choose product images",
            on_drop_rejected=lambda rejected: S.images_rejected(rejected_files(rejected)),
        ),
        rx.text(rx.selected_files("image_upload").join(", "), size="1"),
        rx.button("Upload images", on_click=S.upload_images(rx.upload_files(upload_id="image_upload")), variant="soft"),
        spacing="3",
        width="100%",
        align="start",
    )


def _csv_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Import products from CSV", size="4", as_="h2"),
            rx.text(
                "Columns: ",
                ", ".join(CSV_COLUMNS),
                ". sku, name, category and unit_price are required; "
                "a row with an existing SKU updates that product. Bad rows are listed below and not imported.",
                size="2",
                color_scheme="gray",
            ),
            rx.hstack(
                rx.upload(
                    rx.text("Choose a CSV file (max 2 MB)", size="2"),
                    id="csv_upload",
                    accept={"text/csv": [".csv"], "text/plain": [".csv", ".txt"]},
                    max_files=1,
                    max_size=CSV_MAX_BYTES,
                    on_drop_rejected=lambda rejected: S.csv_rejected(rejected_files(rejected)),
                    border=f"1px dashed {rx.color('gray', 8)}",
                    padding="12px",
                    border_radius="8px",
                    aria_label="Choose a CSV file",
                ),
                rx.text(rx.selected_files("csv_upload").join(", "), size="2", data_testid="csv-selected"),
                rx.button("Upload and import", on_click=S.import_csv(rx.upload_files(upload_id="csv_upload"))),
                align="center",
                spacing="3",
                wrap="wrap",
            ),
            rx.cond(
                S.import_summary != "",
                rx.text(S.import_summary, size="2", weight="medium", role="status", data_testid="import-summary"),
            ),
            rx.cond(
                S.import_errors.length() > 0,
                rx.vstack(
                    data_table(
                        ["Row", "Column", "Problem"],
                        S.import_errors,
                        lambda e: rx.table.row(
                            rx.table.cell("Row ", e["row"]),
                            rx.table.cell(e["column"]),
                            rx.table.cell(e["problem"]),
                        ),
                        size="1",
                        data_testid="import-errors",
                    ),
                    rx.button("Download error report", variant="soft", on_click=S.download_error_report),
                    width="100%",
                    align="start",
                ),
            ),
            spacing="3",
            width="100%",
            align="start",
        ),
        width="100%",
        margin_bottom="16px",
    )


def _toolbar() -> rx.Component:
    return rx.flex(
        rx.box(
            rx.el.label(
                "Search your products", html_for="seller-search", style={"position": "absolute", "left": "-9999px"}
            ),
            rx.debounce_input(
                rx.input(
                    id="seller-search",
                    placeholder="Search name, brand, strain or SKU",
                    value=S.q,
                    on_change=S.set_q,
                    width="100%",
                ),
                debounce_timeout=300,
            ),
            flex="1",
            min_width="220px",
        ),
        rx.hstack(
            rx.el.label("Show", html_for="seller-listing-filter", style={"fontSize": "14px"}),
            native_select(
                "seller-listing-filter",
                [(ALL, "All states"), *LISTING_LABELS.items()],
                value=S.listing_filter,
                on_change=S.set_listing_filter,
            ),
            align="center",
            spacing="2",
        ),
        rx.cond(
            S.can_manage,
            rx.hstack(
                rx.button(rx.icon("plus"), "New product", on_click=S.new_product),
                rx.button(
                    rx.icon("upload"),
                    "Import CSV",
                    variant="soft",
                    on_click=S.toggle_import,
                    aria_expanded=rx.cond(S.import_open, "true", "false"),
                ),
                spacing="3",
            ),
        ),
        rx.button(rx.icon("download"), "Export CSV", variant="soft", on_click=S.export_csv),
        gap="12px",
        wrap="wrap",
        align="center",
        width="100%",
        margin_bottom="12px",
    )


def _row(item: rx.Var) -> rx.Component:
    archived = item["listing_state"] == "archived"
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.text(item["name"], weight="medium"),
                rx.text(item["brand"], size="1", color_scheme="gray"),
                spacing="0",
            )
        ),
        rx.table.cell(item["sku"], white_space="nowrap"),
        rx.table.cell(item["category"]),
        rx.table.cell(item["price"], white_space="nowrap"),
        rx.table.cell(item["case"], white_space="nowrap"),
        rx.table.cell(item["moq"]),
        rx.table.cell(item["available"]),
        rx.table.cell(
            rx.badge(
                item["listing_label"],
                color_scheme=rx.cond(archived, "gray", rx.cond(item["listing_state"] == "internal", "orange", "grass")),
            )
        ),
        rx.table.cell(
            rx.hstack(
                rx.button(
                    rx.cond(S.can_manage, "Edit", "View"),
                    size="1",
                    variant="soft",
                    on_click=S.edit_product(item["id"]),
                    aria_label=rx.cond(S.can_manage, "Edit ", "View ") + item["name"],
                ),
                rx.cond(
                    S.can_manage,
                    rx.cond(
                        archived,
                        rx.button(
                            "Unarchive",
                            size="1",
                            variant="outline",
                            on_click=S.unarchive(item["id"]),
                            aria_label="Unarchive " + item["name"],
                        ),
                        rx.button(
                            "Archive",
                            size="1",
                            variant="outline",
                            color_scheme="gray",
                            on_click=S.archive(item["id"]),
                            aria_label="Archive " + item["name"],
                        ),
                    ),
                ),
                spacing="2",
            )
        ),
        data_testid="seller-product-row",
    )


PRODUCT_HEADERS = ["Product", "SKU", "Category", "Price", "Case", "MOQ", "Available", "State", ""]


@rx.page(route="/seller/products", title="Products · ReUp", on_load=S.load)
def seller_products() -> rx.Component:
    return page_shell(
        rx.hstack(
            rx.foreach(
                S.state_counts, lambda c: rx.badge(c["label"], ": ", c["count"], variant="soft", color_scheme="gray")
            ),
            spacing="2",
            wrap="wrap",
            margin_bottom="12px",
        ),
        _toolbar(),
        error_callout(S.error, margin_bottom="12px"),
        notice_callout(S.notice, margin_bottom="12px"),
        rx.cond(S.form_open, _product_form()),
        rx.cond(S.import_open, _csv_card()),
        rx.text(
            S.total, " products", size="2", color_scheme="gray", margin_bottom="8px", data_testid="seller-product-count"
        ),
        rx.cond(S.loaded & (S.total == 0), rx.text("No products match.", padding_y="16px")),
        data_table(PRODUCT_HEADERS, S.items, _row, variant="surface"),
        rx.hstack(
            rx.button("Previous", on_click=S.prev_page, disabled=S.page <= 1, variant="soft"),
            rx.text("Page ", S.page, size="2"),
            rx.button("Next", on_click=S.next_page, disabled=~S.has_next, variant="soft"),
            justify="center",
            align="center",
            spacing="4",
            width="100%",
            margin_top="16px",
        ),
        title="Products",
    )
