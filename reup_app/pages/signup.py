"""/signup: a business applies as a retailer or wholesaler with its license(s)."""

import reflex as rx

from reup_app.components.documents import document_uploader
from reup_app.components.forms import error_callout, field, field_error, select_field
from reup_app.components.shell import page_shell
from reup_app.state.accounts import LICENSE_TYPE_CHOICES, MAX_LICENSES_ON_FORM, STATE_CHOICES, SignupState
from reup_app.state.documents import SignupDocumentsState

KINDS = [("retailer", "Retailer (dispensary)"), ("wholesaler", "Wholesaler (brand or distributor)")]


def _err(name: str) -> rx.Var:
    return SignupState.errors.get(name, "").to(str)


def _license(i: int) -> rx.Component:
    required = i == 1
    suffix = "" if i == 1 else f" {i} (optional)"
    states = [("", "Choose…")] + [(s, s) for s in STATE_CHOICES]
    types = [("", "Choose…")] + LICENSE_TYPE_CHOICES
    return rx.vstack(
        rx.grid(
            field(f"License number{suffix}", f"license_number_{i}", prefix="signup", required=required),
            select_field(f"License state{suffix}", f"license_state_{i}", states, default="", prefix="signup"),
            select_field(f"License type{suffix}", f"license_type_{i}", types, default="", prefix="signup"),
            field(f"License expires{suffix}", f"license_expires_{i}", type_="date", prefix="signup", required=False),
            columns=rx.breakpoints(initial="1", sm="2", md="4"),
            spacing="3",
            width="100%",
        ),
        field_error(_err(f"license_{i}"), f"signup-license-{i}-error"),
        width="100%",
        spacing="1",
    )


def _form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.heading("Your business", size="4", as_="h2"),
            field(
                "Business name",
                "business_name",
                prefix="signup",
                autocomplete="organization",
                error=_err("business_name"),
            ),
            select_field("Business type", "kind", KINDS, default="retailer", prefix="signup", error=_err("kind")),
            rx.heading("State licenses", size="4", as_="h2"),
            rx.text("ReUp checks every license before a business can trade.", size="2"),
            *[_license(i) for i in range(1, MAX_LICENSES_ON_FORM + 1)],
            rx.heading("Owner account", size="4", as_="h2"),
            field("Full name", "full_name", prefix="signup", autocomplete="name", error=_err("full_name")),
            field("Email", "email", type_="email", prefix="signup", autocomplete="email", error=_err("email")),
            field(
                "Password",
                "password",
                type_="password",
                prefix="signup",
                autocomplete="new-password",
                hint="At least 12 characters; not your e-mail address or a common password.",
                error=_err("password"),
            ),
            field(
                "Repeat password",
                "password_again",
                type_="password",
                prefix="signup",
                autocomplete="new-password",
                error=_err("password_again"),
            ),
            error_callout(SignupState.error),
            rx.button("Apply for an account", type="submit", size="3"),
            spacing="4",
            width="100%",
        ),
        on_submit=SignupState.submit,
        reset_on_submit=False,
        custom_attrs={"noValidate": True},  # the server reports every problem at once, next to its field
    )


def _submitted() -> rx.Component:
    return rx.vstack(
        rx.callout(
            rx.text(
                "Thanks — ",
                rx.text.strong(SignupState.submitted_business),
                " is waiting for approval. We will e-mail you when a ReUp admin has checked your licenses.",
            ),
            icon="circle_check",
            color_scheme="grass",
            role="status",
            data_testid="signup-pending",
        ),
        rx.heading("Add your licence documents", size="4", as_="h2"),
        rx.text(
            "Upload each licence's certificate (and your business registration if you have it) so the "
            "review can start at once. PDF, PNG or JPEG, at most 10 MB each.",
            size="2",
        ),
        document_uploader(SignupDocumentsState),
        rx.link("Back to the marketplace", href="/marketplace"),
        spacing="3",
    )


@rx.page(route="/signup", title="Create a business account · ReUp", on_load=SignupState.start_over)
def signup() -> rx.Component:
    return page_shell(
        rx.card(
            rx.cond(SignupState.submitted_business != "", _submitted(), _form()),
            width="100%",
            max_width="820px",
            padding="24px",
        ),
        title="Create a business account",
    )
