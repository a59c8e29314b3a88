"""/order-guides: a store's saved products with par quantities; add a whole guide to the cart."""

import reflex as rx

from reup_app.components.shell import page_shell
from reup_app.components.status import SELECT_STYLE
from reup_app.state.order_guides import GuideItemView, GuideView, OrderGuidesState, StoreOption

S = OrderGuidesState


def _item(guide_id, item: GuideItemView) -> rx.Component:
    par_id = "par-" + guide_id + "-" + item.product_id
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.link(item.name, href="/products/" + item.product_id, weight="medium"),
                rx.text(item.seller, size="1", color_scheme="gray"),
                spacing="0",
            )
        ),
        rx.table.cell(
            rx.hstack(
                rx.el.label("Par quantity", html_for=par_id, style={"position": "absolute", "left": "-9999px"}),
                rx.input(
                    id=par_id,
                    default_value=item.par,
                    key=par_id + "-" + item.par,
                    width="80px",
                    input_mode="decimal",
                    on_blur=lambda v: S.set_par(guide_id, item.product_id, v),
                ),
                rx.text(item.unit, size="1", color_scheme="gray"),
                align="center",
                spacing="1",
            )
        ),
        rx.table.cell(item.available),
        rx.table.cell(
            rx.button(
                "Remove",
                variant="ghost",
                color_scheme="red",
                size="1",
                aria_label="Remove " + item.name,
                on_click=S.remove_item(guide_id, item.product_id),
            )
        ),
        data_testid="guide-item",
    )


def _guide(guide: GuideView) -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.vstack(
                rx.heading(guide.name, size="4", as_="h2"),
                rx.text(guide.store, size="1", color_scheme="gray"),
                spacing="0",
            ),
            rx.spacer(),
            rx.button("Add all to cart", on_click=S.add_all(guide.id), disabled=guide.products.length() == 0),
            rx.button("Delete", variant="soft", color_scheme="red", on_click=S.delete_guide(guide.id)),
            align="center",
            width="100%",
            wrap="wrap",
        ),
        rx.cond(
            guide.products.length() == 0,
            rx.text("No products yet: open a product and use Save to order guide.", size="2", color_scheme="gray"),
            rx.box(
                rx.table.root(
                    rx.table.header(
                        rx.table.row(*[rx.table.column_header_cell(h) for h in ("Product", "Par", "In stock", "")])
                    ),
                    rx.table.body(rx.foreach(guide.products, lambda i: _item(guide.id, i))),
                    size="1",
                    width="100%",
                ),
                overflow_x="auto",
            ),
        ),
        width="100%",
        data_testid="order-guide",
    )


def _store(opt: StoreOption) -> rx.Component:
    return rx.el.option(opt.label, value=opt.value)


def _new_guide() -> rx.Component:
    return rx.form(
        rx.flex(
            rx.vstack(
                rx.el.label("New guide", html_for="guide-name", style={"fontSize": "13px"}),
                rx.input(id="guide-name", name="name", placeholder="e.g. Weekly restock", width="220px"),
                spacing="1",
            ),
            rx.vstack(
                rx.el.label("Store", html_for="guide-store", style={"fontSize": "13px"}),
                rx.el.select(
                    rx.foreach(S.stores, _store),
                    id="guide-store",
                    name="store",
                    value=S.store,
                    on_change=S.set_store,
                    # a long store name must not push the select past a phone's edge
                    style={**SELECT_STYLE, "minWidth": "220px", "maxWidth": "calc(100vw - 64px)"},
                ),
                spacing="1",
            ),
            rx.button("Create", type="submit"),
            gap="12px",
            align="end",
            wrap="wrap",
        ),
        on_submit=S.create,
        reset_on_submit=True,
        margin_bottom="16px",
    )


@rx.page(route="/order-guides", title="Order guides · ReUp", on_load=S.load)
def order_guides_page() -> rx.Component:
    return page_shell(
        rx.text(
            "Save the products each store buys regularly, with the quantity you keep on hand (par). "
            "Add all to cart brings your cart up to par.",
            size="2",
            color_scheme="gray",
            margin_bottom="12px",
        ),
        rx.cond(
            S.error != "",
            rx.callout(S.error, icon="triangle_alert", color_scheme="red", role="alert", margin_bottom="12px"),
        ),
        rx.cond(
            S.message != "",
            rx.callout(
                rx.hstack(rx.text(S.message), rx.link("View cart", href="/cart")),
                icon="check",
                color_scheme="grass",
                role="status",
                margin_bottom="12px",
            ),
        ),
        _new_guide(),
        rx.vstack(rx.foreach(S.guides, _guide), spacing="4", width="100%"),
        title="Order guides",
    )
