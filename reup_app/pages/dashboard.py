"""/dashboard: wholesaler queues and sales charts; retailer open orders, spend by vendor, reorders."""

from __future__ import annotations

import reflex as rx

from reup_app.components.forms import data_table, error_callout
from reup_app.components.shell import page_shell
from reup_app.state.dashboard import PERIODS, SERIES_KEYS
from reup_app.state.dashboard import DashboardState as S

QUEUES = [("incoming", "Incoming"), ("backorder", "Backorder"), ("fulfillment", "To fulfill"), ("shipment", "To ship")]
COLORS = ["#2f9e44", "#1c7ed6", "#f59f00", "#ae3ec9", "#e8590c", "#868e96"]


def _period_selector() -> rx.Component:
    return rx.hstack(
        rx.el.label("Period", html_for="dashboard-period", style={"fontWeight": "500"}),
        rx.el.select(
            *[rx.el.option(label, value=days) for days, (_, label) in PERIODS.items()],
            id="dashboard-period",
            value=S.period,
            on_change=S.set_period,
            style={"padding": "6px 8px", "borderRadius": "6px", "border": f"1px solid {rx.color('gray', 7)}"},
        ),
        align="center",
        spacing="2",
        margin_bottom="16px",
    )


def _stat(label: str, value: rx.Var, sub: rx.Var | None = None) -> rx.Component:
    return rx.card(
        rx.text(label, size="2", color_scheme="gray"),
        rx.text(value, size="6", weight="bold"),
        rx.text(sub, size="1", color_scheme="gray") if sub is not None else rx.fragment(),
        min_width="160px",
        flex="1",
    )


def _order_list(title: str, rows: rx.Var, count: rx.Var, party: str, testid: str) -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.heading(title, size="4", as_="h3"),
            rx.badge(count, variant="soft", radius="full"),
            align="center",
            spacing="2",
        ),
        rx.cond(
            rows.length() == 0,
            rx.text("Nothing here.", size="2", color_scheme="gray", padding_top="8px"),
            rx.vstack(
                rx.foreach(
                    rows,
                    lambda o: rx.hstack(
                        rx.link(o["number"], href="/orders/" + o["number"], weight="medium"),
                        rx.text(o[party], size="2", flex="1"),
                        rx.text(o["total"], size="2"),
                        rx.text(o["submitted"], size="1", color_scheme="gray"),
                        width="100%",
                        spacing="3",
                        align="center",
                    ),
                ),
                spacing="2",
                width="100%",
                padding_top="8px",
            ),
        ),
        width="100%",
        data_testid=testid,
    )


def _stacked_bars(data: rx.Var, names: rx.Var, label: str) -> rx.Component:
    return rx.recharts.bar_chart(
        rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
        rx.recharts.x_axis(data_key="bucket"),
        rx.recharts.y_axis(),
        rx.recharts.graphing_tooltip(),
        rx.recharts.legend(),
        *[
            rx.recharts.bar(
                data_key=key,
                stack_id="a",
                name=names[i],
                fill=COLORS[i],
                legend_type=rx.cond(names[i] != "", "square", "none"),
                is_animation_active=False,
            )
            for i, key in enumerate(SERIES_KEYS)
        ],
        data=data,
        width="100%",
        height=280,
        aria_label=label,
    )


def _totals_table(title: str, rows: rx.Var) -> rx.Component:
    return rx.card(
        rx.heading(title, size="3", as_="h3", margin_bottom="8px"),
        data_table(
            ["Name", "Sales", "Qty", "Orders"],
            rows,
            lambda r: rx.table.row(
                rx.table.cell(r["label"]),
                rx.table.cell(r["amount"]),
                rx.table.cell(r["quantity"]),
                rx.table.cell(r["orders"]),
            ),
            scroll=False,
            size="1",
        ),
        width="100%",
    )


def _chart_card(title: str, chart: rx.Component, testid: str) -> rx.Component:
    return rx.card(rx.heading(title, size="4", as_="h3", margin_bottom="8px"), chart, width="100%", data_testid=testid)


def _wholesaler() -> rx.Component:
    return rx.vstack(
        rx.flex(
            *[
                rx.card(
                    rx.text(title, size="2", color_scheme="gray"),
                    rx.text(S.queue_counts[name], size="7", weight="bold"),
                    min_width="140px",
                    flex="1",
                    data_testid=f"queue-{name}",
                )
                for name, title in QUEUES
            ],
            _stat("Sales in period", S.sales_total, S.sales_orders + " orders"),
            _stat("Receivables", S.receivables, S.receivables_note),
            gap="12px",
            wrap="wrap",
            width="100%",
        ),
        rx.grid(
            _order_list("Incoming orders", S.incoming, S.queue_counts["incoming"], "buyer", "incoming-queue"),
            _order_list("To fulfill", S.fulfillment, S.queue_counts["fulfillment"], "buyer", "fulfillment-queue"),
            _order_list("To ship", S.shipment, S.queue_counts["shipment"], "buyer", "shipment-queue"),
            _order_list("Backorder", S.backorder, S.queue_counts["backorder"], "buyer", "backorder-queue"),
            columns=rx.breakpoints(initial="1", md="2"),
            spacing="3",
            width="100%",
        ),
        _chart_card(
            "Sales over time",
            rx.recharts.area_chart(
                rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
                rx.recharts.x_axis(data_key="bucket"),
                rx.recharts.y_axis(),
                rx.recharts.graphing_tooltip(),
                rx.recharts.area(
                    data_key="sales",
                    name="Sales ($)",
                    stroke=COLORS[0],
                    fill=COLORS[0],
                    fill_opacity=0.3,
                    is_animation_active=False,
                ),
                data=S.sales_over_time,
                width="100%",
                height=240,
            ),
            "sales-chart",
        ),
        rx.grid(
            _chart_card(
                "Sales by product",
                _stacked_bars(S.product_chart, S.product_series, "Sales by product"),
                "product-chart",
            ),
            _chart_card(
                "Sales by customer",
                _stacked_bars(S.customer_chart, S.customer_series, "Sales by customer"),
                "customer-chart",
            ),
            columns=rx.breakpoints(initial="1", lg="2"),
            spacing="3",
            width="100%",
        ),
        rx.grid(
            _totals_table("Top products", S.top_products),
            _totals_table("Top customers", S.top_customers),
            columns=rx.breakpoints(initial="1", md="2"),
            spacing="3",
            width="100%",
        ),
        spacing="4",
        width="100%",
    )


def _retailer() -> rx.Component:
    return rx.vstack(
        rx.flex(
            _stat("Open orders", S.open_count),
            _stat("Spend in period", S.spend_total),
            _stat("Payables", S.payables, S.payables_note),
            gap="12px",
            wrap="wrap",
            width="100%",
        ),
        rx.grid(
            _order_list("Open orders", S.open_orders, S.open_count, "seller", "open-orders"),
            _chart_card(
                "Spend by vendor",
                rx.recharts.bar_chart(
                    rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
                    rx.recharts.x_axis(data_key="vendor"),
                    rx.recharts.y_axis(),
                    rx.recharts.graphing_tooltip(),
                    rx.recharts.bar(data_key="amount", name="Spend ($)", fill=COLORS[1], is_animation_active=False),
                    data=S.spend_chart,
                    width="100%",
                    height=260,
                ),
                "spend-chart",
            ),
            columns=rx.breakpoints(initial="1", md="2"),
            spacing="3",
            width="100%",
        ),
        rx.card(
            rx.heading("Recently ordered", size="4", as_="h3", margin_bottom="8px"),
            rx.cond(S.recently_ordered.length() == 0, rx.text("No orders yet.", size="2", color_scheme="gray")),
            rx.vstack(
                rx.foreach(
                    S.recently_ordered,
                    lambda r: rx.hstack(
                        rx.link(r["name"], href="/products/" + r["product_id"], weight="medium"),
                        rx.text(r["seller"], size="2", color_scheme="gray", flex="1"),
                        rx.text(r["quantity"], " @ ", r["price"], size="2"),
                        rx.link(r["order_number"], href="/orders/" + r["order_number"], size="2"),
                        rx.cond(
                            r["orderable"] == "yes",
                            rx.badge("Available", color_scheme="grass"),
                            rx.badge("Unavailable", color_scheme="gray"),
                        ),
                        width="100%",
                        spacing="3",
                        align="center",
                    ),
                ),
                spacing="2",
                width="100%",
            ),
            width="100%",
            data_testid="recently-ordered",
        ),
        spacing="4",
        width="100%",
    )


@rx.page(route="/dashboard", title="Dashboard · ReUp", on_load=S.load)
def dashboard() -> rx.Component:
    return page_shell(
        _period_selector(),
        error_callout(S.error, margin_bottom="12px"),
        rx.cond(
            S.show_seller,
            rx.vstack(
                rx.cond(S.show_buyer, rx.heading("Selling", size="5", as_="h2")),
                _wholesaler(),
                width="100%",
                margin_bottom="24px",
            ),
        ),
        rx.cond(
            S.show_buyer,
            rx.vstack(rx.cond(S.show_seller, rx.heading("Buying", size="5", as_="h2")), _retailer(), width="100%"),
        ),
        rx.cond(
            S.loaded & ~S.show_seller & ~S.show_buyer,
            rx.text("Dashboards are for members of a business.", color_scheme="gray"),
        ),
        title="Dashboard",
    )
