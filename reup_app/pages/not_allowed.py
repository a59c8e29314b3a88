"""/not-allowed: where role-gated pages send a signed-in user without the right."""

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
