"""Small labelled form controls shared by the seller pages (every input has a <label>)."""

from __future__ import annotations

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
    return rx.el.select(*[rx.el.option(text, value=value) for value, text in options], id=id_,
                        style=NATIVE_SELECT_STYLE, **props)


def field_error(message: rx.Var, id_: str) -> rx.Component:
    return rx.cond(message != "", rx.text(message, id=id_, size="1", color_scheme="red", role="alert"))


def labelled(text: str, id_: str, control: rx.Component, error: rx.Var | None = None,
             hint: str | None = None) -> rx.Component:
    """Label above a control, optional hint and per-field error below."""
    children = [label(text, id_), control]
    if hint:
        children.append(rx.text(hint, size="1", color_scheme="gray"))
    if error is not None:
        children.append(field_error(error, f"{id_}-error"))
    return rx.vstack(*children, spacing="1", width="100%", align="stretch")


def error_callout(message: rx.Var, **props) -> rx.Component:
    return rx.cond(message != "", rx.callout(message, icon="triangle_alert", color_scheme="red", role="alert",
                                             width="100%", **props))


def notice_callout(message: rx.Var, **props) -> rx.Component:
    return rx.cond(message != "", rx.callout(message, icon="check", color_scheme="grass", role="status",
                                             width="100%", **props))
