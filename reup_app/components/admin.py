"""The admin console's section links (every /admin page shows them)."""

import reflex as rx

ADMIN_SECTIONS = [
    ("Businesses", "/admin/businesses"),
    ("Users", "/admin/users"),
    ("Metrics", "/admin/metrics"),
    ("Integrations", "/admin/integrations"),
    ("Jobs", "/admin/jobs"),
    ("E-mail", "/admin/emails"),
    ("View as business", "/admin/support"),
]


def admin_nav() -> rx.Component:
    return rx.el.nav(
        *[rx.link(text, href=href, size="2", weight="medium") for text, href in ADMIN_SECTIONS],
        aria_label="Admin sections",
        display="flex",
        gap="16px",
        flex_wrap="wrap",
    )
