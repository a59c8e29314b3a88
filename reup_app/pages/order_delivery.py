"""Order page part: the Fleetbase delivery panel both parties see, live (status timeline, driver and
vehicle, ETA, the route drawn by the app, proof of delivery), the buyer's "report a problem", and
the seller's "Cancel delivery" (offered only before the driver starts; a dialog asks why)."""

import reflex as rx

from reup_app.state.deliveries import PROBLEM_KINDS
from reup_app.state.order_detail import OrderDetailState

S = OrderDetailState
D = S.delivery


def _fact(label: str, value, testid: str) -> rx.Component:
    return rx.cond(
        value != "",
        rx.vstack(
            rx.text(label, size="1", color_scheme="gray"), rx.text(value, size="2", data_testid=testid), spacing="0"
        ),
    )


def _step(step: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.icon("circle_check", color="var(--grass-9)", size=14),
        rx.text(step["label"], size="2"),
        rx.text(step["when"], size="1", color_scheme="gray"),
        spacing="2",
        align="center",
        data_testid="delivery-step",
    )


def _report_problem() -> rx.Component:
    return rx.cond(
        D["can_report"] == "yes",
        rx.vstack(
            rx.text("Something wrong with this delivery?", weight="medium", size="2"),
            rx.flex(
                rx.el.select(
                    *[rx.el.option(label, value=key) for key, label in PROBLEM_KINDS],
                    value=S.problem_kind,
                    on_change=S.set_problem_kind,
                    aria_label="What went wrong",
                    style={"padding": "4px 6px", "borderRadius": "6px", "minHeight": "32px"},
                ),
                rx.input(
                    value=S.problem_text,
                    on_change=S.set_problem_text,
                    placeholder="What was short or damaged?",
                    aria_label="Describe the problem",
                    width="320px",
                ),
                rx.button("Report a problem", on_click=S.report_problem, color_scheme="red", variant="soft"),
                gap="8px",
                wrap="wrap",
            ),
            spacing="1",
            margin_top="12px",
        ),
    )


def _cancel_delivery() -> rx.Component:
    return rx.cond(
        D["can_cancel"] == "yes",
        rx.alert_dialog.root(
            rx.alert_dialog.trigger(
                rx.button(
                    "Cancel delivery",
                    color_scheme="red",
                    variant="soft",
                    margin_top="12px",
                    on_click=S.ask_cancel_delivery(True),
                    data_testid="cancel-delivery",
                )
            ),
            rx.alert_dialog.content(
                rx.alert_dialog.title("Cancel this delivery in Fleetbase?"),
                rx.alert_dialog.description(
                    "The driver is told not to come. The order stays shipped; you decide what happens next.",
                    size="2",
                ),
                rx.vstack(
                    rx.el.label("Why? (required; the buyer reads it)", html_for="delivery-cancel-reason"),
                    rx.text_area(
                        id="delivery-cancel-reason",
                        value=S.delivery_cancel_reason,
                        on_change=S.set_delivery_cancel_reason,
                        max_length=500,
                        rows="3",
                        width="100%",
                    ),
                    rx.cond(S.error != "", rx.text(S.error, size="2", color_scheme="red", role="alert")),
                    spacing="1",
                    width="100%",
                    margin_top="12px",
                ),
                rx.flex(
                    rx.alert_dialog.cancel(
                        rx.button(
                            "Keep delivery",
                            variant="soft",
                            color_scheme="gray",
                            on_click=S.ask_cancel_delivery(False),
                        )
                    ),
                    rx.button(
                        "Cancel delivery",
                        color_scheme="red",
                        on_click=S.cancel_delivery,
                        data_testid="confirm-cancel-delivery",
                    ),
                    gap="3",
                    justify="end",
                    margin_top="16px",
                ),
            ),
            open=S.confirming_delivery_cancel,
            on_open_change=S.ask_cancel_delivery,
        ),
    )


def delivery_panel() -> rx.Component:
    """The delivery once the order has shipped."""
    return rx.cond(
        D.contains("status"),
        rx.card(
            rx.flex(
                rx.heading("Delivery", size="4", as_="h2"),
                rx.badge(D["status_label"], data_testid="delivery-status", size="2"),
                rx.cond(D["late"] == "yes", rx.badge("Late", color_scheme="red", data_testid="delivery-late")),
                gap="8px",
                align="center",
                margin_bottom="8px",
            ),
            rx.cond(
                D["note"] != "", rx.callout(D["note"], icon="clock", color_scheme="amber", data_testid="delivery-note")
            ),
            rx.cond(
                D["driver_change"] != "",
                rx.callout(
                    D["driver_change"],
                    icon="user_round_pen",
                    color_scheme="orange",
                    margin_top="4px",
                    data_testid="delivery-driver-change",
                ),
            ),
            rx.flex(
                rx.vstack(
                    rx.flex(
                        _fact("Driver", D["driver"], "delivery-driver"),
                        _fact("Vehicle", D["vehicle"], "delivery-vehicle"),
                        _fact("ETA", D["eta"], "delivery-eta"),
                        _fact("Progress", D["progress"], "delivery-progress"),
                        _fact("Tracking", D["tracking"], "delivery-tracking"),
                        _fact("Delivered", D["delivered"], "delivery-delivered"),
                        gap="20px",
                        wrap="wrap",
                    ),
                    rx.vstack(rx.foreach(S.delivery_steps, _step), spacing="1", margin_top="8px"),
                    spacing="2",
                ),
                rx.cond(
                    D["route"] != "",
                    rx.image(src=D["route"], alt="Route from pickup to dropoff", data_testid="delivery-route"),
                ),
                gap="24px",
                wrap="wrap",
                justify="between",
            ),
            rx.cond(
                D["proof"] != "",
                rx.vstack(
                    rx.text("Proof of delivery: ", D["proof_label"], size="2", weight="medium"),
                    rx.image(src=D["proof"], alt="Proof of delivery", max_width="260px", data_testid="delivery-proof"),
                    spacing="1",
                    margin_top="12px",
                ),
            ),
            rx.cond(
                D["problem"] != "",
                rx.callout(
                    "Problem reported: " + D["problem"], icon="triangle_alert", color_scheme="red", margin_top="8px"
                ),
            ),
            _report_problem(),
            _cancel_delivery(),
            width="100%",
            data_testid="delivery-panel",
        ),
    )
