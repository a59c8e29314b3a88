"""/settings/...: profile, password, two-factor authentication, team, audit trail."""

import reflex as rx

from reup_app.components.forms import data_table, error_callout, field, notice_callout, select_field
from reup_app.components.shell import can, page_shell
from reup_app.pages.login import recovery_codes_panel
from reup_app.state.audit import KIND_OPTIONS, AuditState
from reup_app.state.settings import SettingsState as S
from reup_app.state.team import TeamState as T

# (label, href, action): a section shows only when the principal may perform its action (None: all)
SECTIONS = [
    ("Profile", "/settings/profile", None),
    ("Password", "/settings/password", None),
    ("Two-factor", "/settings/security", None),
    ("Team", "/settings/team", "team.view"),
    ("Documents", "/settings/documents", "team.view"),  # team.view: the same owners and admins
    ("Audit trail", "/settings/audit", "audit.view"),
    ("Notifications", "/settings/notifications", None),
    ("Integrations", "/settings/integrations", "integration.manage"),
    ("API", "/settings/api", "team.manage"),
]


def _section_link(label: str, href: str, action: str | None) -> rx.Component:
    link = rx.link(label, href=href, size="2", weight="medium")
    allowed = can(action)
    return link if allowed is None else rx.cond(allowed, link)


def _layout(title: str, *children) -> rx.Component:
    nav = rx.el.nav(
        *[_section_link(label, href, action) for label, href, action in SECTIONS],
        display="flex",
        gap="16px",
        flex_wrap="wrap",
        margin_bottom="16px",
        aria_label="Settings sections",
    )
    return page_shell(nav, rx.vstack(*children, spacing="4", width="100%", max_width="960px"), title=title)


def _messages(state) -> rx.Component:
    return rx.fragment(error_callout(state.error), notice_callout(state.notice))


@rx.page(route="/settings", title="Settings · ReUp", on_load=rx.redirect("/settings/profile"))
def settings_index() -> rx.Component:
    return page_shell(rx.text("Opening your settings…"))


@rx.page(route="/settings/profile", title="Profile · ReUp", on_load=S.load)
def settings_profile() -> rx.Component:
    return _layout(
        "Profile",
        rx.card(
            rx.form(
                rx.vstack(
                    rx.text("Signed in as ", rx.text.strong(S.email)),
                    field("Full name", "full_name", prefix="profile", default_value=S.full_name, key=S.full_name),
                    field(
                        "Phone",
                        "phone",
                        type_="tel",
                        prefix="profile",
                        required=False,
                        default_value=S.phone,
                        key=S.phone,
                    ),
                    _messages(S),
                    rx.button("Save profile", type="submit"),
                    spacing="3",
                    width="100%",
                    max_width="480px",
                ),
                on_submit=S.save_profile,
                reset_on_submit=False,
            ),
            width="100%",
        ),
    )


@rx.page(route="/settings/password", title="Password · ReUp", on_load=S.load)
def settings_password() -> rx.Component:
    return _layout(
        "Password",
        rx.card(
            rx.form(
                rx.vstack(
                    field(
                        "Current password",
                        "current_password",
                        type_="password",
                        prefix="pw",
                        autocomplete="current-password",
                    ),
                    field(
                        "New password",
                        "new_password",
                        type_="password",
                        prefix="pw",
                        autocomplete="new-password",
                        hint="At least 12 characters; not your e-mail address or a common password.",
                    ),
                    field(
                        "Repeat new password",
                        "new_password_again",
                        type_="password",
                        prefix="pw",
                        autocomplete="new-password",
                    ),
                    _messages(S),
                    rx.button("Change password", type="submit"),
                    spacing="3",
                    width="100%",
                    max_width="480px",
                ),
                on_submit=S.change_password,
            ),
            width="100%",
        ),
    )


def _password_action(label: str, button: str, handler, prefix: str, color: str = "gray") -> rx.Component:
    return rx.form(
        rx.hstack(
            field(label, "password", type_="password", prefix=prefix, autocomplete="current-password"),
            rx.button(button, type="submit", color_scheme=color, variant="soft"),
            align="end",
            spacing="3",
            width="100%",
            max_width="560px",
        ),
        on_submit=handler,
    )


@rx.page(route="/settings/security", title="Two-factor authentication · ReUp", on_load=S.load)
def settings_security() -> rx.Component:
    enrol = rx.form(
        rx.vstack(
            rx.text(
                "Scan the QR code with your authenticator app, or type the key shown under it, then enter the "
                "code the app shows."
            ),
            rx.image(
                src=S.enrol_image_url,
                alt="QR code and key for your authenticator app",
                width="300px",
                data_testid="mfa-setup-image",
            ),
            field("Authentication code", "code", prefix="mfa", autocomplete="one-time-code", input_mode="numeric"),
            rx.button("Turn on two-factor authentication", type="submit"),
            spacing="3",
            align="start",
        ),
        on_submit=S.confirm_mfa,
    )
    status = rx.cond(
        S.mfa_enabled,
        rx.vstack(
            rx.callout(
                rx.text(
                    "Two-factor authentication is on. ", S.recovery_codes_remaining.to(str), " recovery codes left."
                ),
                icon="shield_check",
                color_scheme="grass",
                data_testid="mfa-status",
            ),
            _password_action("Password to make new recovery codes", "New recovery codes", S.regenerate_codes, "regen"),
            rx.cond(
                S.mfa_required,
                rx.text(
                    "Your role or your business requires two-factor authentication, so it cannot be turned off.",
                    size="2",
                    color_scheme="gray",
                ),
                _password_action("Password to turn two-factor off", "Turn off", S.disable_mfa, "mfaoff", "red"),
            ),
            spacing="4",
            width="100%",
        ),
        rx.vstack(
            rx.callout(
                "Two-factor authentication is off.", icon="shield", color_scheme="amber", data_testid="mfa-status"
            ),
            rx.cond(S.mfa_step == "enrol", enrol, rx.button("Set up two-factor authentication", on_click=S.start_mfa)),
            spacing="4",
            width="100%",
        ),
    )
    return _layout(
        "Two-factor authentication",
        _messages(S),
        rx.card(
            rx.cond(
                S.mfa_step == "codes",
                recovery_codes_panel(S.recovery_image_url, S.recovery_download_url, S.close_codes),
                status,
            ),
            width="100%",
        ),
    )


def _member_row(m) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.vstack(rx.text(m["name"], weight="medium"), rx.text(m["email"], size="1"), spacing="0")),
        rx.table.cell(
            rx.cond(
                T.can_manage,
                rx.el.select(
                    rx.foreach(T.roles, lambda r: rx.el.option(r, value=r)),
                    value=m["role"],
                    on_change=lambda v: T.change_role(m["id"], v),
                    aria_label="Role of " + m["email"],
                ),
                rx.text(m["role"]),
            )
        ),
        rx.table.cell(m["mfa"]),
        rx.table.cell(m["active"]),
        rx.table.cell(m["joined"]),
        rx.table.cell(
            rx.cond(
                T.can_manage,
                rx.button(
                    "Remove",
                    size="1",
                    color_scheme="red",
                    variant="soft",
                    on_click=T.remove(m["id"]),
                    aria_label="Remove " + m["email"],
                ),
            )
        ),
    )


@rx.page(route="/settings/team", title="Team · ReUp", on_load=T.load)
def settings_team() -> rx.Component:
    invite = rx.form(
        rx.hstack(
            field("Email", "email", type_="email", prefix="invite"),
            rx.vstack(
                rx.el.label("Role", html_for="invite-role", style={"fontWeight": "500"}),
                rx.el.select(
                    rx.foreach(T.roles, lambda r: rx.el.option(r, value=r)),
                    id="invite-role",
                    name="role",
                    default_value="viewer",
                    style={"padding": "8px"},
                ),
                spacing="1",
            ),
            rx.button("Send invitation", type="submit"),
            align="end",
            spacing="3",
            wrap="wrap",
        ),
        on_submit=T.invite,
        reset_on_submit=True,
    )
    return _layout(
        "Team",
        _messages(T),
        rx.cond(
            T.can_manage,
            rx.card(rx.vstack(rx.heading("Invite a teammate", size="4", as_="h2"), invite, spacing="3"), width="100%"),
        ),
        rx.card(
            rx.vstack(
                rx.heading("Members", size="4", as_="h2"),
                data_table(["Member", "Role", "2FA", "Status", "Joined", ""], T.members, _member_row, scroll=False),
                spacing="3",
            ),
            width="100%",
            overflow_x="auto",
        ),
        rx.cond(
            T.invites.length() > 0,
            rx.card(
                rx.vstack(
                    rx.heading("Open invitations", size="4", as_="h2"),
                    rx.foreach(
                        T.invites,
                        lambda i: rx.hstack(
                            rx.text(i["email"], " as ", i["role"], " — expires ", i["expires"], size="2"),
                            rx.cond(
                                T.can_manage,
                                rx.button("Withdraw", size="1", variant="soft", on_click=T.revoke(i["id"])),
                            ),
                            align="center",
                            spacing="3",
                        ),
                    ),
                    spacing="2",
                ),
                width="100%",
            ),
        ),
        rx.cond(
            T.is_owner,
            rx.card(
                rx.hstack(
                    rx.switch(checked=T.require_mfa, on_change=T.set_require_mfa, id="require-mfa"),
                    rx.el.label("Require two-factor authentication for every member", html_for="require-mfa"),
                    spacing="3",
                    align="center",
                ),
                width="100%",
            ),
        ),
    )


def _audit_row(e) -> rx.Component:
    return rx.table.row(
        rx.table.cell(e["when"], white_space="nowrap"),
        rx.table.cell(rx.text(e["summary"], style={"wordBreak": "break-word"}), data_testid="audit-summary"),
        rx.table.cell(e["from"]),
        rx.table.cell(
            rx.cond(
                AuditState.technical,
                rx.text(e["table"] + " #" + e["row"] + " " + e["changes"], size="1", style={"wordBreak": "break-word"}),
            ),
            max_width="420px",
        ),
    )


@rx.page(route="/settings/audit", title="Audit trail · ReUp", on_load=AuditState.load)
def settings_audit() -> rx.Component:
    filters = rx.form(
        rx.hstack(
            select_field(
                "Kind of record", "kind", [(v, label) for v, label in KIND_OPTIONS], default="all", prefix="audit"
            ),
            select_field(
                "Change",
                "action",
                [("", "Any"), ("insert", "Created"), ("update", "Changed"), ("delete", "Deleted")],
                default="",
                prefix="audit",
            ),
            field("From", "since", type_="date", prefix="audit", required=False),
            field("To", "until", type_="date", prefix="audit", required=False),
            rx.button("Filter", type="submit"),
            align="end",
            spacing="3",
            wrap="wrap",
        ),
        on_submit=AuditState.apply_filters,
        reset_on_submit=False,
    )
    technical = rx.hstack(
        rx.switch(checked=AuditState.technical, on_change=AuditState.set_technical, id="audit-technical"),
        rx.el.label("Technical: show sessions, sign-in codes and bookkeeping rows", html_for="audit-technical"),
        spacing="2",
        align="center",
    )
    return _layout(
        "Audit trail",
        rx.cond(AuditState.everything, rx.text("Platform admin: every business's changes.", size="2")),
        filters,
        technical,
        error_callout(AuditState.error),
        rx.text(AuditState.total.to(str), " changes", size="2", data_testid="audit-total"),
        data_table(["When", "What happened", "From", "Details"], AuditState.entries, _audit_row),
        rx.hstack(
            rx.button("Previous", on_click=AuditState.go_to(AuditState.page - 1), disabled=AuditState.page <= 1),
            rx.text("Page ", AuditState.page.to(str), " of ", AuditState.pages.to(str)),
            rx.button(
                "Next", on_click=AuditState.go_to(AuditState.page + 1), disabled=AuditState.page >= AuditState.pages
            ),
            align="center",
            spacing="3",
        ),
    )
