"""/seller/inventory/metrc: METRC packages ReUp can't place yet (map their item to a product) and the
stock conflicts METRC reported; `metrc_conflicts_section` also sits on /seller/inventory."""

from __future__ import annotations

import reflex as rx

from reup_app.components.forms import data_table, error_callout, notice_callout
from reup_app.components.shell import page_shell
from reup_app.state.seller_metrc import SellerMetrcState as S

ITEM_HEADERS = ["METRC item", "Strain", "Category", "Packages", "Quantity", "Labels", "Licenses", "Map to product"]


def metrc_conflicts_section() -> rx.Component:
    """Open conflicts as warnings (nothing more is sold from those packages), with a link to the page."""
    return rx.box(
        rx.foreach(
            S.conflicts,
            lambda c: rx.callout(
                rx.text(rx.text.strong("Package ", c["label"], ": "), c["message"]),
                icon="triangle_alert",
                color_scheme="amber",
                role="alert",
                width="100%",
                margin_bottom="8px",
            ),
        ),
        rx.cond(
            S.items.length() > 0,
            rx.link(
                S.items.length().to_string() + " METRC item(s) wait for a product: map them",
                href="/seller/inventory/metrc",
            ),
        ),
        on_mount=S.load_section,
        margin_bottom="12px",
        width="100%",
    )


def _map_form(row: rx.Var) -> rx.Component:
    return rx.form(
        rx.flex(
            rx.el.input(type="hidden", name="item", value=row["item"]),
            rx.el.select(
                rx.el.option("Choose a product", value=""),
                rx.foreach(S.product_options, lambda o: rx.el.option(o["label"], value=o["id"])),
                name="product_id",
                aria_label="Product for " + row["item"],
                style={"padding": "4px 6px", "borderRadius": "6px", "minHeight": "30px"},
            ),
            rx.button("Map", type="submit", size="1"),
            gap="6px",
            align="center",
        ),
        on_submit=S.map_item,
        reset_on_submit=False,
    )


def _item_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row["item"]),
        rx.table.cell(row["strain"]),
        rx.table.cell(row["category"]),
        rx.table.cell(row["packages"]),
        rx.table.cell(row["quantity"]),
        rx.table.cell(rx.code(row["labels"], size="1")),
        rx.table.cell(row["licenses"]),
        rx.table.cell(_map_form(row)),
    )


@rx.page(route="/seller/inventory/metrc", title="METRC packages · ReUp", on_load=S.load)
def seller_metrc() -> rx.Component:
    return page_shell(
        rx.text(
            "Packages synced from METRC whose label ReUp doesn't know yet. Map each METRC item to one of your "
            "products once: its packages become inventory, and later packages of that item follow automatically.",
            size="2",
            margin_bottom="12px",
        ),
        error_callout(S.error, margin_bottom="12px"),
        notice_callout(S.notice, margin_bottom="12px"),
        rx.foreach(
            S.conflicts,
            lambda c: rx.callout(
                rx.text(rx.text.strong("Package ", c["label"], ": "), c["message"]),
                icon="triangle_alert",
                color_scheme="amber",
                role="alert",
                width="100%",
                margin_bottom="8px",
            ),
        ),
        rx.cond(
            S.can_manage,
            rx.fragment(
                rx.cond(
                    S.loaded & (S.items.length() == 0),
                    rx.text("Every synced METRC package is matched to a product.", padding_y="16px"),
                ),
                data_table(ITEM_HEADERS, S.items, _item_row, variant="surface", size="1"),
            ),
            rx.text("Owners, admins and fulfillment staff map METRC items to products.", size="2"),
        ),
        title="METRC packages",
    )
