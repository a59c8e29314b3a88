"""/settings/documents: the business's licence certificates and registration, for the admin review."""

import reflex as rx

from reup_app.components.documents import document_uploader, review_badge
from reup_app.pages.settings import _layout
from reup_app.state.documents import BusinessDocumentsState as D


def _license_item(lic) -> rx.Component:
    return rx.hstack(rx.text(lic["label"], size="2"), review_badge(lic["status"]), spacing="2", align="center")


@rx.page(route="/settings/documents", title="Documents · ReUp", on_load=D.load)
def settings_documents() -> rx.Component:
    return _layout(
        "Documents",
        rx.card(
            rx.vstack(
                rx.heading("Licences", size="4", as_="h2"),
                rx.text(
                    "ReUp checks each licence against its certificate. Upload the current certificate when "
                    "a licence is renewed.",
                    size="2",
                ),
                rx.foreach(D.licenses, _license_item),
                spacing="2",
                width="100%",
            ),
            width="100%",
        ),
        rx.card(
            rx.vstack(
                rx.heading("Documents", size="4", as_="h2"),
                document_uploader(D, download=D.download),
                spacing="3",
                width="100%",
            ),
            width="100%",
        ),
    )
