"""The app shell every page shares: header with the product name, navigation, responsive body."""

from __future__ import annotations

import reflex as rx

from reup_app.components.notifications import notifications_bell
from reup_app.state.auth import HEARTBEAT_MS, AuthState

# (label, href, audience); audience is one of AUDIENCES: "all" everyone, "seller" members of a
# wholesaler (or "both"), "buyer" members of a retailer (or "both"), "admin" platform admins.
# Hiding a link is only navigation: every page and service authorizes on its own.
NAV_LINKS: list[tuple[str, str, str]] = [
    ("Marketplace", "/marketplace", "all"),
    ("Dashboard", "/dashboard", "all"),
    ("Orders", "/orders", "all"),
    ("Cart", "/cart", "buyer"),
    ("Products", "/seller/products", "seller"),
    ("Inventory", "/seller/inventory", "seller"),
    ("Pricing", "/seller/pricing", "seller"),
    ("Deliveries", "/seller/deliveries", "seller"),
    ("Integrations", "/settings/integrations", "manager"),
    ("Store POS", "/pos", "buyer"),
    ("Sell-through", "/sell-through", "seller"),
]
AUDIENCES = ("all", "seller", "buyer", "admin", "manager")


def _audience_visible(audience: str) -> rx.Var | None:
    """The frontend condition for showing a link to `audience` (None: always shown)."""
    kind = AuthState.entity_kind
    if audience == "seller":
        return (kind == "wholesaler") | (kind == "both")
    if audience == "buyer":
        return (kind == "retailer") | (kind == "both")
    if audience == "admin":
        return AuthState.is_platform_admin
    if audience == "manager":  # owners and admins of a business (integration.manage)
        return (AuthState.role == "owner") | (AuthState.role == "admin")
    if audience == "all":
        return None
    raise ValueError(f"unknown nav audience {audience!r}; use one of {AUDIENCES}")


def _for_audience(component: rx.Component, audience: str) -> rx.Component:
    condition = _audience_visible(audience)
    return component if condition is None else rx.cond(condition, component)


def _nav_link(label: str, href: str) -> rx.Component:
    return rx.link(label, href=href, size="3", weight="medium", color_scheme="gray", high_contrast=True)


def _desktop_nav() -> rx.Component:
    return rx.hstack(
        *[_for_audience(_nav_link(label, href), audience) for label, href, audience in NAV_LINKS],
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
                    _for_audience(rx.menu.item(rx.link(label, href=href)), audience)
                    for label, href, audience in NAV_LINKS
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
                rx.text(AuthState.display_name, size="2", weight="medium", data_testid="signed-in-user"),
                rx.text(AuthState.business_name, size="1", color_scheme="gray"),
                spacing="0",
                align="end",
                display=rx.breakpoints(initial="none", md="flex"),
            ),
            rx.cond(AuthState.is_platform_admin, rx.link("Admin", href="/admin/businesses", size="2", weight="medium")),
            rx.link(
                rx.icon_button(rx.icon("settings"), variant="ghost", aria_label="Settings"), href="/settings/profile"
            ),
            rx.button("Sign out", on_click=AuthState.logout, variant="soft", size="2"),
            # Heartbeat: a session ended elsewhere (sign-out, password change, disabled account)
            # signs this tab out within HEARTBEAT_MS plus the principal cache's TTL.
            rx.moment(interval=HEARTBEAT_MS, on_change=AuthState.check_session, display="none"),
            align="center",
            spacing="3",
        ),
        rx.link(rx.button("Sign in", variant="solid", size="2"), href="/login"),
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
        header(),
        rx.el.main(
            *body,
            *children,
            width="100%",
            max_width="1200px",
            margin_x="auto",
            padding_x=rx.breakpoints(initial="12px", md="24px"),
            padding_y="24px",
        ),
        min_height="100vh",
        background=rx.color("gray", 2),
    )
