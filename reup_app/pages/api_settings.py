"""/settings/api: API keys and outgoing webhooks of the business (owners and admins)."""

import reflex as rx

from reup_app.components.forms import field
from reup_app.pages.settings import _layout, _messages
from reup_app.state.api_settings import ROLES, WEBHOOK_KINDS
from reup_app.state.api_settings import ApiSettingsState as A


def _secret() -> rx.Component:
    return rx.cond(
        A.secret_image_url != "",
        rx.card(
            rx.text(
                "Shown once. Copy it now; ReUp keeps only a hash (keys) or a sealed copy (signing secrets).", size="2"
            ),
            rx.image(src=A.secret_image_url, alt="The new secret", data_testid="secret-image"),
            rx.link("Download as a text file", href=A.secret_text_url, is_external=True, size="2"),
        ),
    )


def _key_row(row) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row["name"]),
        rx.table.cell(row["role"]),
        rx.table.cell(rx.code(row["prefix"])),
        rx.table.cell(row["last_used"]),
        rx.table.cell(row["expires"]),
        rx.table.cell(row["status"]),
        rx.table.cell(
            rx.cond(
                row["status"] == "active",
                rx.button("Revoke", size="1", color_scheme="red", on_click=A.revoke_key(row["id"])),
            )
        ),
        data_testid="key-" + row["name"],
    )


def _keys() -> rx.Component:
    return rx.vstack(
        rx.heading("API keys", size="4", as_="h2"),
        rx.text("A key acts for this business with the permissions of its role. See /api/docs.", size="2"),
        rx.form(
            rx.hstack(
                field("Name", "name", prefix="key"),
                rx.select.root(  # the low-level form: aria-label on the trigger, which has the combobox role
                    rx.select.trigger(aria_label="Role"),
                    rx.select.content(*[rx.select.item(r, value=r) for r in ROLES]),
                    name="role",
                    default_value="viewer",
                ),
                field("Expires in days (optional)", "expires_in_days", required=False, prefix="key"),
                rx.button("Create key", type="submit"),
                align="end",
                wrap="wrap",
            ),
            on_submit=A.create_key,
            reset_on_submit=True,
        ),
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    *[
                        rx.table.column_header_cell(h)
                        for h in ("Name", "Role", "Key", "Last used", "Expires", "Status", "")
                    ]
                )
            ),
            rx.table.body(rx.foreach(A.keys, _key_row)),
            width="100%",
        ),
        width="100%",
    )


def _endpoint_row(row) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.code(row["url"])),
        rx.table.cell(row["kinds"]),
        rx.table.cell(row["state"]),
        rx.table.cell(
            rx.hstack(
                rx.button("Deliveries", size="1", variant="soft", on_click=A.show_deliveries(row["id"])),
                rx.button("Send test event", size="1", variant="soft", on_click=A.send_test(row["id"])),
                rx.cond(
                    row["enabled"] == "1",
                    rx.button("Disable", size="1", variant="soft", on_click=A.toggle_endpoint(row["id"], False)),
                    rx.button("Enable", size="1", variant="soft", on_click=A.toggle_endpoint(row["id"], True)),
                ),
                rx.button("Delete", size="1", color_scheme="red", on_click=A.delete_endpoint(row["id"])),
            )
        ),
        data_testid="endpoint",
    )


def _delivery_row(row) -> rx.Component:
    return rx.table.row(
        *[rx.table.cell(row[k]) for k in ("kind", "status", "attempts", "code", "ms", "when")],
        rx.table.cell(rx.button("Resend", size="1", on_click=A.resend(row["id"]))),
        data_testid="delivery",
    )


def _webhooks() -> rx.Component:
    return rx.vstack(
        rx.heading("Webhooks", size="4", as_="h2"),
        rx.text("Signed HTTPS callbacks (header ReUp-Signature), retried for 24 hours.", size="2"),
        rx.form(
            rx.vstack(
                field("HTTPS URL", "url", prefix="hook"),
                rx.hstack(*[rx.checkbox(k, name=f"kind_{k}") for k in WEBHOOK_KINDS], wrap="wrap", spacing="3"),
                rx.button("Add endpoint", type="submit"),
            ),
            on_submit=A.create_endpoint,
            reset_on_submit=True,
        ),
        rx.table.root(rx.table.body(rx.foreach(A.endpoints, _endpoint_row)), width="100%"),
        rx.cond(
            A.deliveries_for != "",
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        *[
                            rx.table.column_header_cell(h)
                            for h in ("Event", "Status", "Tries", "Code", "Time", "When", "")
                        ]
                    )
                ),
                rx.table.body(rx.foreach(A.deliveries, _delivery_row)),
                width="100%",
            ),
        ),
        width="100%",
    )


@rx.page(route="/settings/api", title="API · ReUp", on_load=A.load)
def settings_api() -> rx.Component:
    return _layout("API", _messages(A), _secret(), _keys(), _webhooks())
