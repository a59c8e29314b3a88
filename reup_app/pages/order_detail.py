"""/orders/<number>: one order: lines, totals, timeline, actions (with the pre-ship checklist), METRC
manifest, messages, invoice and payments."""

import reflex as rx

from reup_app.components.shell import page_shell
from reup_app.components.status import SELECT_STYLE, status_badge
from reup_app.pages.order_compliance import manifest_card, preship_checklist
from reup_app.pages.order_delivery import delivery_panel
from reup_app.state.order_detail import ACTION_LABELS, MAX_TEXT, PAYMENT_METHODS, OrderDetailState

S = OrderDetailState
O = S.order  # noqa: E741  (reads as "the order" in the layout below)


def _section(title: str, *children, **props) -> rx.Component:
    return rx.card(rx.heading(title, size="4", as_="h2", margin_bottom="8px"), *children, width="100%", **props)


def _fact(label: str, value) -> rx.Component:
    return rx.cond(
        value != "", rx.vstack(rx.text(label, size="1", color_scheme="gray"), rx.text(value, size="2"), spacing="0")
    )


def _header() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.heading("Order ", O["number"], size="7", as_="h1"),
            status_badge(O["status"], O["status_label"]),
            align="center",
            spacing="3",
            wrap="wrap",
        ),
        rx.flex(
            _fact("Seller", O["seller"]),
            _fact("Buyer", O["buyer"]),
            _fact("Placed", O["placed"]),
            _fact("Payment terms", O["terms"]),
            _fact("Buyer license", O["buyer_license"]),
            _fact("Seller license", O["seller_license"]),
            _fact("Requested delivery", O["requested"]),
            _fact("Delivery preferences", O["delivery"]),
            _fact("Delivery", O["delivery_status"]),
            gap="24px",
            wrap="wrap",
        ),
        rx.cond(O["notes"] != "", rx.text("Notes: ", O["notes"], size="2")),
        spacing="3",
        align="start",
        width="100%",
    )


def _action_button(action: str, label: str) -> rx.Component:
    danger = action in ("reject", "cancel")
    return rx.cond(
        S.actions.contains(action),
        rx.button(
            label,
            on_click=S.ask_cancel if action == "cancel" else S.act(action),
            color_scheme="red" if danger else "grass",
            variant="soft" if danger else "solid",
            disabled=S.preship_blocked if action == "ship" else False,
        ),
    )


SHIP_FORM_INPUTS = (
    ("driver_license_number", "Driver license no.", "text"),
    ("driver_phone", "Driver phone", "tel"),
    ("vehicle_make", "Vehicle make", "text"),
    ("vehicle_model", "Vehicle model", "text"),
    ("vehicle_plate", "License plate", "text"),
    ("etd", "Departs (UTC)", "datetime-local"),
    ("eta", "Arrives (UTC)", "datetime-local"),
)


def _ship_field(field: str, label: str, kind: str) -> rx.Component:
    """One optional METRC transporter field of the ship form (recommended for the manifest)."""
    return rx.vstack(
        rx.el.label(label, html_for=f"ship-{field}", style={"fontSize": "13px"}),
        rx.input(
            id=f"ship-{field}",
            type=kind,
            value=S.ship_form.get(field, ""),
            on_change=lambda v: S.set_ship_field(field, v),
            placeholder="recommended",
        ),
        spacing="1",
    )


def _cancel_dialog() -> rx.Component:
    """The buyer's cancel: confirm, with the reason the seller will read (required)."""
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Cancel order ", O["number"], "?"),
            rx.alert_dialog.description(
                "The seller is told at once and the reserved stock goes back on sale. This can't be undone.",
                size="2",
            ),
            rx.vstack(
                rx.el.label("Why are you cancelling? (required)", html_for="cancel-reason", style={"fontSize": "13px"}),
                rx.text_area(
                    id="cancel-reason",
                    value=S.reason,
                    on_change=S.set_reason,
                    max_length=MAX_TEXT["reason"],
                    rows="3",
                    width="100%",
                ),
                rx.cond(S.error != "", rx.text(S.error, size="2", color_scheme="red", role="alert")),
                spacing="1",
                width="100%",
                margin_top="12px",
            ),
            rx.flex(
                rx.alert_dialog.cancel(
                    rx.button("Keep order", variant="soft", color_scheme="gray", on_click=S.keep_order)
                ),
                rx.button("Cancel order", color_scheme="red", on_click=S.act("cancel"), data_testid="confirm-cancel"),
                gap="3",
                justify="end",
                margin_top="16px",
            ),
        ),
        open=S.confirming_cancel,
    )


def _actions() -> rx.Component:
    needs_reason = S.actions.contains("reject") | S.can_hold  # the buyer's cancel asks in its dialog
    return rx.cond(
        (S.actions.length() > 0) | S.can_hold,
        _section(
            "Actions",
            rx.flex(*[_action_button(a, label) for a, label in ACTION_LABELS.items()], gap="8px", wrap="wrap"),
            rx.cond(
                S.actions.contains("ship"),
                rx.flex(
                    rx.vstack(
                        rx.el.label("Driver", html_for="ship-driver", style={"fontSize": "13px"}),
                        rx.input(
                            id="ship-driver", value=S.driver_name, on_change=S.set_driver_name, placeholder="optional"
                        ),
                        spacing="1",
                    ),
                    rx.vstack(
                        rx.el.label("Vehicle", html_for="ship-vehicle", style={"fontSize": "13px"}),
                        rx.input(id="ship-vehicle", value=S.vehicle, on_change=S.set_vehicle, placeholder="optional"),
                        spacing="1",
                    ),
                    *[_ship_field(f, label, kind) for f, label, kind in SHIP_FORM_INPUTS],
                    gap="12px",
                    wrap="wrap",
                    margin_top="12px",
                ),
            ),
            preship_checklist(),
            rx.cond(
                needs_reason,
                rx.box(
                    rx.el.label("Reason", html_for="order-reason", style={"fontSize": "13px"}),
                    rx.input(
                        id="order-reason",
                        value=S.reason,
                        on_change=S.set_reason,
                        placeholder="Reason for rejecting / cancelling / a credit hold",
                        max_width="480px",
                    ),
                    margin_top="12px",
                ),
            ),
            rx.cond(
                S.can_hold,
                rx.hstack(
                    rx.cond(
                        S.buyer_on_hold,
                        rx.hstack(
                            rx.badge("Customer on hold", color_scheme="red"),
                            rx.text(S.hold_reason, size="2"),
                            rx.button("Release hold", variant="soft", on_click=S.set_hold(False)),
                        ),
                        rx.button(
                            "Put customer on hold", variant="soft", color_scheme="orange", on_click=S.set_hold(True)
                        ),
                    ),
                    margin_top="12px",
                    align="center",
                ),
            ),
            data_testid="order-actions",
        ),
    )


def _line(line: rx.Var) -> rx.Component:
    qty_id = "line-qty-" + line["id"]
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.text(line["name"], weight="medium"), rx.text(line["sku"], size="1", color_scheme="gray"), spacing="0"
            )
        ),
        rx.table.cell(
            rx.cond(
                S.can_edit_lines,
                rx.hstack(
                    rx.el.label("Quantity", html_for=qty_id, style={"position": "absolute", "left": "-9999px"}),
                    rx.input(
                        id=qty_id,
                        default_value=line["quantity"],
                        key=line["id"] + "-" + line["quantity"],
                        width="90px",
                        on_blur=lambda v: S.change_line(line["id"], v),
                    ),
                    rx.button(
                        "Remove line", size="1", variant="ghost", color_scheme="red", on_click=S.remove_line(line["id"])
                    ),
                    align="center",
                ),
                rx.text(line["quantity"]),
            )
        ),
        rx.table.cell(line["price"]),
        rx.table.cell(line["total"]),
        rx.table.cell(
            rx.cond(
                line["packages"] != "",
                rx.vstack(
                    rx.text(line["packages"], size="1", font_family="monospace"),
                    rx.cond(line["confirmed"] == "no", rx.text("provisional", size="1", color_scheme="gray")),
                    spacing="0",
                ),
            )
        ),
        data_testid="order-line",
    )


def _lines() -> rx.Component:
    return _section(
        "Lines",
        rx.box(
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        *[
                            rx.table.column_header_cell(h)
                            for h in ("Product", "Quantity", "Unit price", "Total", "Packages")
                        ]
                    )
                ),
                rx.table.body(rx.foreach(S.lines, _line)),
                size="1",
                width="100%",
            ),
            overflow_x="auto",
        ),
        rx.vstack(
            rx.text("Subtotal ", O["subtotal"], size="2"),
            rx.text("Tax ", O["tax"], size="2"),
            rx.text("Total ", rx.text.strong(O["total"]), size="3", data_testid="order-total"),
            align="end",
            spacing="1",
            width="100%",
            margin_top="8px",
        ),
        rx.cond(S.can_reorder, rx.button("Reorder", variant="soft", on_click=S.reorder, margin_top="8px")),
    )


def _timeline() -> rx.Component:
    return _section(
        "Timeline",
        rx.vstack(
            rx.foreach(
                S.events,
                lambda e: rx.hstack(
                    rx.text(e["when"], size="1", color_scheme="gray", min_width="150px"),
                    rx.text(rx.text.strong(e["what"]), " · ", e["who"], size="2"),
                    align="baseline",
                    data_testid="timeline-event",
                ),
            ),
            spacing="2",
        ),
    )


def _messages() -> rx.Component:
    return _section(
        "Messages",
        rx.vstack(
            rx.foreach(
                S.thread,
                lambda m: rx.box(
                    rx.text(
                        rx.text.strong(m["author"]),
                        " · ",
                        m["business"],
                        " · ",
                        m["when"],
                        size="1",
                        color_scheme="gray",
                    ),
                    rx.text(m["body"], size="2", white_space="pre-wrap", style={"overflowWrap": "anywhere"}),
                    data_testid="order-message",
                ),
            ),
            rx.cond(S.thread.length() == 0, rx.text("No messages yet.", size="2", color_scheme="gray")),
            spacing="3",
            width="100%",
        ),
        rx.cond(
            S.can_message,
            rx.vstack(
                rx.el.label("Message", html_for="order-message-body", style={"fontSize": "13px"}),
                rx.text_area(
                    id="order-message-body",
                    value=S.message_body,
                    on_change=S.set_message_body,
                    max_length=MAX_TEXT["message"],
                    rows="3",
                    width="100%",
                    aria_describedby="order-message-count",
                ),
                rx.hstack(
                    rx.button("Send", on_click=S.send_message),
                    rx.spacer(),
                    rx.text(
                        S.message_body.length(),
                        f" / {MAX_TEXT['message']}",
                        id="order-message-count",
                        size="1",
                        color_scheme="gray",
                        data_testid="message-counter",
                    ),
                    width="100%",
                    align="center",
                ),
                spacing="2",
                width="100%",
                margin_top="12px",
            ),
        ),
    )


def _invoice() -> rx.Component:
    inv = S.invoice
    return rx.cond(
        inv.contains("number"),
        _section(
            "Invoice",
            rx.flex(
                _fact("Invoice", inv["number"]),
                _fact("Status", inv["status"]),
                _fact("Issued", inv["issued"]),
                _fact("Due", inv["due"]),
                _fact("Total", inv["total"]),
                _fact("Paid", inv["paid"]),
                _fact("Balance", inv["balance"]),
                gap="24px",
                wrap="wrap",
            ),
            rx.cond(
                inv["overdue"] != "", rx.callout(inv["overdue"], icon="clock", color_scheme="red", margin_top="8px")
            ),
            rx.button("Download PDF", variant="soft", on_click=S.download_invoice, margin_top="8px"),
            rx.cond(
                S.payment_rows.length() > 0,
                rx.vstack(
                    rx.text("Payments", weight="medium", size="2"),
                    rx.foreach(
                        S.payment_rows,
                        lambda p: rx.text(
                            p["when"],
                            " · ",
                            p["amount"],
                            " · ",
                            p["method"],
                            " ",
                            p["reference"],
                            size="2",
                            data_testid="payment-row",
                        ),
                    ),
                    spacing="1",
                    margin_top="12px",
                ),
            ),
            rx.cond(
                S.can_record_payment & (inv["open"] == "yes"),
                rx.flex(
                    rx.vstack(
                        rx.el.label("Amount", html_for="payment-amount", style={"fontSize": "13px"}),
                        rx.input(
                            id="payment-amount",
                            value=S.payment_amount,
                            on_change=S.set_payment_amount,
                            input_mode="decimal",
                            width="140px",
                        ),
                        spacing="1",
                    ),
                    rx.vstack(
                        rx.el.label("Method", html_for="payment-method", style={"fontSize": "13px"}),
                        rx.el.select(
                            *[rx.el.option(label, value=v) for v, label in PAYMENT_METHODS],
                            id="payment-method",
                            value=S.payment_method,
                            on_change=S.set_payment_method,
                            style=SELECT_STYLE,
                        ),
                        spacing="1",
                    ),
                    rx.vstack(
                        rx.el.label("Reference", html_for="payment-reference", style={"fontSize": "13px"}),
                        rx.input(
                            id="payment-reference",
                            value=S.payment_reference,
                            on_change=S.set_payment_reference,
                            width="200px",
                        ),
                        spacing="1",
                    ),
                    rx.button("Record payment", on_click=S.record_payment),
                    gap="12px",
                    wrap="wrap",
                    align="end",
                    margin_top="12px",
                ),
            ),
        ),
    )


@rx.page(route="/orders/[order_number]", title=OrderDetailState.page_title, on_load=OrderDetailState.load)
def order_detail_page() -> rx.Component:
    return page_shell(
        rx.link("← Orders", href="/orders", size="2"),
        rx.cond(
            S.error != "", rx.callout(S.error, icon="triangle_alert", color_scheme="red", role="alert", margin_y="12px")
        ),
        rx.cond(
            S.notice != "", rx.callout(S.notice, icon="check", color_scheme="grass", role="status", margin_y="12px")
        ),
        rx.cond(
            O.contains("number"),
            rx.vstack(
                _header(),
                _actions(),
                _cancel_dialog(),
                _lines(),
                delivery_panel(),
                manifest_card(),
                rx.cond(S.pos_push != "", rx.callout(S.pos_push, icon="store", data_testid="pos-push-status")),
                _invoice(),
                _timeline(),
                _messages(),
                spacing="4",
                width="100%",
                margin_top="12px",
            ),
        ),
    )
