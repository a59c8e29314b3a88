"""Demo product pictures the seed draws itself: one simple PNG per category (bud cluster, pre-roll,
cartridge, gummies, jar, dropper bottle, tin) on that category's colour, so the demo marketplace
looks like a shop without shipping image files or needing an imaging library.

Pure Python (zlib + struct); each category is drawn once (320 x 240) and copied per product as
`<media root>/demo/<sku>.png`, which the image route serves like an upload.
"""

from __future__ import annotations

import functools
import struct
import zlib
from collections.abc import Callable, Iterable
from datetime import datetime

from sqlmodel import Session

from reup_app.models import Product, ProductImage
from reup_app.services.catalog import thumbnails
from reup_app.services.catalog.images import media_root

WIDTH, HEIGHT = 320, 240
Shape = Callable[[int, int], bool]
RGB = tuple[int, int, int]


def _circle(cx: int, cy: int, r: int) -> Shape:
    return lambda x, y: (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def _rect(x0: int, y0: int, x1: int, y1: int) -> Shape:
    return lambda x, y: x0 <= x <= x1 and y0 <= y <= y1


def _ellipse(cx: int, cy: int, rx: int, ry: int) -> Shape:
    return lambda x, y: ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1


# category -> (background top, background bottom, [(shape, colour)] drawn in order)
_ART: dict[str, tuple[RGB, RGB, list[tuple[Shape, RGB]]]] = {
    "flower": (
        (214, 240, 205),
        (150, 200, 140),
        [
            (_rect(156, 150, 164, 215), (90, 120, 60)),
            (_circle(160, 110, 52), (70, 140, 60)),
            (_circle(120, 130, 34), (95, 160, 70)),
            (_circle(200, 130, 34), (95, 160, 70)),
            (_circle(150, 95, 10), (200, 140, 60)),
            (_circle(180, 120, 8), (200, 140, 60)),
        ],
    ),
    "pre_rolls": (
        (250, 232, 208),
        (230, 190, 150),
        [
            (lambda x, y: 70 <= x <= 250 and abs(y - 120) <= 8 + (x - 70) * 10 // 180, (250, 248, 240)),
            (_rect(60, 108, 95, 132), (205, 170, 120)),
            (_ellipse(255, 120, 10, 20), (120, 150, 80)),
        ],
    ),
    "vapes": (
        (210, 225, 250),
        (150, 175, 225),
        [
            (_rect(140, 50, 180, 70), (40, 40, 50)),
            (_rect(135, 70, 185, 200), (235, 240, 245)),
            (_rect(145, 90, 175, 190), (220, 170, 60)),
            (_rect(135, 200, 185, 212), (120, 120, 130)),
        ],
    ),
    "edibles": (
        (252, 220, 232),
        (235, 170, 195),
        [
            (_circle(110 + 50 * (i % 3), 75 + 50 * (i // 3), 20), colour)
            for i, colour in enumerate(
                [
                    (230, 60, 90),
                    (250, 170, 40),
                    (120, 190, 70),
                    (140, 90, 200),
                    (230, 60, 90),
                    (250, 170, 40),
                    (120, 190, 70),
                    (140, 90, 200),
                    (230, 60, 90),
                ]
            )
        ],
    ),
    "concentrates": (
        (250, 240, 205),
        (225, 200, 140),
        [
            (_ellipse(160, 150, 80, 40), (200, 200, 205)),
            (_ellipse(160, 140, 70, 30), (235, 175, 40)),
            (_ellipse(145, 132, 20, 8), (250, 215, 120)),
        ],
    ),
    "tinctures": (
        (232, 220, 250),
        (185, 165, 225),
        [
            (_circle(160, 42, 14), (40, 40, 50)),
            (_rect(150, 50, 170, 85), (40, 40, 50)),
            (_rect(120, 85, 200, 215), (120, 70, 40)),
            (_rect(130, 120, 190, 180), (245, 240, 230)),
        ],
    ),
    "topicals": (
        (210, 240, 235),
        (150, 205, 195),
        [
            (_rect(90, 100, 230, 190), (245, 245, 240)),
            (_rect(85, 80, 235, 105), (60, 140, 130)),
            (_rect(110, 125, 210, 165), (170, 215, 205)),
        ],
    ),
}


def _png(rows: Iterable[bytes], width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + row for row in rows)  # filter type 0 per row
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


@functools.cache
def category_png(category: str) -> bytes:
    """The PNG for a category (an unknown category gets a neutral picture)."""
    top, bottom, shapes = _ART.get(category, ((235, 235, 235), (200, 200, 200), []))
    rows: list[bytes] = []
    for y in range(0, HEIGHT, 2):  # shapes are tested every other pixel and drawn 2 x 2 (4x cheaper)
        t = y / (HEIGHT - 1)
        bg = bytes(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        row = bytearray(bg * WIDTH)
        for shape, colour in shapes:
            for x in range(0, WIDTH, 2):
                if shape(x, y):
                    row[3 * x : 3 * x + 6] = bytes(colour) * 2
        rows.extend((bytes(row), bytes(row)))
    return _png(rows, WIDTH, HEIGHT)


def add_demo_images(session: Session, products: Iterable[Product], now: datetime) -> int:
    """One drawn picture per product (by category), stored like an upload; returns how many."""
    folder = media_root() / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for product in products:
        data = category_png(product.category)
        key = f"demo/{product.sku}.png"
        (media_root() / key).write_bytes(data)
        widths = thumbnails.store_variants(key, thumbnails.make_variants(data))
        session.add(
            ProductImage(
                product_id=product.id,
                storage_key=key,
                content_type="image/png",
                size_bytes=len(data),
                width=WIDTH,
                height=HEIGHT,
                variant_widths=widths,
                position=0,
                created_at=now,
            )
        )
        count += 1
    return count
