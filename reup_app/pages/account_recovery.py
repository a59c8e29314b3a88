"""Anonymous account pages reached from e-mails: forgotten password, reset, invitation."""

import reflex as rx

from reup_app.components.forms import error_callout, field, notice_callout
from reup_app.components.shell import page_shell
from reup_app.state.accounts import InviteState, PasswordResetState

PASSWORD_HINT = "At least 12 characters; not your e-mail address or a common password."


def _card(*children) -> rx.Component:
    return rx.card(rx.vstack(*children, spacing="4", width="100%"), width="100%", max_width="440px", padding="24px")


@rx.page(route="/forgot-password", title="Forgot password · ReUp", on_load=PasswordResetState.load)
def forgot_password() -> rx.Component:
    return page_shell(
        _card(
            rx.form(
                rx.vstack(
                    field("Email", "email", type_="email", autocomplete="username", prefix="forgot"),
                    error_callout(PasswordResetState.error),
                    notice_callout(PasswordResetState.notice),
                    rx.button("E-mail me a reset link", type="submit", size="3", width="100%"),
                    spacing="4",
                    width="100%",
                ),
                on_submit=PasswordResetState.request_reset,
            ),
        ),
        title="Forgot your password?",
    )


@rx.page(
    route="/reset-password/[reset_code]", title="Choose a new password · ReUp", on_load=PasswordResetState.load_reset
)
def reset_password() -> rx.Component:
    return page_shell(
        _card(
            rx.cond(
                PasswordResetState.done,
                rx.vstack(
                    rx.callout(
                        "Your password is changed and every session was signed out.",
                        icon="circle_check",
                        color_scheme="grass",
                        role="status",
                    ),
                    rx.link("Sign in", href="/login", weight="medium"),
                ),
                rx.cond(
                    PasswordResetState.invalid != "",
                    rx.vstack(
                        rx.callout(
                            PasswordResetState.invalid,
                            icon="triangle_alert",
                            color_scheme="red",
                            role="alert",
                            data_testid="reset-invalid",
                        ),
                        rx.link("Request a new link", href="/forgot-password", weight="medium"),
                        spacing="3",
                    ),
                    rx.form(
                        rx.vstack(
                            field(
                                "New password",
                                "new_password",
                                type_="password",
                                autocomplete="new-password",
                                prefix="reset",
                                hint=PASSWORD_HINT,
                            ),
                            field(
                                "Repeat new password",
                                "new_password_again",
                                type_="password",
                                autocomplete="new-password",
                                prefix="reset",
                            ),
                            error_callout(PasswordResetState.error),
                            rx.button("Set new password", type="submit", size="3", width="100%"),
                            spacing="4",
                            width="100%",
                        ),
                        on_submit=PasswordResetState.set_new_password,
                    ),
                ),
            ),
        ),
        title="Choose a new password",
    )


@rx.page(route="/invite/[invite_code]", title="Join a business · ReUp", on_load=InviteState.load)
def accept_invite() -> rx.Component:
    form = rx.form(
        rx.vstack(
            rx.text(
                "You are invited to join ",
                rx.text.strong(InviteState.business),
                " as ",
                rx.text.strong(InviteState.role),
                ".",
            ),
            rx.cond(
                InviteState.existing_user,
                rx.text("You already have a ReUp account: confirm with its password."),
                field("Full name", "full_name", autocomplete="name", prefix="invite"),
            ),
            field(
                "Password",
                "password",
                type_="password",
                prefix="invite",
                autocomplete=rx.cond(InviteState.existing_user, "current-password", "new-password"),
                hint="New accounts: " + PASSWORD_HINT,
            ),
            error_callout(InviteState.error),
            rx.button("Join", type="submit", size="3", width="100%"),
            spacing="4",
            width="100%",
        ),
        on_submit=InviteState.accept,
    )
    return page_shell(
        _card(
            rx.cond(
                InviteState.invalid != "",
                rx.callout(InviteState.invalid, icon="triangle_alert", color_scheme="red", role="alert"),
                rx.cond(
                    InviteState.joined,
                    rx.vstack(
                        rx.callout(
                            rx.text("You joined ", InviteState.business, "."),
                            icon="circle_check",
                            color_scheme="grass",
                            role="status",
                        ),
                        rx.link(rx.button("Sign in"), href="/login"),
                    ),
                    form,
                ),
            ),
        ),
        title="Join a business",
    )
