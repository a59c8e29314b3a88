"""/marketplace: the catalog of public listings with search, filters (category, strain type, THC and
price ranges, in stock), sort and paging."""

import reflex as rx

from reup_app import formatting as fmt
from reup_app.components.forms import labelled
from reup_app.components.product_image import product_image
from reup_app.components.shell import page_shell
from reup_app.components.status import SELECT_STYLE
from reup_app.state.catalog import ALL, SORT_OPTIONS, STRAIN_FILTERS, CatalogState

_SR_ONLY = {"position": "absolute", "left": "-9999px"}


def _controls() -> rx.Component:
    return rx.flex(
        rx.box(
            rx.el.label(
                "Search",
                html_for="catalog-search",
                class_name="sr-only",
                style={"position": "absolute", "left": "-9999px"},
            ),
            rx.debounce_input(
                rx.input(
                    id="catalog-search",
                    placeholder="Search products, brands, strains",
                    value=CatalogState.q,
                    on_change=CatalogState.set_q,
                    aria_label="Search",
                    size="3",
                    width="100%",
                ),
                debounce_timeout=300,
            ),
            flex="1",
            min_width="220px",
        ),
        rx.select.root(
            rx.select.trigger(placeholder="Category", aria_label="Category"),
            rx.select.content(
                rx.select.item("All categories", value=ALL),
                *[rx.select.item(label, value=value) for value, label in fmt.CATEGORY_LABELS.items()],
            ),
            value=CatalogState.category,
            on_change=CatalogState.set_category,
            size="3",
        ),
        rx.select.root(
            rx.select.trigger(aria_label="Seller"),
            rx.select.content(
                rx.select.item("All sellers", value=ALL),
                rx.foreach(CatalogState.sellers, lambda o: rx.select.item(o["label"], value=o["value"])),
            ),
            value=CatalogState.seller,
            on_change=CatalogState.set_seller,
            size="3",
        ),
        rx.select.root(
            rx.select.trigger(aria_label="Sort"),
            rx.select.content(*[rx.select.item(label, value=value) for value, label in SORT_OPTIONS]),
            value=CatalogState.sort,
            on_change=CatalogState.set_sort,
            size="3",
        ),
        gap="3",
        wrap="wrap",
        width="100%",
        margin_bottom="12px",
    )


def _range_input(text: str, name: str, value) -> rx.Component:
    input_id = f"catalog-{name}"
    return rx.box(
        labelled(
            text,
            input_id,
            rx.input(
                id=input_id, name=name, default_value=value, key=value, input_mode="decimal", size="2", width="96px"
            ),
        )
    )


def _filters() -> rx.Component:
    """Strain type, in stock, and THC % / price ranges (the ranges apply together)."""
    return rx.flex(
        rx.select.root(
            rx.select.trigger(aria_label="Strain type"),
            rx.select.content(*[rx.select.item(label, value=value) for value, label in STRAIN_FILTERS.items()]),
            value=CatalogState.strain_type,
            on_change=CatalogState.set_strain_type,
            size="2",
        ),
        rx.el.label(
            rx.hstack(
                rx.checkbox(
                    checked=CatalogState.in_stock, on_change=CatalogState.set_in_stock, aria_label="In stock only"
                ),
                rx.text("In stock only", size="2"),
                spacing="2",
                align="center",
            ),
        ),
        rx.form(
            rx.flex(
                _range_input("Min THC %", "thc_min", CatalogState.thc_min),
                _range_input("Max THC %", "thc_max", CatalogState.thc_max),
                _range_input("Min price", "price_min", CatalogState.price_min),
                _range_input("Max price", "price_max", CatalogState.price_max),
                rx.button("Apply", type="submit", size="2", variant="soft"),
                gap="2",
                align="end",
                wrap="wrap",
            ),
            on_submit=CatalogState.apply_ranges,
            reset_on_submit=False,
        ),
        gap="4",
        align="end",
        wrap="wrap",
        width="100%",
        margin_bottom="16px",
    )


def _quick_add(item: rx.Var) -> rx.Component:
    """Quantity (units, or cases when the product has a case size) and Add to cart, on the card."""
    qty_id = "qty-" + item["id"]
    return rx.form(
        rx.el.input(type="hidden", name="product_id", value=item["id"]),
        rx.hstack(
            rx.el.label("Quantity", html_for=qty_id, class_name="sr-only", style=_SR_ONLY),
            rx.input(id=qty_id, name="qty", default_value=item["moq"], input_mode="decimal", width="72px", size="2"),
            rx.cond(
                item["case_size"] != "",
                rx.el.select(
                    rx.el.option(item["unit"], value="unit"),
                    rx.el.option("cases of " + item["case_size"], value="case"),
                    name="per",
                    aria_label="Units or cases",
                    style={**SELECT_STYLE, "maxWidth": "130px"},
                ),
                rx.text(item["unit"], size="1", color_scheme="gray"),
            ),
            rx.button("Add to cart", type="submit", size="2", aria_label="Add to cart: " + item["name"]),
            spacing="2",
            align="center",
            wrap="wrap",
        ),
        rx.cond(
            CatalogState.added.contains(item["id"]),
            rx.text(CatalogState.added[item["id"]], " ", rx.link("View cart", href="/cart"), size="1", role="status"),
        ),
        rx.cond(
            CatalogState.add_errors.contains(item["id"]),
            rx.text(CatalogState.add_errors[item["id"]], size="1", color_scheme="red", role="alert"),
        ),
        on_submit=CatalogState.quick_add,
        reset_on_submit=False,
        width="100%",
    )


def _product_card(item: rx.Var) -> rx.Component:
    return rx.card(
        rx.vstack(
            product_image(item["image"], item["name"], srcset=item["srcset"]),
            rx.hstack(
                rx.badge(item["category"], variant="soft"),
                rx.cond(
                    item["strain_type"] != "", rx.badge(item["strain_type"], color_scheme="purple", variant="soft")
                ),
                rx.cond(item["listing"] == "backorder", rx.badge("Backorder", color_scheme="orange")),
                rx.cond(item["listing"] == "sample", rx.badge("Sample", color_scheme="blue")),
                spacing="2",
                wrap="wrap",
            ),
            rx.link(
                rx.heading(item["name"], size="4", as_="h3", class_name="product-name"),
                href="/products/" + item["id"],
                color_scheme="gray",
                high_contrast=True,
            ),
            rx.text(
                item["brand"],
                " · ",
                rx.link(item["seller"], href="/marketplace?seller=" + item["seller_id"], color_scheme="gray"),
                size="2",
                color_scheme="gray",
            ),
            rx.cond(item["strain"] != "", rx.text("Strain: ", item["strain"], size="2")),
            rx.hstack(
                rx.cond(item["thc"] != "", rx.text("THC ", item["thc"], size="2", weight="medium")),
                rx.cond(item["cbd"] != "", rx.text("CBD ", item["cbd"], size="2", weight="medium")),
                spacing="3",
            ),
            rx.text(item["price"], size="4", weight="bold"),
            rx.cond(item["case"] != "", rx.text(item["case"], size="2", color_scheme="gray")),
            rx.cond(
                item["in_stock"] == "yes",
                rx.text(item["available"], " available", size="2", color_scheme="grass"),
                rx.text("Out of stock", size="2", color_scheme="red"),
            ),
            rx.cond(CatalogState.can_order & (item["in_stock"] == "yes"), _quick_add(item)),
            spacing="2",
            align="start",
        ),
        width="100%",
        data_testid="product-card",
    )


def _pager() -> rx.Component:
    return rx.hstack(
        rx.button("Previous", on_click=CatalogState.prev_page, disabled=~CatalogState.has_prev, variant="soft"),
        rx.text("Page ", CatalogState.page, " of ", CatalogState.pages, size="2", data_testid="page-indicator"),
        rx.button("Next", on_click=CatalogState.next_page, disabled=~CatalogState.has_next, variant="soft"),
        justify="center",
        align="center",
        spacing="4",
        width="100%",
        margin_top="24px",
    )


@rx.page(route="/marketplace", title="Marketplace · ReUp", on_load=CatalogState.load)
def marketplace() -> rx.Component:
    return page_shell(
        rx.cond(
            CatalogState.seller_name != "",
            rx.hstack(
                rx.heading(CatalogState.seller_name, size="6", as_="h2", data_testid="storefront-name"),
                rx.link("All sellers", href="/marketplace", size="2"),
                align="baseline",
                spacing="3",
                margin_bottom="12px",
            ),
        ),
        _controls(),
        _filters(),
        rx.cond(
            CatalogState.error != "",
            rx.callout(
                CatalogState.error, icon="triangle_alert", color_scheme="red", margin_bottom="12px", role="alert"
            ),
        ),
        rx.text(
            CatalogState.total,
            " products",
            size="2",
            color_scheme="gray",
            margin_bottom="12px",
            data_testid="result-count",
        ),
        rx.cond(
            CatalogState.loaded & (CatalogState.total == 0),
            rx.vstack(
                rx.text("No products match your search."),
                rx.button("Clear filters", on_click=CatalogState.clear_filters, variant="outline"),
                align="center",
                padding_y="32px",
            ),
        ),
        rx.grid(
            rx.foreach(CatalogState.items, _product_card),
            columns=rx.breakpoints(initial="1", sm="2", md="3", lg="4"),
            spacing="4",
            width="100%",
        ),
        _pager(),
        title="Marketplace",
    )
