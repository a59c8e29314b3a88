"""Product pictures: a lazy-loaded image that fills its box at a fixed 4:3 shape (phone-friendly,
no layout jump), or a clear placeholder when the product has no image."""

import reflex as rx


def placeholder(height: str = "auto") -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon("image-off", size=28, aria_hidden="true"),
            rx.text("No photo yet", size="1"),
            align="center",
            spacing="1",
        ),
        width="100%",
        height=height,
        style={"aspectRatio": "4 / 3", "background": "var(--gray-3)", "color": "var(--gray-11)", "borderRadius": "6px"},
        data_testid="image-placeholder",
    )


def product_image(url, alt, *, eager: bool = False) -> rx.Component:
    """`url` "" shows the placeholder. Lazy unless `eager` (the product page's main picture)."""
    return rx.cond(
        url != "",
        rx.image(
            src=url,
            alt=alt,
            loading="eager" if eager else "lazy",
            decoding="async",
            width="100%",
            style={"aspectRatio": "4 / 3", "objectFit": "cover", "borderRadius": "6px", "display": "block"},
            data_testid="product-image",
        ),
        placeholder(),
    )
