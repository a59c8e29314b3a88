"""Landing page."""

import reflex as rx

from reup_app.components.shell import page_shell


@rx.page(route="/", title="ReUp — wholesale for the licensed cannabis trade")
def home() -> rx.Component:
    return page_shell(
        rx.vstack(
            rx.heading("Wholesale for the licensed cannabis trade", size="8", as_="h1"),
            rx.text(
                "Shop every wholesaler's live inventory in one place, order across sellers in one cart, "
                "and keep METRC, your POS and deliveries in step.",
                size="4",
                color_scheme="gray",
            ),
            rx.link(rx.button("Browse the marketplace", size="3"), href="/marketplace"),
            spacing="4",
            padding_y="48px",
            max_width="720px",
        )
    )
