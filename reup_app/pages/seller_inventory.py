"""/seller/inventory: packages per license with lab status and quantities; add a package; adjust."""

from __future__ import annotations

import reflex as rx

from reup_app.components.forms import (
    data_table,
    error_callout,
    form_card,
    labelled,
    native_select,
    notice_callout,
)
from reup_app.components.shell import page_shell
from reup_app.pages.seller_metrc import metrc_conflicts_section
from reup_app.state.seller_inventory import ADJUST_FORM_ID, ALL, LAB_LABELS, PACKAGE_LABEL_HELP
from reup_app.state.seller_inventory import SellerInventoryState as S


def _option_select(id_: str, name: str, options: rx.Var, placeholder: str) -> rx.Component:
    return rx.el.select(
        rx.el.option(placeholder, value=""),
        rx.foreach(options, lambda o: rx.el.option(o["label"], value=o["id"])),
        id=id_,
        name=name,
        style={
            "padding": "6px 8px",
            "borderRadius": "6px",
            "width": "100%",
            "border": f"1px solid {rx.color('gray', 7)}",
            "minHeight": "32px",
        },
    )


def _lot_input(name: str, text: str, type_: str = "text", hint: str | None = None, **props) -> rx.Component:
    id_ = f"lot-{name}"
    return labelled(
        text,
        id_,
        rx.input(id=id_, name=name, type=type_, width="100%", aria_describedby=f"{id_}-error", **props),
        S.lot_errors[name],
        hint,
    )


def _lot_form() -> rx.Component:
    return form_card(
        rx.heading("Add a package", size="5", as_="h2"),
        [
            labelled(
                "Product",
                "lot-product_id",
                _option_select("lot-product_id", "product_id", S.product_options, "Choose a product"),
                S.lot_errors["product_id"],
            ),
            labelled(
                "License",
                "lot-license_id",
                _option_select("lot-license_id", "license_id", S.licenses, "Choose a license"),
                S.lot_errors["license_id"],
            ),
            _lot_input("package_label", "Package label", hint=PACKAGE_LABEL_HELP, max_length=24, required=True),
            _lot_input("batch_number", "Batch", max_length=64),
            _lot_input("quantity_on_hand", "Quantity on hand", input_mode="decimal", required=True),
            labelled(
                "Lab status",
                "lot-lab_test_state",
                native_select(
                    "lot-lab_test_state", list(LAB_LABELS.items()), name="lab_test_state", default_value="not_submitted"
                ),
                S.lot_errors["lab_test_state"],
            ),
            _lot_input("lab_thc_percent", "Lab THC %", input_mode="decimal"),
            _lot_input("lab_cbd_percent", "Lab CBD %", input_mode="decimal"),
            _lot_input("lab_name", "Lab name", max_length=128),
            _lot_input("lab_tested_on", "Tested on", type_="date"),
            _lot_input("packaged_on", "Packaged on", type_="date"),
            _lot_input("expires_on", "Expires on", type_="date"),
        ],
        error=S.lot_error,
        submit="Add package",
        on_submit=S.create_lot,
        on_cancel=S.close_form,
        columns=rx.breakpoints(initial="1", sm="2", md="3"),
    )


def _adjust_form() -> rx.Component:
    return form_card(
        rx.heading("Adjust package ", S.adjusting_label, size="4", as_="h2"),
        [
            labelled(
                "Adjustment type",
                "adjust-mode",
                native_select(
                    "adjust-mode",
                    [("change", "Change by (e.g. -2)"), ("count", "New on-hand count")],
                    name="mode",
                    default_value="change",
                ),
            ),
            labelled(
                "Amount",
                "adjust-amount",
                rx.input(id="adjust-amount", name="amount", input_mode="decimal", required=True),
            ),
            labelled(
                "Reason",
                "adjust-reason",
                rx.input(
                    id="adjust-reason",
                    name="reason",
                    max_length=255,
                    required=True,
                    placeholder="e.g. Damaged in storage, cycle count",
                ),
            ),
        ],
        error=S.adjust_error,
        submit="Save adjustment",
        on_submit=S.adjust,
        on_cancel=S.cancel_adjust,
        columns=rx.breakpoints(initial="1", sm="3"),
        reset_on_submit=True,
        key=S.adjusting_id.to_string(),
        id=ADJUST_FORM_ID,
    )


def _lab_badge(lot: rx.Var) -> rx.Component:
    color = rx.match(lot["lab_state"], ("passed", "grass"), ("failed", "red"), ("submitted", "blue"), "gray")
    return rx.hstack(
        rx.badge(lot["lab_label"], color_scheme=color),
        rx.cond(lot["lab_thc"] != "", rx.text("THC ", lot["lab_thc"], size="1")),
        spacing="1",
    )


def _lot_row(lot: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.text(lot["product"], weight="medium"),
                rx.text(lot["sku"], size="1", color_scheme="gray"),
                spacing="0",
            )
        ),
        rx.table.cell(lot["license"], white_space="nowrap"),
        rx.table.cell(rx.code(lot["package_label"], size="1")),
        rx.table.cell(lot["batch"], white_space="nowrap"),
        rx.table.cell(_lab_badge(lot)),
        rx.table.cell(lot["on_hand"], white_space="nowrap"),
        rx.table.cell(lot["reserved"]),
        rx.table.cell(rx.text(lot["available"], weight="bold")),
        rx.table.cell(lot["expires"], white_space="nowrap"),
        rx.table.cell(
            rx.cond(
                S.can_manage,
                rx.button(
                    "Adjust",
                    size="1",
                    variant="soft",
                    on_click=S.start_adjust(lot["id"]),
                    aria_label="Adjust package " + lot["package_label"],
                ),
            )
        ),
        data_testid="lot-row",
    )


LOT_HEADERS = ["Product", "License", "Package label", "Batch", "Lab", "On hand", "Reserved", "Available", "Expires", ""]


def _filters() -> rx.Component:
    # min-width 0 / max-width 100%: a long product name must not push the page wider than a phone
    select_style = {
        "padding": "6px 8px",
        "borderRadius": "6px",
        "border": f"1px solid {rx.color('gray', 7)}",
        "minWidth": "0",
        "maxWidth": "100%",
    }
    return rx.flex(
        rx.hstack(
            rx.el.label("License", html_for="inv-license-filter", style={"fontSize": "14px", "flexShrink": "0"}),
            rx.el.select(
                rx.el.option("All licenses", value=ALL),
                rx.foreach(S.licenses, lambda o: rx.el.option(o["label"], value=o["id"])),
                id="inv-license-filter",
                value=S.license_filter,
                on_change=S.set_license_filter,
                style=select_style,
            ),
            align="center",
            spacing="2",
            min_width="0",
            max_width="100%",
        ),
        rx.hstack(
            rx.el.label("Product", html_for="inv-product-filter", style={"fontSize": "14px", "flexShrink": "0"}),
            rx.el.select(
                rx.el.option("All products", value=ALL),
                rx.foreach(S.product_options, lambda o: rx.el.option(o["label"], value=o["id"])),
                id="inv-product-filter",
                value=S.product_filter,
                on_change=S.set_product_filter,
                style=select_style | {"maxWidth": "min(320px, 100%)"},
            ),
            align="center",
            spacing="2",
            min_width="0",
            max_width="100%",
        ),
        rx.spacer(),
        rx.cond(S.can_manage, rx.button(rx.icon("plus"), "Add package", on_click=S.open_form)),
        gap="12px",
        wrap="wrap",
        align="center",
        width="100%",
        margin_bottom="12px",
    )


@rx.page(route="/seller/inventory", title="Inventory · ReUp", on_load=S.load)
def seller_inventory() -> rx.Component:
    return page_shell(
        rx.flex(
            rx.foreach(
                S.license_totals,
                lambda t: rx.card(
                    rx.text("License ", t["license"], weight="bold", size="2"),
                    rx.text(
                        t["lots"],
                        " packages · ",
                        t["on_hand"],
                        " on hand · ",
                        t["reserved"],
                        " reserved · ",
                        rx.text.strong(t["available"], " available"),
                        size="2",
                    ),
                ),
            ),
            gap="12px",
            wrap="wrap",
            margin_bottom="16px",
        ),
        metrc_conflicts_section(),
        _filters(),
        error_callout(S.error, margin_bottom="12px"),
        notice_callout(S.notice, margin_bottom="12px"),
        rx.cond(S.form_open, _lot_form()),
        rx.cond(S.adjusting_id != 0, _adjust_form()),
        rx.cond(S.loaded & (S.lots.length() == 0), rx.text("No packages yet.", padding_y="16px")),
        data_table(LOT_HEADERS, S.lots, _lot_row, variant="surface", size="1"),
        title="Inventory",
    )
