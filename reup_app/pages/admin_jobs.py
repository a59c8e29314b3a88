"""/admin/jobs: the error queue of background work (outbox messages that spent their retries,
connections whose last sync failed, vendor webhooks whose processing spent its retries), each with
Retry."""

import reflex as rx

from reup_app.components.admin import admin_nav
from reup_app.components.forms import data_table, error_callout, notice_callout
from reup_app.components.shell import page_shell
from reup_app.state.admin_jobs import AdminJobsState as J


def _message_row(m) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.vstack(rx.text(m["kind"], weight="medium"), rx.text(m["reference"], size="1"), spacing="0")),
        rx.table.cell(m["target"]),
        rx.table.cell(m["attempts"]),
        rx.table.cell(rx.text(m["error"], size="1", color_scheme="red")),
        rx.table.cell(m["when"]),
        rx.table.cell(
            rx.button(
                "Retry",
                size="1",
                variant="soft",
                on_click=J.retry_message(m["id"]),
                aria_label="Retry " + m["reference"],
            )
        ),
    )


def _run_row(r) -> rx.Component:
    return rx.table.row(
        rx.table.cell(r["connection"]),
        rx.table.cell(r["resource"]),
        rx.table.cell(rx.text(r["error"], size="1", color_scheme="red")),
        rx.table.cell(r["when"]),
        rx.table.cell(
            rx.button(
                "Retry", size="1", variant="soft", on_click=J.retry_sync(r["id"]), aria_label="Retry sync " + r["id"]
            )
        ),
    )


def _dead_webhook_row(w) -> rx.Component:
    return rx.table.row(
        rx.table.cell(w["event"]),
        rx.table.cell(w["attempts"]),
        rx.table.cell(rx.text(w["error"], size="1", color_scheme="red")),
        rx.table.cell(w["when"]),
        rx.table.cell(
            rx.button(
                "Retry",
                size="1",
                variant="soft",
                on_click=J.retry_webhook(w["id"]),
                aria_label="Retry webhook " + w["event_id"],
            )
        ),
    )


def _unmatched_row(w) -> rx.Component:
    return rx.table.row(
        rx.table.cell(w["event"]),
        rx.table.cell(rx.text(w["error"], size="1", color_scheme="red")),
        rx.table.cell(w["when"]),
    )


@rx.page(route="/admin/jobs", title="Jobs · ReUp admin", on_load=J.load)
def admin_jobs() -> rx.Component:
    return page_shell(
        rx.vstack(
            admin_nav(),
            error_callout(J.error),
            notice_callout(J.notice),
            rx.heading("Messages that could not be delivered", size="4", as_="h2"),
            rx.cond(
                J.messages.length() > 0,
                data_table(["Message", "Target", "Tries", "Last error", "Last try", ""], J.messages, _message_row),
                rx.text("None: every outbox message was delivered or is still being retried.", size="2"),
            ),
            rx.heading("Connections whose last sync failed", size="4", as_="h2"),
            rx.cond(
                J.runs.length() > 0,
                data_table(["Connection", "Resource", "Error", "Started", ""], J.runs, _run_row),
                rx.text("None.", size="2"),
            ),
            rx.heading("Webhooks that could not be processed", size="4", as_="h2"),
            rx.cond(
                J.dead_webhooks.length() > 0,
                data_table(["Event", "Tries", "Last error", "Received", ""], J.dead_webhooks, _dead_webhook_row),
                rx.text("None: every stored webhook was processed or is still being retried.", size="2"),
            ),
            rx.heading("Webhooks for unknown orders", size="4", as_="h2"),
            rx.cond(
                J.unmatched.length() > 0,
                data_table(["Event", "Why", "Received"], J.unmatched, _unmatched_row),
                rx.text("None.", size="2"),
            ),
            spacing="4",
            width="100%",
        ),
        title="Jobs",
    )
