"""/seller/pricing: price tiers, their per-product prices, and which customer pays which tier."""

from __future__ import annotations

import reflex as rx

from reup_app.components.forms import NATIVE_SELECT_STYLE, data_table, error_callout, notice_callout
from reup_app.components.shell import page_shell
from reup_app.state.seller_pricing import NONE
from reup_app.state.seller_pricing import SellerPricingState as S


def _tiers() -> rx.Component:
    return rx.card(
        rx.heading("Price tiers", size="4", as_="h2", margin_bottom="8px"),
        rx.form(
            rx.hstack(
                rx.el.label("New tier name", html_for="tier-name", style={"fontSize": "14px"}),
                rx.input(id="tier-name", name="name", max_length=64, required=True, placeholder="e.g. Volume buyer"),
                rx.button("Create tier", type="submit"),
                align="center",
                spacing="2",
                wrap="wrap",
            ),
            on_submit=S.create_tier,
            reset_on_submit=True,
        ),
        rx.vstack(
            rx.foreach(
                S.tiers,
                lambda t: rx.hstack(
                    rx.button(
                        t["name"],
                        variant=rx.cond(S.selected_tier == t["id"], "solid", "soft"),
                        on_click=S.select_tier(t["id"]),
                        aria_label="Edit prices of tier " + t["name"],
                    ),
                    rx.text(t["products"], " products · ", t["customers"], " customers", size="2", color_scheme="gray"),
                    rx.button(
                        "Delete",
                        size="1",
                        variant="ghost",
                        color_scheme="red",
                        on_click=S.delete_tier(t["id"]),
                        aria_label="Delete tier " + t["name"],
                    ),
                    align="center",
                    spacing="3",
                ),
            ),
            spacing="2",
            margin_top="12px",
        ),
        width="100%",
    )


def _tier_prices() -> rx.Component:
    return rx.card(
        rx.heading("Prices in ", S.selected_tier_name, size="4", as_="h2"),
        rx.text(
            "Leave a price blank to sell at list price. Changes save when you leave the field.",
            size="2",
            color_scheme="gray",
            margin_bottom="8px",
        ),
        rx.box(
            data_table(
                ["Product", "SKU", "List price", "Tier price"],
                S.tier_products,
                lambda r: rx.table.row(
                    rx.table.cell(r["name"]),
                    rx.table.cell(r["sku"]),
                    rx.table.cell(r["list_price"]),
                    rx.table.cell(
                        rx.input(
                            default_value=r["tier_price"],
                            input_mode="decimal",
                            width="110px",
                            aria_label="Tier price for " + r["name"],
                            aria_invalid=rx.cond(S.row_errors.contains(r["id"]), "true", "false"),
                            aria_describedby="tier-price-error-" + r["id"],
                            key=S.selected_tier + "-" + r["id"] + "-" + r["tier_price"],
                            on_blur=lambda v: S.set_tier_price(r["id"], v),
                        ),
                        rx.text(
                            S.row_errors.get(r["id"], "").to(str),
                            id="tier-price-error-" + r["id"],
                            size="1",
                            color_scheme="red",
                            data_testid="tier-price-error",
                        ),
                    ),
                ),
                size="1",
            ),
            max_height="560px",
            overflow_y="auto",
        ),
        width="100%",
    )


def _customers() -> rx.Component:
    return rx.card(
        rx.heading("Customers", size="4", as_="h2", margin_bottom="8px"),
        rx.cond(
            S.customers.length() == 0,
            rx.text("No customers yet: a retailer becomes a customer when you start trading.", size="2"),
        ),
        rx.vstack(
            rx.foreach(
                S.customers,
                lambda c: rx.hstack(
                    rx.el.label(
                        c["name"], html_for="customer-tier-" + c["id"], style={"flex": "1", "fontSize": "14px"}
                    ),
                    rx.el.select(
                        rx.el.option("List prices", value=NONE),
                        rx.foreach(S.tiers, lambda t: rx.el.option(t["name"], value=t["id"])),
                        id="customer-tier-" + c["id"],
                        value=c["tier"],
                        on_change=lambda v: S.assign(c["id"], v),
                        style=NATIVE_SELECT_STYLE | {"width": "200px"},
                    ),
                    rx.cond(c["on_hold"] == "yes", rx.badge("On hold", color_scheme="red")),
                    align="center",
                    width="100%",
                    spacing="3",
                ),
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
    )


@rx.page(route="/seller/pricing", title="Pricing · ReUp", on_load=S.load)
def seller_pricing() -> rx.Component:
    return page_shell(
        error_callout(S.error, margin_bottom="12px"),
        notice_callout(S.notice, margin_bottom="12px"),
        rx.grid(
            _tiers(),
            _customers(),
            columns=rx.breakpoints(initial="1", md="2"),
            spacing="4",
            width="100%",
            margin_bottom="16px",
        ),
        rx.cond(S.selected_tier != "", _tier_prices()),
        title="Pricing",
    )
