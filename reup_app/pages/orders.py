"""/orders: the business's orders, bought and sold, with status filter and paging."""

import reflex as rx

from reup_app.components.shell import page_shell
from reup_app.components.status import status_badge
from reup_app.state.orders import ALL, SIDE_FILTERS, SORT_OPTIONS, STATUS_FILTERS, OrdersState


def _filters() -> rx.Component:
    return rx.flex(
        rx.debounce_input(
            rx.input(
                placeholder="Order number or business",
                value=OrdersState.search,
                on_change=OrdersState.set_search,
                aria_label="Search orders",
                width="240px",
            ),
            debounce_timeout=300,
        ),
        rx.select.root(
            rx.select.trigger(aria_label="Status"),
            rx.select.content(*[rx.select.item(label, value=value) for value, label in STATUS_FILTERS]),
            value=OrdersState.status,
            on_change=OrdersState.set_status,
        ),
        rx.select.root(
            rx.select.trigger(aria_label="Side"),
            rx.select.content(*[rx.select.item(label, value=value) for value, label in SIDE_FILTERS]),
            value=OrdersState.side,
            on_change=OrdersState.set_side,
        ),
        rx.select.root(
            rx.select.trigger(aria_label="Business"),
            rx.select.content(
                rx.select.item("All businesses", value=ALL),
                rx.foreach(OrdersState.counterparties, lambda c: rx.select.item(c["label"], value=c["value"])),
            ),
            value=OrdersState.counterparty,
            on_change=OrdersState.set_counterparty,
        ),
        rx.hstack(
            rx.el.label("From", html_for="orders-from", style={"fontSize": "13px"}),
            rx.input(
                id="orders-from", type="date", value=OrdersState.placed_from, on_change=OrdersState.set_placed_from
            ),
            rx.el.label("To", html_for="orders-to", style={"fontSize": "13px"}),
            rx.input(id="orders-to", type="date", value=OrdersState.placed_to, on_change=OrdersState.set_placed_to),
            align="center",
            spacing="2",
        ),
        rx.select.root(
            rx.select.trigger(aria_label="Sort"),
            rx.select.content(*[rx.select.item(label, value=value) for value, label in SORT_OPTIONS]),
            value=OrdersState.sort,
            on_change=OrdersState.set_sort,
        ),
        rx.spacer(),
        rx.text(OrdersState.total, " orders", size="2", color_scheme="gray", data_testid="order-count"),
        rx.button("Export orders (CSV)", variant="soft", size="2", on_click=OrdersState.download_csv("orders")),
        rx.button("Export lines (CSV)", variant="soft", size="2", on_click=OrdersState.download_csv("lines")),
        gap="12px",
        wrap="wrap",
        align="center",
        width="100%",
        margin_bottom="12px",
    )


def _row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(row["number"], href="/orders/" + row["number"], weight="medium")),
        rx.table.cell(
            rx.vstack(rx.text(row["counterparty"]), rx.text(row["side"], size="1", color_scheme="gray"), spacing="0")
        ),
        rx.table.cell(status_badge(row["status"], row["status_label"])),
        rx.table.cell(row["total"]),
        rx.table.cell(row["terms"]),
        rx.table.cell(row["placed"]),
        rx.table.cell(row["updated"]),
        data_testid="order-row",
    )


@rx.page(route="/orders", title="Orders · ReUp", on_load=OrdersState.load)
def orders_page() -> rx.Component:
    return page_shell(
        _filters(),
        rx.cond(
            OrdersState.error != "",
            rx.callout(
                OrdersState.error, icon="triangle_alert", color_scheme="red", role="alert", margin_bottom="12px"
            ),
        ),
        rx.cond(OrdersState.loaded & (OrdersState.total == 0), rx.text("No orders match.", color_scheme="gray")),
        rx.box(
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        *[
                            rx.table.column_header_cell(h)
                            for h in ("Order", "Counterparty", "Status", "Total", "Terms", "Placed", "Updated")
                        ]
                    )
                ),
                rx.table.body(rx.foreach(OrdersState.rows, _row)),
                width="100%",
            ),
            overflow_x="auto",
        ),
        rx.hstack(
            rx.button("Previous", on_click=OrdersState.prev_page, disabled=OrdersState.page <= 1, variant="soft"),
            rx.text("Page ", OrdersState.page, " of ", OrdersState.pages, size="2"),
            rx.button(
                "Next", on_click=OrdersState.next_page, disabled=OrdersState.page >= OrdersState.pages, variant="soft"
            ),
            justify="center",
            align="center",
            spacing="4",
            width="100%",
            margin_top="16px",
        ),
        title="Orders",
    )
