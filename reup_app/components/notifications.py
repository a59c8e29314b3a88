"""The notification bell of the header: unread count badge and a list that marks read."""

from __future__ import annotations

import reflex as rx

from reup_app.state.auth import AuthState
from reup_app.state.notifications import NotificationState


def _item(item: rx.Var) -> rx.Component:
    unread = item["read"] == "no"
    return rx.el.button(  # a real button: reachable and activated by keyboard
        rx.hstack(
            rx.box(
                width="8px",
                height="8px",
                border_radius="50%",
                flex_shrink="0",
                margin_top="6px",
                background=rx.cond(unread, rx.color("grass", 9), "transparent"),
            ),
            rx.vstack(
                rx.text(item["title"], size="2", weight=rx.cond(unread, "bold", "regular")),
                rx.cond(item["body"] != "", rx.text(item["body"], size="1", color_scheme="gray")),
                rx.text(item["when"], size="1", color_scheme="gray"),
                spacing="0",
                align="start",
            ),
            spacing="2",
            align="start",
        ),
        on_click=NotificationState.open_notification(item["id"]),
        type="button",
        aria_label=item["title"],
        padding="8px",
        border="none",
        background="transparent",
        text_align="left",
        font="inherit",
        color="inherit",
        border_radius="6px",
        cursor="pointer",
        _hover={"background": rx.color("gray", 3)},
        data_testid="notification-item",
        data_unread=rx.cond(unread, "yes", "no"),
        width="100%",
    )


def _panel() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.heading("Notifications", size="3", as_="h2"),
            rx.spacer(),
            rx.button(
                "Mark all read",
                on_click=NotificationState.mark_all_read,
                variant="ghost",
                size="1",
                disabled=NotificationState.unread == 0,
            ),
            width="100%",
            align="center",
        ),
        rx.cond(
            NotificationState.notif_error != "",
            rx.text(NotificationState.notif_error, color_scheme="red", size="2", role="alert"),
        ),
        rx.cond(
            NotificationState.items.length() > 0,
            rx.vstack(
                rx.foreach(NotificationState.items, _item),
                spacing="1",
                width="100%",
                max_height="420px",
                overflow_y="auto",
            ),
            rx.text("Nothing new.", size="2", color_scheme="gray", padding_y="12px"),
        ),
        rx.link("Notification settings", href="/settings/notifications", size="2"),
        spacing="2",
        width="100%",
    )


def notifications_bell() -> rx.Component:
    """Header bell. Mounting it registers the browser session for live updates."""
    return rx.box(
        rx.cond(
            AuthState.signed_in,
            rx.popover.root(
                rx.popover.trigger(
                    # the button itself is the trigger (aria-expanded belongs on a button, not a div)
                    rx.icon_button(
                        rx.icon("bell", aria_hidden="true"),
                        rx.cond(
                            NotificationState.unread > 0,
                            rx.badge(
                                NotificationState.unread,
                                color_scheme="red",
                                variant="solid",
                                radius="full",
                                size="1",
                                position="absolute",
                                top="-6px",
                                right="-8px",
                                pointer_events="none",
                                aria_hidden="true",
                                data_testid="notification-count",
                            ),
                        ),
                        variant="ghost",
                        size="2",
                        position="relative",
                        overflow="visible",
                        aria_label=rx.cond(
                            NotificationState.unread > 0,
                            f"Notifications, {NotificationState.unread} unread",
                            "Notifications",
                        ),
                    ),
                ),
                rx.popover.content(_panel(), width="340px", max_width="90vw", aria_label="Notifications"),
            ),
        ),
        on_mount=NotificationState.connect,
        margin_right="8px",  # room for the count badge
        data_testid="notification-bell",
        data_ready=rx.cond(NotificationState.bell_ready, "yes", "no"),
    )
