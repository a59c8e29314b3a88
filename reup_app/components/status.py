"""Order status badge shared by the order list and the order page."""

import reflex as rx

STATUS_COLORS = (("submitted", "blue"), ("accepted", "cyan"), ("backorder", "orange"), ("rejected", "red"),
                 ("cancelled", "gray"), ("fulfilled", "violet"), ("shipped", "indigo"), ("delivered", "grass"),
                 ("complete", "green"))


def status_badge(status, label) -> rx.Component:
    return rx.badge(label, color_scheme=rx.match(status, *STATUS_COLORS, "gray"), variant="soft", size="2",
                    data_testid="order-status")
