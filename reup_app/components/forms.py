"""Labelled form controls and callouts every page shares (every input has a <label>: screen readers
and the browser tests find inputs by it)."""

from __future__ import annotations

import json

import reflex as rx

NATIVE_SELECT_STYLE = {
    "padding": "6px 8px",
    "borderRadius": "6px",
    "border": f"1px solid {rx.color('gray', 7)}",
    "background": rx.color("gray", 1),
    "minHeight": "32px",
    "width": "100%",
}


def label(text: str, html_for: str) -> rx.Component:
    return rx.el.label(text, html_for=html_for, style={"fontWeight": "500", "fontSize": "14px"})


def native_select(id_: str, options: list[tuple[str, str]], **props) -> rx.Component:
    """A native <select> (accessible, works in forms); options are (value, label)."""
    return rx.el.select(
        *[rx.el.option(text, value=value) for value, text in options], id=id_, style=NATIVE_SELECT_STYLE, **props
    )


def field_error(message: rx.Var, id_: str) -> rx.Component:
    return rx.cond(message != "", rx.text(message, id=id_, size="1", color_scheme="red", role="alert"))


def labelled(
    text: str, id_: str, control: rx.Component, error: rx.Var | None = None, hint: str | None = None
) -> rx.Component:
    """Label above a control, optional hint and per-field error below."""
    children = [label(text, id_), control]
    if hint:
        children.append(rx.text(hint, size="1", color_scheme="gray"))
    if error is not None:
        children.append(field_error(error, f"{id_}-error"))
    return rx.vstack(*children, spacing="1", width="100%", align="stretch")


def field(
    text: str,
    name: str,
    *,
    type_: str = "text",
    autocomplete: str = "off",
    required: bool = True,
    prefix: str = "f",
    hint: str | None = None,
    error: rx.Var | None = None,
    **props,
) -> rx.Component:
    """A labelled text input that submits with its form as `name`; `error` (a str var) is shown
    under it and named by aria-describedby while it is set."""
    input_id = f"{prefix}-{name}"
    if error is not None:
        props.setdefault("aria_invalid", rx.cond(error != "", "true", "false"))
        props.setdefault("aria_describedby", rx.cond(error != "", f"{input_id}-error", ""))
    control = rx.input(
        id=input_id,
        name=name,
        type=type_,
        auto_complete=autocomplete,
        required=required,
        width="100%",
        size="3",
        **props,
    )
    return labelled(text, input_id, control, error=error, hint=hint)


def select_field(
    text: str,
    name: str,
    options: list[tuple[str, str]],
    *,
    default: str,
    prefix: str = "f",
    error: rx.Var | None = None,
    **props,
) -> rx.Component:
    """A labelled native <select> that submits with its form as `name` (`error` as for `field`)."""
    input_id = f"{prefix}-{name}"
    if error is not None:
        props.setdefault("aria_describedby", rx.cond(error != "", f"{input_id}-error", ""))
    control = native_select(input_id, options, name=name, default_value=default, **props)
    return labelled(text, input_id, control, error=error)


def error_callout(message: rx.Var, **props) -> rx.Component:
    return rx.cond(
        message != "",
        rx.callout(message, icon="triangle_alert", color_scheme="red", role="alert", width="100%", **props),
    )


def notice_callout(message: rx.Var, **props) -> rx.Component:
    return rx.cond(
        message != "", rx.callout(message, icon="check", color_scheme="grass", role="status", width="100%", **props)
    )


def form_card(
    heading: rx.Component,
    fields: list[rx.Component],
    *,
    error: rx.Var,
    submit: rx.Component | str,
    on_submit,
    on_cancel,
    columns: rx.Var | str,
    extra: tuple[rx.Component, ...] = (),
    after: tuple[rx.Component, ...] = (),
    reset_on_submit: bool = False,
    key=None,
    **card_props,
) -> rx.Component:
    """A card holding a form: heading, a responsive grid of labelled fields, any extra blocks, the
    error, then submit and Cancel buttons; `after` goes below the form inside the card."""
    submit_button = rx.button(submit, type="submit") if isinstance(submit, (str, rx.Var)) else submit
    form_props = {"key": key} if key is not None else {}
    return rx.card(
        rx.form(
            rx.vstack(
                heading,
                rx.grid(*fields, columns=columns, spacing="3", width="100%"),
                *extra,
                error_callout(error),
                rx.hstack(
                    submit_button,
                    rx.button("Cancel", type="button", variant="soft", color_scheme="gray", on_click=on_cancel),
                    spacing="3",
                ),
                spacing="4",
                width="100%",
            ),
            on_submit=on_submit,
            reset_on_submit=reset_on_submit,
            **form_props,
        ),
        *after,
        width="100%",
        margin_bottom="16px",
        **card_props,
    )


def _card_labels(headers: list[str]) -> tuple[str, rx.Component]:
    """On phones tables turn into cards (assets/reup.css); this names each cell with its column's
    header there: a class keyed by the headers and its nth-child rules."""
    import hashlib

    key = "cards-" + hashlib.sha1("|".join(headers).encode()).hexdigest()[:10]
    rules = "".join(
        f".{key} td:nth-child({i})::before{{content:{json.dumps(h + ': ')};font-weight:600}}"
        for i, h in enumerate(headers, start=1)
        if h
    )
    return key, rx.el.style(f"@media (max-width: 639px){{{rules}}}")


def data_table(headers: list[str], rows: rx.Var, render_row, *, scroll: bool = True, **table_props) -> rx.Component:
    """A table of `rows` (a list var) with one header row; on phones each row is a card whose
    cells are labelled with their column (no sideways scrolling; see assets/reup.css)."""
    table_props.setdefault("width", "100%")
    key, labels = _card_labels(headers)
    table_props["class_name"] = f"{table_props.get('class_name', '')} {key}".strip()
    table = rx.table.root(
        rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in headers])),
        rx.table.body(rx.foreach(rows, render_row)),
        **table_props,
    )
    return rx.box(labels, table, overflow_x="auto", width="100%") if scroll else rx.fragment(labels, table)


def rejected_files(rejected: rx.Var) -> rx.Var:
    """For `rx.upload(on_drop_rejected=lambda r: State.handler(rejected_files(r)))`: only the names and
    reasons reach the server. Passing the rejections as they are would send the File objects over
    the WebSocket, and a large one closes the connection."""
    return rx.Var(
        f"({rejected}).map((r) => ({{name: String(r.file?.name ?? ''), "
        f"codes: (r.errors ?? []).map((e) => String(e.code))}}))"
    ).to(list)


def name_file_input(upload: rx.Component, name: str) -> rx.Component:
    """Give an `rx.upload`'s hidden file <input> an accessible name (Reflex renders it without one,
    which axe reports as an unlabelled form field); returns `upload`."""
    stack = [upload]
    while stack:
        node = stack.pop()
        if getattr(node, "tag", None) == "input":
            node.custom_attrs["aria-label"] = name
            return upload
        stack.extend(getattr(node, "children", []))
    raise ValueError("no file input inside this upload component")
