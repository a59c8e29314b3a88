"""Order page parts for METRC compliance: the seller's pre-ship checklist and the manifest card
both parties see (status, number, last error, printable PDF), refreshed live."""

import reflex as rx

from reup_app.state.order_detail import OrderDetailState

S = OrderDetailState
M = S.manifest


def _check_row(check: rx.Var) -> rx.Component:
    ok = check["ok"] == "yes"
    return rx.hstack(
        rx.cond(
            ok,
            rx.icon("circle_check", color="var(--grass-9)", size=16),
            rx.icon("circle_x", color="var(--red-9)", size=16),
        ),
        rx.vstack(
            rx.text(check["label"], size="2"),
            rx.cond(~ok, rx.text(check["message"], size="2", color_scheme="red")),
            spacing="0",
        ),
        align="start",
        spacing="2",
        data_testid="preship-check",
    )


def preship_checklist() -> rx.Component:
    """Shown with the Ship button: every check, each failure with the reason it blocks the ship."""
    return rx.cond(
        S.preship_checks.length() > 0,
        rx.vstack(
            rx.text("Pre-ship compliance checks", weight="medium", size="2"),
            rx.cond(
                S.preship_blocked,
                rx.callout("Fix the failed checks before shipping.", icon="shield_alert", color_scheme="red"),
            ),
            rx.foreach(S.preship_checks, _check_row),
            spacing="1",
            margin_top="12px",
            data_testid="preship-checklist",
        ),
    )


def manifest_card() -> rx.Component:
    """The METRC manifest, once the order has shipped."""
    return rx.cond(
        M.contains("status"),
        rx.card(
            rx.heading("METRC manifest", size="4", as_="h2", margin_bottom="8px"),
            rx.flex(
                rx.vstack(
                    rx.text("Status", size="1", color_scheme="gray"),
                    rx.badge(M["status_label"], data_testid="manifest-status"),
                    spacing="0",
                ),
                rx.vstack(
                    rx.text("Manifest number", size="1", color_scheme="gray"),
                    rx.text(rx.cond(M["number"] != "", M["number"], "not issued yet"), data_testid="manifest-number"),
                    spacing="0",
                ),
                rx.vstack(
                    rx.text("Updated", size="1", color_scheme="gray"), rx.text(M["updated"], size="2"), spacing="0"
                ),
                gap="24px",
                wrap="wrap",
            ),
            rx.cond(
                M["received"] != "",
                rx.text(
                    "Received in METRC: ", M["received"], size="2", margin_top="8px", data_testid="manifest-received"
                ),
            ),
            rx.cond(
                M["last_error"] != "",
                rx.callout(M["last_error"], icon="triangle_alert", color_scheme="red", margin_top="8px"),
            ),
            rx.button("Download manifest PDF", variant="soft", on_click=S.download_manifest, margin_top="8px"),
            width="100%",
            data_testid="order-manifest",
        ),
    )
