"""/not-allowed: where role-gated pages send a signed-in user without the right; and the 404 page."""

import reflex as rx

from reup_app.components.shell import page_shell


@rx.page(route="/not-allowed", title="Not allowed · ReUp")
def not_allowed() -> rx.Component:
    return page_shell(
        rx.callout(
            "You are not allowed to open that page with your role. Ask an owner of your business if you need access.",
            icon="shield_alert",
            color_scheme="amber",
            role="alert",
        ),
        rx.link("Go to the marketplace", href="/marketplace", margin_top="16px"),
        title="Not allowed",
    )


@rx.page(route="404", title="Page not found · ReUp")
def page_not_found() -> rx.Component:
    """Any address no page answers: said inside the shell, with the way back."""
    return page_shell(
        rx.text("There is no page at this address. It may have moved, or the link may be mistyped.", size="3"),
        rx.hstack(
            rx.link("Go to the marketplace", href="/marketplace", weight="medium"),
            rx.link("Your orders", href="/orders", weight="medium"),
            spacing="4",
            margin_top="16px",
        ),
        title="Page not found",
    )
