"""/settings/notifications: per-kind choice of in-app and e-mail notifications."""

import reflex as rx

from reup_app.components.shell import page_shell
from reup_app.state.auth import AuthState
from reup_app.state.notifications import NotificationPrefsState


def _row(pref: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(pref["label"]),
        rx.table.cell(
            rx.switch(
                checked=pref["in_app"] == "yes",
                on_change=lambda on: NotificationPrefsState.set_channel(pref["kind"], "in_app", on),
                aria_label=f"In the app: {pref['label']}",
            ),
        ),
        rx.table.cell(
            rx.switch(
                checked=pref["email"] == "yes",
                on_change=lambda on: NotificationPrefsState.set_channel(pref["kind"], "email", on),
                aria_label=f"By e-mail: {pref['label']}",
            ),
        ),
    )


@rx.page(route="/settings/notifications", title="Notification settings · ReUp", on_load=NotificationPrefsState.load)
def notification_settings() -> rx.Component:
    return page_shell(
        rx.cond(
            AuthState.signed_in,
            rx.vstack(
                rx.text("Choose how you hear about what happens in your business.", size="2", color_scheme="gray"),
                rx.cond(
                    NotificationPrefsState.prefs_error != "",
                    rx.callout(
                        NotificationPrefsState.prefs_error, icon="triangle_alert", color_scheme="red", role="alert"
                    ),
                ),
                rx.cond(
                    NotificationPrefsState.prefs_saved != "",
                    rx.text(NotificationPrefsState.prefs_saved, size="2", color_scheme="grass", role="status"),
                ),
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            rx.table.column_header_cell("Notification"),
                            rx.table.column_header_cell("In the app"),
                            rx.table.column_header_cell("E-mail"),
                        )
                    ),
                    rx.table.body(rx.foreach(NotificationPrefsState.prefs, _row)),
                    width="100%",
                    max_width="720px",
                ),
                spacing="3",
                width="100%",
            ),
            rx.text("Sign in to choose your notifications. ", rx.link("Sign in", href="/login")),
        ),
        title="Notification settings",
    )
