"""The app shell every page shares: header with the product name, navigation, responsive body."""

from __future__ import annotations

import reflex as rx

from reup_app.components.notifications import notifications_bell
from reup_app.state.auth import HEARTBEAT_MS, AuthState

# (label, href, action, kind): a link shows when the signed-in principal may perform `action` on
# its business (AuthState.allowed_actions, computed by security.permissions) and, with a `kind`
# ("seller" / "buyer"), when the business trades on that side. Action None: everyone.
# Hiding a link is only navigation: every page and service authorizes on its own.
NAV_LINKS: list[tuple[str, str, str | None, str | None]] = [
    ("Marketplace", "/marketplace", None, None),
    ("Dashboard", "/dashboard", "dashboard.view", None),
    ("Orders", "/orders", "order.view", None),
    ("Cart", "/cart", "cart.manage", "buyer"),
    ("Order guides", "/order-guides", "cart.manage", "buyer"),
    ("Products", "/seller/products", "catalog.manage", "seller"),
    ("Inventory", "/seller/inventory", "inventory.manage", "seller"),
    ("Pricing", "/seller/pricing", "pricing.manage", "seller"),
    ("Deliveries", "/seller/deliveries", "order.view", "seller"),
    ("Sell-through", "/sell-through", "dashboard.view", "seller"),
    ("Store POS", "/pos", "cart.manage", "buyer"),
    ("Integrations", "/settings/integrations", "integration.manage", None),
    ("Admin", "/admin/businesses", "platform.jobs.manage", None),
]
KINDS = ("seller", "buyer")


def can(action: str | None) -> rx.Var | None:
    """The frontend condition "the principal may perform `action`" (None: always)."""
    return None if action is None else AuthState.allowed_actions.contains(action)


def _visible(action: str | None, kind: str | None) -> rx.Var | None:
    """The frontend condition for showing a link (None: always shown)."""
    k = AuthState.entity_kind
    if kind is None:
        side = None
    elif kind == "seller":
        side = (k == "wholesaler") | (k == "both")
    elif kind == "buyer":
        side = (k == "retailer") | (k == "both")
    else:
        raise ValueError(f"unknown nav kind {kind!r}; use one of {KINDS}")
    allowed = can(action)
    if allowed is None or side is None:
        return allowed if side is None else side
    return allowed & side


def _for(component: rx.Component, action: str | None, kind: str | None = None) -> rx.Component:
    condition = _visible(action, kind)
    return component if condition is None else rx.cond(condition, component)


def _nav_link(label: str, href: str) -> rx.Component:
    return rx.link(label, href=href, size="3", weight="medium", color_scheme="gray", high_contrast=True)


def _desktop_nav() -> rx.Component:
    return rx.hstack(
        *[_for(_nav_link(label, href), action, kind) for label, href, action, kind in NAV_LINKS],
        spacing="5",
        align="center",
        display=rx.breakpoints(initial="none", sm="flex"),
    )


def _mobile_nav() -> rx.Component:
    return rx.box(
        rx.menu.root(
            rx.menu.trigger(
                rx.icon_button(rx.icon("menu"), variant="ghost", aria_label="Open navigation"),
            ),
            rx.menu.content(
                *[
                    _for(rx.menu.item(rx.link(label, href=href)), action, kind)
                    for label, href, action, kind in NAV_LINKS
                ],
            ),
        ),
        display=rx.breakpoints(initial="block", sm="none"),
    )


def _account() -> rx.Component:
    return rx.cond(
        AuthState.signed_in,
        rx.hstack(
            rx.vstack(
                rx.text(AuthState.user_name, size="2", weight="medium", data_testid="signed-in-name"),
                rx.text(
                    rx.el.span(AuthState.display_name, data_testid="signed-in-user"),
                    " · ",
                    AuthState.business_name,
                    size="1",
                    color_scheme="gray",
                    high_contrast=True,
                ),
                spacing="0",
                align="end",
                display=rx.breakpoints(initial="none", md="flex"),
            ),
            rx.link(
                rx.icon("settings", aria_hidden="true"),
                href="/settings/profile",
                aria_label="Settings",
                color_scheme="gray",
                high_contrast=True,
                display="flex",
                padding="6px",
            ),
            rx.button("Sign out", on_click=AuthState.logout, variant="soft", size="2"),
            # Heartbeat: a session ended elsewhere (sign-out, password change, disabled account)
            # signs this tab out within HEARTBEAT_MS plus the principal cache's TTL.
            rx.moment(interval=HEARTBEAT_MS, on_change=AuthState.check_session, display="none"),
            align="center",
            spacing="3",
        ),
        rx.link("Sign in", href="/login", size="2", weight="medium", high_contrast=True, padding_x="8px"),
    )


def _support_banner() -> rx.Component:
    """A platform admin's read-only support view of a business: say so, and offer the way out."""
    return rx.cond(
        AuthState.support_view_of != "",
        rx.hstack(
            rx.text(
                "Support view of ",
                rx.text.strong(AuthState.support_view_of),
                ": read-only, and recorded in the business's audit trail.",
                size="2",
            ),
            rx.button("End support view", on_click=AuthState.end_support_view, size="1", variant="solid"),
            role="status",
            data_testid="support-banner",
            align="center",
            justify="center",
            spacing="3",
            wrap="wrap",
            padding="6px 12px",
            background=rx.color("amber", 3),
            width="100%",
        ),
    )


def header() -> rx.Component:
    return rx.el.header(
        rx.hstack(
            rx.link(
                rx.hstack(
                    rx.icon("leaf", color=rx.color("grass", 9)),
                    rx.heading("ReUp", size="5", weight="bold"),
                    align="center",
                    spacing="2",
                ),
                href="/",
                underline="none",
                color_scheme="gray",
                high_contrast=True,
            ),
            rx.spacer(),
            _desktop_nav(),
            _mobile_nav(),
            notifications_bell(),
            _account(),
            align="center",
            width="100%",
            max_width="1200px",
            margin_x="auto",
            padding_x=rx.breakpoints(initial="12px", md="24px"),
            padding_y="12px",
        ),
        _support_banner(),
        on_mount=AuthState.check_session,  # a new tab restores its session from the cookie
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        background=rx.color("gray", 1),
        position="sticky",
        top="0",
        z_index="10",
        width="100%",
    )


def page_shell(*children: rx.Component, title: str | None = None) -> rx.Component:
    """Wrap a page body in the shared header and a centred, responsive main column."""
    body = [rx.heading(title, size="7", as_="h1", margin_bottom="16px")] if title else []
    return rx.box(
        rx.el.a(
            "Skip to main content",
            href="#main",
            position="absolute",
            left="-10000px",
            top="8px",
            z_index="20",
            padding="8px 12px",
            background=rx.color("gray", 1),
            color=rx.color("gray", 12),
            _focus={"left": "8px"},
        ),
        header(),
        rx.el.main(
            *body,
            *children,
            id="main",
            tab_index=-1,
            width="100%",
            max_width="1200px",
            margin_x="auto",
            padding_x=rx.breakpoints(initial="12px", md="24px"),
            padding_y="24px",
        ),
        min_height="100vh",
        background=rx.color("gray", 2),
    )
