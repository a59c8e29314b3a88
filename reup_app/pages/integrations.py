"""/settings/integrations: the business's licenses and their METRC connections, with a live
progress bar per running sync."""

import reflex as rx

from reup_app.components.forms import field
from reup_app.pages.settings import _layout, _messages
from reup_app.state.auth import AuthState
from reup_app.state.integrations import IntegrationsState as I

STATUS_COLORS = (
    ("ok", "grass"),
    ("running", "blue"),
    ("retry", "cyan"),
    ("error", "red"),
    ("disconnected", "gray"),
)


def _badge(row) -> rx.Component:
    return rx.badge(
        row["status_label"],
        color_scheme=rx.match(row["status"], *STATUS_COLORS, "gray"),
        variant="soft",
        size="2",
        data_testid="connection-status",
    )


def _progress(row) -> rx.Component:
    bar = I.progress[row["connection_id"]]
    return rx.cond(
        row["running"] != "",
        rx.vstack(
            rx.box(
                rx.box(
                    width=rx.cond(bar["percent"], bar["percent"] + "%", "0%"),
                    height="100%",
                    background_color=rx.color("grass", 9),
                    border_radius="4px",
                    transition="width 0.3s",
                ),
                role="progressbar",
                aria_label="Sync progress",
                aria_valuemin=0,
                aria_valuemax=100,
                aria_valuenow=rx.cond(bar["percent"], bar["percent"], "0"),
                width="100%",
                height="8px",
                background_color=rx.color("gray", 4),
                border_radius="4px",
                data_testid="sync-bar",
            ),
            rx.text(rx.cond(bar["label"], bar["label"], "Sync running…"), size="1", data_testid="sync-progress"),
            spacing="1",
            width="100%",
        ),
    )


def _connect_form(row) -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.el.input(type="hidden", name="license_id", value=row["license_id"]),
            field(
                "METRC user API key",
                "user_key",
                type_="password",
                prefix="metrc-" + row["license_id"],
                hint="Create it in METRC under your user profile (API keys). It is stored encrypted.",
            ),
            rx.cond(
                AuthState.is_platform_admin,
                field("METRC address (platform admins)", "base_url", required=False, prefix="metrc-url"),
            ),
            rx.hstack(
                rx.button("Save and connect", type="submit"),
                rx.button("Cancel", type="button", variant="soft", color_scheme="gray", on_click=I.cancel),
                spacing="2",
            ),
            spacing="2",
            width="100%",
        ),
        on_submit=I.connect,
        reset_on_submit=True,
        width="100%",
    )


def _confirm(row) -> rx.Component:
    return rx.callout(
        rx.hstack(
            rx.text("Disconnect license ", row["license"], "? Syncing stops and the stored key is erased."),
            rx.button("Disconnect", color_scheme="red", size="1", on_click=I.disconnect(row["license_id"])),
            rx.button("Keep", size="1", variant="soft", color_scheme="gray", on_click=I.cancel),
            spacing="2",
            align="center",
            wrap="wrap",
        ),
        color_scheme="red",
        width="100%",
    )


def _buttons(row) -> rx.Component:
    label = row["license"]
    return rx.hstack(
        rx.button(
            rx.cond(row["connected"] != "", "Replace key", "Connect"),
            size="1",
            on_click=I.open_connect(row["license_id"]),
            aria_label=rx.cond(row["connected"] != "", "Replace key ", "Connect ") + label,
        ),
        rx.cond(
            row["connected"] != "",
            rx.fragment(
                rx.button(
                    "Test connection",
                    size="1",
                    variant="soft",
                    on_click=I.test_connection(row["license_id"]),
                    aria_label="Test connection " + label,
                ),
                rx.button(
                    "Sync now",
                    size="1",
                    variant="soft",
                    disabled=row["running"] != "",
                    on_click=I.sync_now(row["license_id"]),
                    aria_label="Sync now " + label,
                ),
                rx.button(
                    "Disconnect",
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    on_click=I.ask_disconnect(row["license_id"]),
                    aria_label="Disconnect " + label,
                ),
            ),
        ),
        spacing="2",
        wrap="wrap",
    )


def _card(row) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.vstack(
                    rx.text(row["license"], " (", row["state"], ")", weight="bold"),
                    rx.text(row["premises"], size="1", color_scheme="gray"),
                    spacing="0",
                ),
                rx.spacer(),
                _badge(row),
                width="100%",
                align="center",
            ),
            rx.text("Last sync: ", row["last_sync"], size="2", data_testid="last-sync"),
            rx.cond(row["last_error"] != "", rx.text(row["last_error"], size="2", color_scheme="red")),
            _progress(row),
            _buttons(row),
            rx.cond(I.connect_for == row["license_id"], _connect_form(row)),
            rx.cond(I.confirm_disconnect == row["license_id"], _confirm(row)),
            spacing="2",
            width="100%",
        ),
        width="100%",
        data_testid="connection-" + row["license"],
    )


@rx.page(route="/settings/integrations", title="Integrations · ReUp", on_load=I.load)
def settings_integrations() -> rx.Component:
    return _layout(
        "Integrations",
        _messages(I),
        rx.heading("METRC", size="4", as_="h2"),
        rx.cond(
            I.has_licenses,
            rx.vstack(
                rx.text(
                    "Connect each license with its METRC user API key. ReUp then keeps packages in step and "
                    "reports shipments to the state.",
                    size="2",
                ),
                rx.foreach(I.rows, _card),
                spacing="3",
                width="100%",
            ),
            rx.text("Your business holds no licenses yet, so there is nothing to connect to METRC.", size="2"),
        ),
    )
