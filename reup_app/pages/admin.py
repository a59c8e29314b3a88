"""/admin/businesses, /admin/users and /admin/emails: platform admins approve, reject or suspend
businesses; disable, re-enable or reset the two-factor authentication of accounts; and retry the
e-mails the sender gave up on."""

import reflex as rx

from reup_app.components.admin import admin_nav
from reup_app.components.documents import review_badge
from reup_app.components.forms import data_table, error_callout, field, notice_callout
from reup_app.components.shell import page_shell
from reup_app.state.admin import STATUSES
from reup_app.state.admin import AdminBusinessesState as S
from reup_app.state.admin import AdminEmailsState as E
from reup_app.state.admin import AdminUsersState as U


def _reason_form(handler, entity_id, label: str, button: str, color: str, required: bool) -> rx.Component:
    input_id = f"{button.lower()}-reason-" + entity_id.to(str)
    return rx.form(
        rx.hstack(
            rx.el.input(type="hidden", name="entity_id", value=entity_id),
            rx.el.label(
                label,
                html_for=input_id,
                class_name="sr-only",
                style={"position": "absolute", "width": "1px", "height": "1px", "overflow": "hidden"},
            ),
            rx.input(id=input_id, name="reason", placeholder=label, required=required, size="2", width="220px"),
            rx.button(button, type="submit", color_scheme=color, variant="soft", size="2"),
            spacing="2",
        ),
        on_submit=handler,
        reset_on_submit=True,
    )


_SR_ONLY = {"position": "absolute", "width": "1px", "height": "1px", "overflow": "hidden"}


def _document_link(d) -> rx.Component:
    return rx.hstack(
        rx.icon("file-text", size=14, aria_hidden="true"),
        rx.link(
            d["filename"],
            href="#",
            on_click=S.download_document(d["id"]),
            aria_label="Download " + d["filename"],
        ),
        rx.text(d["kind"], " · ", d["size"], " · uploaded ", d["uploaded"], size="1", color_scheme="gray"),
        review_badge(d["status"]),
        spacing="2",
        align="center",
        wrap="wrap",
        data_testid="review-document",
    )


def _licence_item(lic) -> rx.Component:
    documents = rx.foreach(S.review_documents, lambda d: rx.cond(d["license_id"] == lic["id"], _document_link(d)))
    return rx.vstack(
        rx.hstack(
            rx.text("Licence ", rx.text.strong(lic["label"]), size="2"),
            review_badge(lic["status"]),
            spacing="2",
            align="center",
            wrap="wrap",
        ),
        rx.cond(lic["reason"] != "", rx.text("Reason: ", lic["reason"], size="1", color_scheme="red")),
        rx.vstack(documents, spacing="1", padding_left="12px"),
        rx.cond(
            lic["status"] != "approved",
            rx.hstack(
                rx.button(
                    "Approve licence",
                    on_click=S.approve_license(lic["id"]),
                    size="1",
                    color_scheme="grass",
                    variant="soft",
                    aria_label="Approve licence " + lic["label"],
                ),
                _licence_reject_form(lic),
                spacing="2",
                wrap="wrap",
            ),
        ),
        spacing="1",
        align="start",
        width="100%",
        data_testid="licence-review",
    )


def _licence_reject_form(lic) -> rx.Component:
    input_id = "licence-reason-" + lic["id"].to(str)
    return rx.form(
        rx.hstack(
            rx.el.input(type="hidden", name="license_id", value=lic["id"]),
            rx.el.label(
                "Reason for rejecting licence " + lic["label"], html_for=input_id, class_name="sr-only", style=_SR_ONLY
            ),
            rx.input(id=input_id, name="reason", placeholder="Reason for rejecting", required=True, size="1"),
            rx.button("Reject licence", type="submit", size="1", color_scheme="red", variant="soft"),
            spacing="2",
        ),
        on_submit=S.reject_license,
        reset_on_submit=True,
    )


def _licence_review(entity_id) -> rx.Component:
    return rx.vstack(
        rx.foreach(S.review_licenses, lambda lic: rx.cond(lic["entity_id"] == entity_id, _licence_item(lic))),
        spacing="2",
        width="100%",
    )


def _other_documents(entity_id) -> rx.Component:
    return rx.vstack(
        rx.foreach(
            S.review_documents,
            lambda d: rx.cond((d["entity_id"] == entity_id) & (d["license_id"] == ""), _document_link(d)),
        ),
        spacing="1",
        width="100%",
    )


def _row(b) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(b["name"], size="4", as_="h3"),
                rx.badge(b["kind"]),
                rx.badge(b["status"], color_scheme="amber"),
                align="center",
                spacing="2",
            ),
            rx.text("Owner: ", b["owner"], size="2"),
            _licence_review(b["id"]),
            _other_documents(b["id"]),
            rx.text("Applied ", b["created"], size="1", color_scheme="gray"),
            rx.cond(b["reason"] != "", rx.text("Reason: ", b["reason"], size="2", color_scheme="red")),
            rx.hstack(
                rx.cond(
                    b["status"] != "approved",
                    rx.button("Approve", on_click=S.approve(b["id"]), color_scheme="grass", size="2"),
                ),
                rx.cond(
                    b["status"] == "pending",
                    _reason_form(S.reject, b["id"], "Reason for rejecting", "Reject", "red", True),
                ),
                rx.cond(
                    b["status"] == "approved",
                    _reason_form(S.suspend, b["id"], "Reason for suspending", "Suspend", "red", False),
                ),
                spacing="3",
                wrap="wrap",
            ),
            spacing="2",
            align="start",
        ),
        width="100%",
        data_testid="business-review",
    )


@rx.page(route="/admin/businesses", title="Businesses · ReUp admin", on_load=S.load)
def admin_businesses() -> rx.Component:
    return page_shell(
        rx.vstack(
            admin_nav(),
            rx.hstack(
                *[
                    rx.button(
                        s.capitalize(), on_click=S.show(s), size="2", variant=rx.cond(S.status == s, "solid", "soft")
                    )
                    for s in STATUSES
                ],
                spacing="2",
                wrap="wrap",
            ),
            error_callout(S.error),
            notice_callout(S.notice),
            rx.cond(
                S.businesses.length() == 0,
                rx.text("Nothing here.", color_scheme="gray"),
                rx.vstack(rx.foreach(S.businesses, _row), width="100%", spacing="3"),
            ),
            spacing="4",
            width="100%",
        ),
        title="Businesses",
    )


def _user_row(u) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.vstack(rx.text(u["name"], weight="medium"), rx.text(u["email"], size="1"), spacing="0")),
        rx.table.cell(u["businesses"]),
        rx.table.cell(u["status"]),
        rx.table.cell(u["mfa"]),
        rx.table.cell(
            rx.hstack(
                rx.cond(
                    u["status"] == "active",
                    rx.button(
                        "Disable",
                        size="1",
                        color_scheme="red",
                        variant="soft",
                        on_click=U.disable(u["id"]),
                        aria_label="Disable " + u["email"],
                    ),
                    rx.button(
                        "Enable",
                        size="1",
                        variant="soft",
                        on_click=U.enable(u["id"]),
                        aria_label="Enable " + u["email"],
                    ),
                ),
                rx.cond(
                    u["mfa"] == "on",
                    rx.button(
                        "Reset 2FA",
                        size="1",
                        variant="soft",
                        on_click=U.reset_mfa(u["id"]),
                        aria_label="Reset 2FA of " + u["email"],
                    ),
                ),
                spacing="2",
            )
        ),
    )


@rx.page(route="/admin/users", title="Users · ReUp admin", on_load=U.load)
def admin_users() -> rx.Component:
    return page_shell(
        rx.vstack(
            admin_nav(),
            rx.form(
                rx.hstack(
                    field("Find user", "query", prefix="admin", placeholder="e-mail or name"),
                    rx.button("Search", type="submit"),
                    align="end",
                    spacing="3",
                ),
                on_submit=U.search,
                reset_on_submit=False,
            ),
            error_callout(U.error),
            notice_callout(U.notice),
            data_table(["User", "Businesses", "Status", "2FA", ""], U.users, _user_row),
            spacing="4",
            width="100%",
        ),
        title="Users",
    )


def _failed_row(m) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.vstack(rx.text(m["to"], weight="medium"), rx.text(m["subject"], size="1"), spacing="0")),
        rx.table.cell(m["created"]),
        rx.table.cell(m["attempts"]),
        rx.table.cell(rx.text(m["error"], size="1", color_scheme="red")),
        rx.table.cell(
            rx.button(
                "Retry", size="1", variant="soft", on_click=E.retry(m["id"]), aria_label="Retry e-mail to " + m["to"]
            )
        ),
    )


@rx.page(route="/admin/emails", title="E-mail · ReUp admin", on_load=E.load)
def admin_emails() -> rx.Component:
    return page_shell(
        rx.vstack(
            admin_nav(),
            rx.text(
                "E-mails the sender gave up on after its retries, or that the mail server refused. "
                "Retry sends one again within a minute.",
                size="2",
                color_scheme="gray",
            ),
            error_callout(E.error),
            notice_callout(E.notice),
            rx.cond(
                E.failed.length() == 0,
                rx.text("No failed e-mails.", color_scheme="gray"),
                data_table(["To", "Queued", "Attempts", "Last error", ""], E.failed, _failed_row),
            ),
            spacing="4",
            width="100%",
        ),
        title="Failed e-mails",
    )
