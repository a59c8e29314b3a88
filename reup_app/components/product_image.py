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


# How wide the picture is drawn: cards fill the phone's width, else a grid column; the product
# page's main picture at most 420 px. The browser picks the smallest srcset variant that fits.
CARD_SIZES = "(max-width: 640px) 100vw, (max-width: 1100px) 50vw, 320px"
GALLERY_SIZES = "(max-width: 480px) 100vw, 420px"


def product_image(url, alt, *, eager: bool = False, srcset="", sizes: str = CARD_SIZES) -> rx.Component:
    """`url` "" shows the placeholder. Lazy unless `eager` (the product page's main picture);
    `srcset` (the sized variants, may be "") lets small screens fetch a small file."""
    return rx.cond(
        url != "",
        rx.image(
            src=url,
            src_set=srcset,
            sizes=sizes,
            alt=alt,
            loading="eager" if eager else "lazy",
            decoding="async",
            width="100%",
            style={"aspectRatio": "4 / 3", "objectFit": "cover", "borderRadius": "6px", "display": "block"},
            data_testid="product-image",
        ),
        placeholder(),
    )
