"""/login: e-mail and password, then the authentication code when MFA is on, or the forced
enrolment (QR code and key, first code, recovery codes) when MFA is required but not set up."""

import reflex as rx

from reup_app.components.forms import error_callout, field
from reup_app.components.shell import page_shell
from reup_app.state.auth import AuthState


def _code_field() -> rx.Component:
    return field("Authentication code", "code", autocomplete="one-time-code", prefix="login", input_mode="numeric")


def _password_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            field("Email", "email", type_="email", autocomplete="username", prefix="login"),
            field("Password", "password", type_="password", autocomplete="current-password", prefix="login"),
            error_callout(AuthState.login_error),
            rx.button("Sign in", type="submit", size="3", width="100%"),
            rx.hstack(
                rx.link("Forgot your password?", href="/forgot-password", size="2"),
                rx.spacer(),
                rx.link("Create a business account", href="/signup", size="2"),
                width="100%",
            ),
            spacing="4",
            width="100%",
        ),
        on_submit=AuthState.login,
        reset_on_submit=False,
    )


def _mfa_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.text("Enter the 6-digit code from your authenticator app, or a recovery code."),
            _code_field(),
            error_callout(AuthState.login_error),
            rx.button("Verify", type="submit", size="3", width="100%"),
            rx.button("Start over", type="button", variant="ghost", on_click=AuthState.restart_sign_in),
            spacing="4",
            width="100%",
        ),
        on_submit=AuthState.submit_mfa,
    )


def _enrol_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.heading("Set up two-factor authentication", size="4", as_="h2"),
            rx.text(
                "Your account requires an authenticator app (Google Authenticator, 1Password, Authy …). "
                "Scan the QR code, or type the key shown under it, then enter the code the app shows."
            ),
            rx.cond(
                AuthState.enrol_image_url != "",
                rx.image(
                    src=AuthState.enrol_image_url,
                    alt="QR code and key for your authenticator app",
                    width="300px",
                    data_testid="mfa-setup-image",
                ),
                rx.spinner(size="3"),
            ),
            _code_field(),
            error_callout(AuthState.login_error),
            rx.button("Turn on and sign in", type="submit", size="3", width="100%"),
            spacing="4",
            width="100%",
            align="center",
        ),
        on_submit=AuthState.confirm_enrolment,
    )


def recovery_codes_panel(image_url, download_url, on_done) -> rx.Component:
    """Shown once, right after enrolment or regeneration (shared with /settings/security)."""
    return rx.vstack(
        rx.heading("Save your recovery codes", size="4", as_="h2"),
        rx.text("Each code signs you in once if you lose your phone. They will not be shown again."),
        rx.image(src=image_url, alt="Your recovery codes", width="300px", data_testid="recovery-codes-image"),
        rx.link(rx.button("Download recovery codes", variant="soft"), href=download_url, is_external=False),
        rx.button("I have saved them", on_click=on_done, size="3"),
        spacing="4",
        align="center",
        width="100%",
    )


@rx.page(route="/login", title="Sign in · ReUp", on_load=AuthState.load_login)
def login() -> rx.Component:
    return page_shell(
        rx.card(
            rx.match(
                AuthState.step,
                ("mfa", _mfa_form()),
                ("enrol", _enrol_form()),
                (
                    "recovery_codes",
                    rx.vstack(
                        error_callout(AuthState.login_error),
                        rx.cond(
                            AuthState.recovery_image_url != "",
                            recovery_codes_panel(
                                AuthState.recovery_image_url, AuthState.recovery_download_url, AuthState.finish_sign_in
                            ),
                            rx.cond(
                                AuthState.login_error != "",
                                rx.button("Continue", on_click=AuthState.finish_sign_in, size="3"),
                                rx.spinner(size="3"),
                            ),
                        ),
                        width="100%",
                    ),
                ),
                _password_form(),
            ),
            width="100%",
            max_width="440px",
            padding="24px",
        ),
        title="Sign in",
    )
