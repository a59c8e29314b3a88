"""Sized variants of product images, so a phone downloads a 320 px picture, not the upload.

At upload (and for the demo seed) each image is decoded with Pillow -- which also proves the bytes
are a readable image, beyond their first bytes -- and re-encoded as WebP at VARIANT_WIDTHS (never
wider than the original). A variant that is not smaller than the original file is not kept: the
original serves that width. `ProductImage.variant_widths` lists the kept widths ("320,800"); the
variant of width w is stored beside the original as `<key>.w<w>.webp` and served by the image
route with `?w=<w>`; `srcset` lists them with their real widths.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from reup_app.errors import ValidationError
from reup_app.services import private_files

VARIANT_WIDTHS = (320, 800)
MAX_PIXELS = 40_000_000  # refuse decompression bombs before decoding
WEBP_QUALITY = 80


def variant_key(storage_key: str, width: int) -> str:
    return f"{storage_key}.w{int(width)}.webp"


@dataclass(frozen=True)
class Decoded:
    width: int
    height: int
    variants: dict[int, bytes]  # kept width -> WebP bytes


def make_variants(data: bytes, label: str = "The image") -> Decoded:
    """Decode `data` and encode the smaller WebP variants; ValidationError if it cannot be read."""
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.width * probe.height > MAX_PIXELS:
                raise ValidationError(f"{label} is too large ({probe.width}×{probe.height} pixels).", "file")
            image = ImageOps.exif_transpose(probe)
            image.load()
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise ValidationError(f"{label} could not be read as an image; it may be damaged.", "file") from None
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB")
    variants: dict[int, bytes] = {}
    for target in sorted({min(w, image.width) for w in VARIANT_WIDTHS}):
        height = max(1, round(image.height * target / image.width))
        sized = image if target == image.width else image.resize((target, height), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        sized.save(out, "WEBP", quality=WEBP_QUALITY, method=4)
        if out.tell() < len(data):
            variants[target] = out.getvalue()
    return Decoded(image.width, image.height, variants)


def store_variants(storage_key: str, decoded: Decoded) -> str | None:
    """Write the variants beside the original; the `variant_widths` column's value."""
    for width, blob in decoded.variants.items():
        private_files.store(variant_key(storage_key, width), blob)
    return ",".join(str(w) for w in sorted(decoded.variants)) or None


def remove_variants(storage_key: str, widths: str | None) -> None:
    for width in parse_widths(widths):
        private_files.remove(variant_key(storage_key, width))


def parse_widths(widths: str | None) -> list[int]:
    return [int(w) for w in (widths or "").split(",") if w.isdigit()]


def srcset(url: str, widths: str | None, original_width: int | None) -> str:
    """`url?w=320 320w, url?w=800 800w, url 1600w` (the original last, when its width is known)."""
    join = "&" if "?" in url else "?"
    parts = [f"{url}{join}w={w} {w}w" for w in parse_widths(widths)]
    if original_width and all(w < original_width for w in parse_widths(widths)):
        parts.append(f"{url} {original_width}w")
    return ", ".join(parts)
