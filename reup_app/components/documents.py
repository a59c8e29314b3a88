"""The business-document upload form and list (sign-up completion and /settings/documents)."""

from __future__ import annotations

import reflex as rx

from reup_app.components.forms import (
    NATIVE_SELECT_STYLE,
    error_callout,
    label,
    name_file_input,
    notice_callout,
    rejected_files,
)
from reup_app.state.documents import ACCEPT, KIND_CHOICES, MAX_BYTES, UPLOAD_ID


def review_badge(status: rx.Var) -> rx.Component:
    return rx.badge(
        status,
        color_scheme=rx.match(status, ("approved", "grass"), ("rejected", "red"), "amber"),
        data_testid="review-status",
    )


def _document_item(d: rx.Var, download=None) -> rx.Component:
    name = (
        rx.link(d["filename"], on_click=download(d["id"]), href="#", aria_label="Download " + d["filename"])
        if download is not None
        else rx.text(d["filename"], weight="medium")
    )
    return rx.hstack(
        rx.icon("file-text", size=16, aria_hidden="true"),
        name,
        rx.text(d["kind"], " · ", d["size"], " · ", d["uploaded"], size="1", color_scheme="gray"),
        review_badge(d["status"]),
        rx.cond(d["reason"] != "", rx.text(d["reason"], size="1", color_scheme="red")),
        spacing="2",
        align="center",
        wrap="wrap",
        data_testid="document-row",
    )


def document_uploader(S, *, download=None) -> rx.Component:
    """`S` is a state with `_DocumentForm`'s vars and an `upload(files)` handler."""
    return rx.vstack(
        rx.hstack(
            rx.vstack(
                label("Kind of document", "doc-kind"),
                rx.el.select(
                    *[rx.el.option(text, value=value) for value, text in KIND_CHOICES],
                    id="doc-kind",
                    value=S.kind,
                    on_change=S.set_kind,
                    style=NATIVE_SELECT_STYLE,
                ),
                spacing="1",
            ),
            rx.cond(
                S.kind == "state_license",
                rx.vstack(
                    label("Licence", "doc-license"),
                    rx.el.select(
                        rx.foreach(S.licenses, lambda lic: rx.el.option(lic["label"], value=lic["id"])),
                        id="doc-license",
                        value=S.license_id,
                        on_change=S.set_license_id,
                        style=NATIVE_SELECT_STYLE,
                    ),
                    spacing="1",
                ),
            ),
            spacing="4",
            wrap="wrap",
            width="100%",
        ),
        name_file_input(
            rx.upload(
                rx.vstack(
                    rx.icon("file-up", aria_hidden="true"),
                    rx.text("Drop a PDF, PNG or JPEG here or click to choose (at most 10 MB)", size="2"),
                    align="center",
                    spacing="1",
                ),
                id=UPLOAD_ID,
                accept=ACCEPT,
                max_size=MAX_BYTES,
                multiple=True,
                border=f"1px dashed {rx.color('gray', 8)}",
                padding="16px",
                border_radius="8px",
                width="100%",
                aria_label="Choose documents",
                on_drop_rejected=lambda rejected: S.files_rejected(rejected_files(rejected)),
            ),
            "Choose documents",
        ),
        rx.text(rx.selected_files(UPLOAD_ID).join(", "), size="1", data_testid="documents-selected"),
        rx.button("Upload documents", on_click=S.upload(rx.upload_files(upload_id=UPLOAD_ID)), variant="soft"),
        error_callout(S.doc_error),
        notice_callout(S.doc_notice),
        rx.cond(
            S.documents.length() > 0,
            rx.vstack(rx.foreach(S.documents, lambda d: _document_item(d, download)), spacing="2", width="100%"),
            rx.text("No documents yet.", size="2", color_scheme="gray"),
        ),
        spacing="3",
        width="100%",
        align="start",
    )
