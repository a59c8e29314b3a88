"""/products/<id>: one product with its packages, live availability and add-to-cart."""

import reflex as rx

from reup_app.components.product_image import GALLERY_SIZES, product_image
from reup_app.components.shell import page_shell
from reup_app.components.status import SELECT_STYLE
from reup_app.state.auth import AuthState
from reup_app.state.product import ProductState

P = ProductState.product


def _fact(label: str, value) -> rx.Component:
    return rx.cond(
        value != "",
        rx.hstack(
            rx.text(label, size="2", color_scheme="gray", min_width="120px"), rx.text(value, size="2"), spacing="2"
        ),
    )


def _lot_row(lot: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.code(lot["package_label"])),
        rx.table.cell(lot["batch"]),
        rx.table.cell(
            rx.badge(
                lot["lab_status"],
                color_scheme=rx.match(lot["lab_state"], ("passed", "grass"), ("failed", "red"), "gray"),
            )
        ),
        rx.table.cell(lot["tested_on"]),
        rx.table.cell(lot["thc"]),
        rx.table.cell(lot["available"]),
        rx.table.cell(lot["expires"]),
        data_testid="lot-row",
    )


def _lots() -> rx.Component:
    return rx.box(
        rx.heading("Batches and lab results", size="4", as_="h2", margin_bottom="8px"),
        rx.cond(
            ProductState.lots.length() > 0,
            rx.box(
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            *[
                                rx.table.column_header_cell(h)
                                for h in (
                                    "Package label",
                                    "Batch",
                                    "Lab status",
                                    "Test date",
                                    "Lab THC",
                                    "Available",
                                    "Expires",
                                )
                            ]
                        )
                    ),
                    rx.table.body(rx.foreach(ProductState.lots, _lot_row)),
                    size="1",
                    width="100%",
                ),
                overflow_x="auto",
            ),
            rx.text("No packages in stock right now.", size="2", color_scheme="gray"),
        ),
        margin_top="24px",
    )


def _save_to_guide() -> rx.Component:
    """Put this product in one of the buyer's order guides, at a par quantity."""
    return rx.cond(
        ProductState.guides.length() > 0,
        rx.form(
            rx.text("Save to order guide", size="2", weight="medium"),
            rx.hstack(
                rx.el.select(
                    rx.foreach(ProductState.guides, lambda g: rx.el.option(g["label"], value=g["value"])),
                    name="guide",
                    aria_label="Order guide",
                    style={**SELECT_STYLE, "maxWidth": "200px"},
                ),
                rx.el.label("Par", html_for="guide-par", style={"fontSize": "13px"}),
                rx.input(
                    id="guide-par", name="par", default_value=ProductState.quantity, width="72px", input_mode="decimal"
                ),
                rx.button("Save", type="submit", size="2", variant="soft"),
                spacing="2",
                align="center",
                wrap="wrap",
            ),
            rx.cond(ProductState.guide_message != "", rx.text(ProductState.guide_message, size="1", role="status")),
            on_submit=ProductState.save_to_guide,
            reset_on_submit=False,
        ),
        rx.cond(
            ProductState.can_order,
            rx.link("Make an order guide", href="/order-guides", size="1"),
        ),
    )


def _add_to_cart() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(P["price"], size="6", weight="bold", data_testid="product-price"),
            rx.cond(P["list_price"] != "", rx.text("List price ", P["list_price"], size="2", color_scheme="gray")),
            rx.cond(P["case"] != "", rx.text(P["case"], size="2", color_scheme="gray")),
            rx.text("Minimum order: ", P["moq"], size="2"),
            rx.cond(
                ProductState.in_stock,
                rx.text(
                    ProductState.available,
                    " available",
                    size="3",
                    color_scheme="grass",
                    data_testid="product-availability",
                ),
                rx.text("Out of stock", size="3", color_scheme="red", data_testid="product-availability"),
            ),
            rx.cond(
                ProductState.in_stock,
                rx.vstack(
                    rx.el.label("Quantity", html_for="product-quantity", style={"fontSize": "14px"}),
                    rx.hstack(
                        rx.input(
                            id="product-quantity",
                            value=ProductState.quantity,
                            on_change=ProductState.set_quantity,
                            input_mode="decimal",
                            width="140px",
                        ),
                        rx.button("Add to cart", on_click=ProductState.add_to_cart, size="2"),
                        spacing="2",
                    ),
                    spacing="1",
                    align="start",
                ),
            ),
            rx.cond(
                ~AuthState.signed_in,
                rx.text(rx.link("Sign in", href="/login"), " as a retailer buyer to order.", size="2"),
                rx.cond(
                    ~ProductState.can_order,
                    rx.text("Only a retailer's owners, admins and buyers can order.", size="2", color_scheme="gray"),
                ),
            ),
            rx.cond(
                ProductState.cart_message != "",
                rx.callout(
                    rx.hstack(rx.text(ProductState.cart_message), rx.link("View cart", href="/cart")),
                    icon="check",
                    color_scheme="grass",
                    role="status",
                ),
            ),
            rx.cond(
                ProductState.cart_error != "",
                rx.callout(ProductState.cart_error, icon="triangle_alert", color_scheme="red", role="alert"),
            ),
            _save_to_guide(),
            spacing="3",
            align="start",
        ),
        width="100%",
        max_width="360px",
    )


def _thumb(url, index) -> rx.Component:
    return rx.el.button(
        rx.image(
            src=url,
            src_set=ProductState.image_srcsets[index],
            sizes="64px",
            alt="",
            loading="lazy",
            decoding="async",
            width="64px",
            height="48px",
            object_fit="cover",
        ),
        on_click=ProductState.show_image(index),
        aria_label="Show image " + (index + 1).to_string(),
        aria_pressed=rx.cond(ProductState.image_index == index, "true", "false"),
        style={"padding": "0", "border": "2px solid var(--gray-6)", "borderRadius": "4px", "cursor": "pointer"},
        data_testid="gallery-thumb",
    )


def _gallery() -> rx.Component:
    """The main picture (or the placeholder) and a row of thumbnails when there are several."""
    return rx.vstack(
        product_image(ProductState.image, P["name"], eager=True, srcset=ProductState.image_srcset, sizes=GALLERY_SIZES),
        rx.cond(
            ProductState.images.length() > 1,
            rx.hstack(rx.foreach(ProductState.images, _thumb), spacing="2", wrap="wrap"),
        ),
        spacing="2",
        width="100%",
        max_width="420px",
        data_testid="product-gallery",
    )


def _details() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.badge(P["category"], variant="soft"),
            rx.cond(P["strain_type"] != "", rx.badge(P["strain_type"], color_scheme="purple", variant="soft")),
            rx.cond(
                ProductState.in_stock | (P["listing"] != "Available"),
                rx.badge(P["listing"], color_scheme="blue", variant="soft", data_testid="listing-state"),
                rx.badge("Out of stock", color_scheme="red", variant="soft", data_testid="listing-state"),
            ),
            spacing="2",
            wrap="wrap",
        ),
        rx.heading(P["name"], size="7", as_="h1"),
        rx.text(P["brand"], " · ", P["seller"], size="3", color_scheme="gray", data_testid="product-seller"),
        _fact("SKU", P["sku"]),
        _fact("Strain", P["strain"]),
        _fact("THC", P["thc"]),
        _fact("CBD", P["cbd"]),
        rx.cond(P["description"] != "", rx.text(P["description"], size="2", margin_top="8px")),
        spacing="2",
        align="start",
        flex="1",
        min_width="260px",
    )


@rx.page(route="/products/[product_id]", title=ProductState.page_title, on_load=ProductState.load)
def product_page() -> rx.Component:
    return page_shell(
        rx.link("← Marketplace", href="/marketplace", size="2"),
        rx.cond(
            ProductState.error != "",
            rx.callout(ProductState.error, icon="triangle_alert", color_scheme="red", role="alert", margin_y="12px"),
        ),
        rx.cond(
            P.contains("name"),
            rx.box(
                rx.flex(
                    _gallery(), _details(), _add_to_cart(), gap="24px", wrap="wrap", width="100%", margin_top="12px"
                ),
                _lots(),
            ),
        ),
    )
