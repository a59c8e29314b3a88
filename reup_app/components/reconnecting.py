"""What a page shows while its WebSocket is down (an app instance restarting, a network blip).

Replaces Reflex's default connection toast ("Cannot connect to server: <raw error>...") with a
plain "Reconnecting" banner; the browser keeps retrying through the load balancer and the banner
goes away by itself once a live instance answers (docs/DEPLOY.md, "What users see during faults").
"""

from __future__ import annotations

import reflex as rx
from reflex_components_core.core.banner import connection_pulser, has_connection_errors

RECONNECTING_TEXT = "Reconnecting to ReUp… Your work is saved; this page will continue by itself."


def reconnecting_overlay() -> rx.Component:
    return rx.fragment(
        connection_pulser(),
        rx.cond(
            has_connection_errors,
            rx.el.div(
                RECONNECTING_TEXT,
                id="reup-reconnecting",
                role="status",
                aria_live="polite",
                style={
                    "position": "fixed",
                    "top": "0",
                    "left": "0",
                    "right": "0",
                    "z_index": "1000",
                    "padding": "8px 12px",
                    "text_align": "center",
                    "background": "#fff4d6",
                    "color": "#5c4400",
                    "border_bottom": "1px solid #e8c870",
                    "font_size": "0.95rem",
                },
            ),
        ),
    )
