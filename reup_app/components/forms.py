"""Form pieces every page shares: a labelled field, error and success callouts."""

from __future__ import annotations

import reflex as rx


def field(label: str, name: str, *, type_: str = "text", autocomplete: str = "off", required: bool = True,
          prefix: str = "f", hint: str | None = None, **props) -> rx.Component:
    """A visible <label> tied to its input (screen readers and tests find inputs by label)."""
    input_id = f"{prefix}-{name}"
    return rx.vstack(
        rx.el.label(label, html_for=input_id, style={"fontWeight": "500"}),
        rx.input(id=input_id, name=name, type=type_, auto_complete=autocomplete, required=required,
                 width="100%", size="3", **props),
        *([rx.text(hint, size="1", color_scheme="gray")] if hint else []),
        spacing="1",
        width="100%",
    )


def select_field(label: str, name: str, options: list[tuple[str, str]], *, default: str, prefix: str = "f",
                 **props) -> rx.Component:
    """A native <select> (label-addressable, submits with the form)."""
    input_id = f"{prefix}-{name}"
    return rx.vstack(
        rx.el.label(label, html_for=input_id, style={"fontWeight": "500"}),
        rx.el.select(
            *[rx.el.option(text, value=value) for value, text in options],
            id=input_id, name=name, default_value=default,
            style={"width": "100%", "padding": "8px", "borderRadius": "6px",
                   "border": f"1px solid {rx.color('gray', 7)}", "background": rx.color("gray", 1)},
            **props,
        ),
        spacing="1",
        width="100%",
    )


def error_callout(message: rx.Var) -> rx.Component:
    return rx.cond(message != "", rx.callout(message, icon="triangle_alert", color_scheme="red", role="alert",
                                             width="100%"))


def success_callout(message: rx.Var) -> rx.Component:
    return rx.cond(message != "", rx.callout(message, icon="circle_check", color_scheme="grass", role="status",
                                             width="100%"))
