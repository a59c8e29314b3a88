"""Order status badge and native-select styling shared by the order pages."""

import reflex as rx

STATUS_COLORS = (
    ("submitted", "blue"),
    ("accepted", "cyan"),
    ("backorder", "orange"),
    ("rejected", "red"),
    ("cancelled", "gray"),
    ("fulfilled", "violet"),
    ("shipped", "indigo"),
    ("delivered", "grass"),
    ("complete", "green"),
)


def status_badge(status, label) -> rx.Component:
    return rx.badge(
        label,
        color_scheme=rx.match(status, *STATUS_COLORS, "gray"),
        variant="soft",
        size="2",
        data_testid="order-status",
    )


# Native <select> (labelled, keyboard- and test-friendly) styled like the Radix inputs around it.
SELECT_STYLE = {
    "padding": "6px 8px",
    "borderRadius": "6px",
    "border": "1px solid var(--gray-7)",
    "background": "var(--color-surface)",
    "fontSize": "14px",
}
