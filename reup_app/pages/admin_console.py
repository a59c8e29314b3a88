"""The platform admin console: support view picker, platform metrics, integration health.
(/admin/businesses, /admin/users, /admin/emails and /admin/jobs live in admin.py, admin_jobs.py.)"""

import reflex as rx

from reup_app.components.admin import admin_nav
from reup_app.components.forms import data_table, error_callout, field, label, native_select, notice_callout
from reup_app.components.shell import page_shell
from reup_app.state.admin_console import AdminIntegrationsState as H
from reup_app.state.admin_console import AdminMetricsState as M
from reup_app.state.admin_console import AdminSupportState as V


@rx.page(route="/admin/support", title="View as business · ReUp admin", on_load=V.load)
def admin_support() -> rx.Component:
    return page_shell(
        rx.vstack(
            admin_nav(),
            rx.text(
                "Open a business's Orders, Dashboard and Team as its members see them, to help them. "
                "The view is read-only (nothing can be changed) and the business's audit trail records "
                "who looked and why.",
                size="2",
            ),
            error_callout(V.error),
            rx.form(
                rx.vstack(
                    rx.box(
                        label("Business", "support-entity"),
                        rx.el.select(
                            rx.foreach(V.businesses, lambda b: rx.el.option(b[1], value=b[0])),
                            id="support-entity",
                            name="entity_id",
                            style={"width": "100%", "padding": "8px"},
                        ),
                        width="100%",
                    ),
                    field("Reason", "reason", prefix="support", placeholder="Ticket 123: orders not showing"),
                    rx.button("Open read-only view", type="submit"),
                    spacing="3",
                    width="100%",
                    max_width="560px",
                ),
                on_submit=V.start,
                reset_on_submit=False,
            ),
            spacing="4",
            width="100%",
        ),
        title="View as business",
    )


def _figure(text: str, value, testid: str) -> rx.Component:
    return rx.card(
        rx.text(text, size="2", high_contrast=True),
        rx.text(value, size="6", weight="bold", as_="p", data_testid=testid),
        min_width="180px",
    )


def _chart_card(title: str, chart: rx.Component) -> rx.Component:
    return rx.card(rx.heading(title, size="3", as_="h2", margin_bottom="8px"), chart, width="100%")


def _bars(data_key: str, x_key: str, data, color: str, *, layout: str = "horizontal") -> rx.Component:
    axes = (
        [rx.recharts.x_axis(data_key=x_key), rx.recharts.y_axis(allow_decimals=False)]
        if layout == "horizontal"
        else [
            rx.recharts.x_axis(type_="number", allow_decimals=False),
            rx.recharts.y_axis(data_key=x_key, type_="category", width=90),
        ]
    )
    return rx.recharts.bar_chart(
        rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
        *axes,
        rx.recharts.graphing_tooltip(),
        rx.recharts.bar(data_key=data_key, fill=color, is_animation_active=False),
        data=data,
        layout=layout,
        width="100%",
        height=240,
    )


def _line(data_key: str, data, color: str) -> rx.Component:
    return rx.recharts.line_chart(
        rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
        rx.recharts.x_axis(data_key="day"),
        rx.recharts.y_axis(),
        rx.recharts.graphing_tooltip(),
        rx.recharts.line(data_key=data_key, stroke=color, dot=False, is_animation_active=False),
        data=data,
        width="100%",
        height=240,
    )


@rx.page(route="/admin/metrics", title="Platform metrics · ReUp admin", on_load=M.load)
def admin_metrics() -> rx.Component:
    return page_shell(
        rx.vstack(
            admin_nav(),
            rx.hstack(
                label("Period", "metrics-days"),
                native_select(
                    "metrics-days",
                    [("7", "Last 7 days"), ("30", "Last 30 days"), ("90", "Last 90 days")],
                    value=M.days.to(str),
                    on_change=M.set_days,
                ),
                align="center",
                spacing="3",
            ),
            error_callout(M.error),
            rx.hstack(
                _figure("GMV (order totals)", M.gmv, "metric-gmv"),
                _figure("Orders placed", M.orders.to(str), "metric-orders"),
                _figure("Active businesses", M.active_businesses.to(str), "metric-active"),
                spacing="3",
                wrap="wrap",
            ),
            rx.grid(
                _chart_card("GMV per day", _line("gmv", M.series, "var(--grass-11)")),
                _chart_card("Orders per day", _bars("orders", "day", M.series, "var(--blue-10)")),
                _chart_card("Active businesses per day", _line("active", M.series, "var(--violet-10)")),
                _chart_card("Order funnel", _bars("orders", "stage", M.funnel, "var(--amber-10)", layout="vertical")),
                columns=rx.breakpoints(initial="1", md="2"),
                spacing="4",
                width="100%",
                data_testid="metric-charts",
            ),
            spacing="4",
            width="100%",
        ),
        title="Platform metrics",
    )


def _health_row(c) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.vstack(rx.text(c["business"], weight="medium"), rx.text(c["license"], size="1"), spacing="0")),
        rx.table.cell(c["provider"]),
        rx.table.cell(c["status"]),
        rx.table.cell(c["last_sync"]),
        rx.table.cell(c["failed"]),
        rx.table.cell(rx.text(c["error"], size="1", style={"wordBreak": "break-word"})),
        rx.table.cell(
            rx.button(
                "Retry",
                size="1",
                variant="soft",
                on_click=H.retry(c["id"]),
                aria_label="Retry sync of " + c["business"] + " " + c["license"],
            )
        ),
        data_testid="connection-health",
    )


@rx.page(route="/admin/integrations", title="Integration health · ReUp admin", on_load=H.load)
def admin_integrations() -> rx.Component:
    return page_shell(
        rx.vstack(
            admin_nav(),
            error_callout(H.error),
            notice_callout(H.notice),
            rx.cond(
                H.connections.length() > 0,
                data_table(
                    ["Business / licence", "Vendor", "Status", "Last sync", "Failed runs (7 days)", "Last error", ""],
                    H.connections,
                    _health_row,
                ),
                rx.text("No connections yet.", size="2"),
            ),
            spacing="4",
            width="100%",
        ),
        title="Integration health",
    )
