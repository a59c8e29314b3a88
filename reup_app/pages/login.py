"""/login: e-mail and password, then the authentication code when MFA is on."""

import reflex as rx

from reup_app.components.shell import page_shell
from reup_app.state.auth import AuthState


def _field(label: str, name: str, type_: str, autocomplete: str) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=f"login-{name}", style={"fontWeight": "500"}),
        rx.input(id=f"login-{name}", name=name, type=type_, auto_complete=autocomplete, required=True, width="100%", size="3"),
        spacing="1",
        width="100%",
    )


def _error() -> rx.Component:
    return rx.cond(
        AuthState.login_error != "",
        rx.callout(AuthState.login_error, icon="triangle_alert", color_scheme="red", role="alert", width="100%"),
    )


@rx.page(route="/login", title="Sign in · ReUp")
def login() -> rx.Component:
    password_form = rx.form(
        rx.vstack(
            _field("Email", "email", "email", "username"),
            _field("Password", "password", "password", "current-password"),
            _error(),
            rx.button("Sign in", type="submit", size="3", width="100%"),
            spacing="4",
            width="100%",
        ),
        on_submit=AuthState.login,
        reset_on_submit=False,
    )
    mfa_form = rx.form(
        rx.vstack(
            rx.text("Enter the 6-digit code from your authenticator app, or a recovery code."),
            _field("Authentication code", "code", "text", "one-time-code"),
            _error(),
            rx.button("Verify", type="submit", size="3", width="100%"),
            spacing="4",
            width="100%",
        ),
        on_submit=AuthState.submit_mfa,
    )
    return page_shell(
        rx.card(
            rx.cond(AuthState.mfa_step, mfa_form, password_form),
            width="100%",
            max_width="420px",
            padding="24px",
        ),
        title="Sign in",
    )
