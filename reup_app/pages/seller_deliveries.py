"""/seller/deliveries: today's and upcoming deliveries grouped by status, late ones flagged, live."""

from __future__ import annotations

import reflex as rx

from reup_app.components.forms import data_table
from reup_app.components.shell import page_shell
from reup_app.state.deliveries import BOARD_GROUPS
from reup_app.state.deliveries import DeliveriesBoardState as S

HEADERS = ["Order", "Buyer", "Status", "Scheduled", "ETA", "Driver", "Vehicle"]


def _row(r: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(r["number"], href="/orders/" + r["number"])),
        rx.table.cell(r["buyer"]),
        rx.table.cell(
            rx.flex(
                rx.badge(r["status_label"]),
                rx.cond(r["late"] == "yes", rx.badge("Late", color_scheme="red")),
                rx.cond(r["problem"] == "yes", rx.badge("Problem reported", color_scheme="amber")),
                gap="4px",
            )
        ),
        rx.table.cell(r["scheduled"]),
        rx.table.cell(r["eta"]),
        rx.table.cell(
            rx.vstack(
                rx.text(r["driver"]),
                rx.cond(
                    r["driver_change"] != "",
                    rx.badge("Driver changed", color_scheme="orange", data_testid="delivery-driver-changed"),
                ),
                rx.cond(r["driver_change"] != "", rx.text(r["driver_change"], size="1", color_scheme="gray")),
                spacing="1",
            )
        ),
        rx.table.cell(r["vehicle"]),
        data_testid="delivery-row",
    )


def _group(status: str, label: str) -> rx.Component:
    rows = S.by_status.get(status, [])
    return rx.cond(
        rows.length() > 0,
        rx.vstack(
            rx.heading(label, " (", rows.length().to_string(), ")", size="3", as_="h2"),
            data_table(HEADERS, rows, _row, size="1"),
            spacing="2",
            width="100%",
            data_testid=f"delivery-group-{status}",
        ),
    )


@rx.page(route="/seller/deliveries", title="Deliveries · ReUp", on_load=S.load)
def seller_deliveries_page() -> rx.Component:
    return page_shell(
        rx.heading("Deliveries", size="6", as_="h1"),
        rx.text("Today's and upcoming deliveries through Fleetbase, updated live.", color_scheme="gray"),
        rx.cond(S.error != "", rx.callout(S.error, icon="triangle_alert", color_scheme="red", role="alert")),
        rx.cond(
            S.late_count > 0,
            rx.callout(S.late_count.to_string() + " delivery(ies) past their ETA.", icon="clock", color_scheme="red"),
        ),
        rx.cond(S.loaded & (S.total == 0), rx.text("No deliveries today or coming up.")),
        *[_group(status, label) for status, label in BOARD_GROUPS],
    )
