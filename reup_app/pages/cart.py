"""/cart: one cart across wholesalers, grouped per seller, with checkout choices per seller."""

import reflex as rx

from reup_app.components.shell import page_shell
from reup_app.components.status import SELECT_STYLE
from reup_app.state.cart import CartGroupView, CartLineView, CartState, Option, PlacedOrder, SkippedView


def _labelled(label: str, control_id, control: rx.Component) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=control_id, style={"fontSize": "13px"}), control, spacing="1", align="start"
    )


def _line(line: CartLineView) -> rx.Component:
    qty_id = "qty-" + line.item_id
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.link(line.name, href="/products/" + line.product_id, weight="medium"),
                rx.text(line.sku, size="1", color_scheme="gray"),
                rx.cond(line.issue != "", rx.text(line.issue, size="1", color_scheme="red", role="alert")),
                spacing="1",
                align="start",
            )
        ),
        rx.table.cell(line.price),
        rx.table.cell(
            rx.hstack(
                rx.el.label("Quantity", html_for=qty_id, style={"position": "absolute", "left": "-9999px"}),
                rx.input(
                    id=qty_id,
                    default_value=line.quantity,
                    key=line.item_id + "-" + line.quantity,
                    width="90px",
                    input_mode="decimal",
                    on_blur=lambda v: CartState.update_quantity(line.item_id, v),
                ),
                rx.text(line.unit, size="1", color_scheme="gray"),
                align="center",
                spacing="1",
            )
        ),
        rx.table.cell(line.total),
        rx.table.cell(
            rx.button(
                "Remove",
                variant="ghost",
                color_scheme="red",
                size="1",
                aria_label="Remove " + line.name,
                on_click=CartState.remove_item(line.item_id),
            )
        ),
        data_testid="cart-line",
    )


def _option(opt: Option) -> rx.Component:
    return rx.el.option(opt.label, value=opt.value)


def _choices(group: CartGroupView) -> rx.Component:
    sid = group.seller_id
    return rx.flex(
        _labelled(
            "Payment terms",
            "terms-" + sid,
            rx.el.select(
                rx.foreach(group.terms_offered, _option),
                id="terms-" + sid,
                value=group.terms,
                on_change=lambda v: CartState.set_choice(sid, "terms", v),
                style={**SELECT_STYLE, "minWidth": "180px"},
            ),
        ),
        _labelled(
            "Requested delivery date",
            "date-" + sid,
            rx.input(
                id="date-" + sid,
                type="date",
                value=group.date,
                on_change=lambda v: CartState.set_choice(sid, "date", v),
            ),
        ),
        _labelled(
            "Delivery preferences",
            "delivery-" + sid,
            rx.input(
                id="delivery-" + sid,
                default_value=group.delivery,
                placeholder="e.g. weekday mornings, loading dock",
                on_blur=lambda v: CartState.set_choice(sid, "delivery", v),
                width="260px",
            ),
        ),
        _labelled(
            "Notes for the seller",
            "notes-" + sid,
            rx.input(
                id="notes-" + sid,
                default_value=group.notes,
                on_blur=lambda v: CartState.set_choice(sid, "notes", v),
                width="260px",
            ),
        ),
        gap="16px",
        wrap="wrap",
        margin_top="12px",
    )


def _group(group: CartGroupView) -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.heading(group.seller_name, size="4", as_="h2"),
            rx.spacer(),
            rx.text("Subtotal ", rx.text.strong(group.subtotal), size="3", data_testid="group-subtotal"),
            align="center",
            width="100%",
        ),
        rx.box(
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        *[rx.table.column_header_cell(h) for h in ("Product", "Price", "Quantity", "Total", "")]
                    )
                ),
                rx.table.body(rx.foreach(group.lines, _line)),
                size="1",
                width="100%",
            ),
            overflow_x="auto",
            margin_top="8px",
        ),
        rx.cond(
            group.hold_message != "",
            rx.callout(group.hold_message, icon="ban", color_scheme="red", role="alert", margin_top="8px"),
        ),
        rx.cond(
            group.minimum_message != "",
            rx.callout(group.minimum_message, icon="info", color_scheme="orange", role="alert", margin_top="8px"),
        ),
        rx.cond(
            group.license_orders.length() > 1,
            rx.callout(
                rx.vstack(
                    rx.text(
                        "Ships as ",
                        group.license_orders.length(),
                        " orders, one per seller license (an order ships from one license's stock):",
                    ),
                    rx.foreach(group.license_orders, lambda t: rx.text(t, size="1")),
                    spacing="1",
                ),
                icon="split",
                color_scheme="blue",
                margin_top="8px",
                data_testid="license-split",
            ),
        ),
        _choices(group),
        width="100%",
        data_testid="cart-group",
    )


def _placed(order: PlacedOrder) -> rx.Component:
    return rx.hstack(
        rx.link(order.number, href="/orders/" + order.number, weight="medium"),
        rx.text(order.seller, " · ", order.total, size="2"),
        spacing="2",
        data_testid="placed-order",
    )


def _skipped(item: SkippedView) -> rx.Component:
    return rx.text(rx.text.strong(item.seller), ": ", item.reason, size="2", data_testid="skipped-seller")


def _confirmation() -> rx.Component:
    return rx.vstack(
        rx.cond(
            CartState.placed.length() > 0,
            rx.callout(
                rx.vstack(
                    rx.text(CartState.message, weight="bold"),
                    rx.foreach(CartState.placed, _placed),
                    rx.link("All orders", href="/orders", size="2"),
                    spacing="1",
                ),
                icon="check",
                color_scheme="grass",
                role="status",
                width="100%",
                data_testid="checkout-confirmation",
            ),
        ),
        rx.cond(
            CartState.skipped.length() > 0,
            rx.callout(
                rx.vstack(
                    rx.text("Not ordered (still in your cart):", weight="bold"),
                    rx.foreach(CartState.skipped, _skipped),
                    spacing="1",
                ),
                icon="triangle_alert",
                color_scheme="orange",
                role="alert",
                width="100%",
            ),
        ),
        width="100%",
        spacing="2",
        margin_bottom="12px",
    )


def _checkout() -> rx.Component:
    return rx.card(
        rx.flex(
            _labelled(
                "Receiving license",
                "buyer-license",
                rx.el.select(
                    rx.foreach(CartState.licenses, _option),
                    id="buyer-license",
                    value=CartState.license_id,
                    on_change=CartState.set_license,
                    style={**SELECT_STYLE, "minWidth": "260px"},
                ),
            ),
            rx.spacer(),
            rx.vstack(
                rx.text("Cart total ", rx.text.strong(CartState.subtotal), size="4"),
                rx.button(
                    "Place orders",
                    size="3",
                    on_click=CartState.place_orders,
                    disabled=CartState.placing | (CartState.ready_count == 0),
                    loading=CartState.placing,
                ),
                rx.cond(
                    (CartState.ready_count > 0) & (CartState.ready_count < CartState.groups.length()),
                    rx.text(
                        "Only sellers without a message above are ordered now; the rest stays in your cart.",
                        size="1",
                        color_scheme="gray",
                    ),
                ),
                rx.cond(
                    CartState.ready_count == 0,
                    rx.text("Nothing can be ordered yet: see the messages above.", size="1", color_scheme="gray"),
                ),
                align="end",
                spacing="2",
            ),
            gap="16px",
            wrap="wrap",
            align="end",
            width="100%",
        ),
        width="100%",
    )


@rx.page(route="/cart", title="Cart · ReUp", on_load=CartState.load)
def cart_page() -> rx.Component:
    return page_shell(
        rx.cond(
            CartState.error != "",
            rx.callout(CartState.error, icon="triangle_alert", color_scheme="red", role="alert", margin_bottom="12px"),
        ),
        rx.cond(
            (CartState.message != "") & (CartState.placed.length() == 0),
            rx.callout(CartState.message, icon="check", color_scheme="grass", role="status", margin_bottom="12px"),
        ),
        _confirmation(),
        rx.cond(
            CartState.loaded & (CartState.groups.length() == 0),
            rx.vstack(
                rx.text("Your cart is empty."),
                rx.link("Browse the marketplace", href="/marketplace"),
                rx.link("Order from a saved order guide", href="/order-guides"),
                align="start",
            ),
        ),
        rx.cond(
            CartState.groups.length() > 0,
            rx.link("Order guides", href="/order-guides", size="2", margin_bottom="8px"),
        ),
        rx.vstack(rx.foreach(CartState.groups, _group), spacing="4", width="100%"),
        rx.cond(CartState.groups.length() > 0, rx.box(_checkout(), margin_top="16px", width="100%")),
        title="Cart",
    )
