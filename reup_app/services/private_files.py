"""Private file storage and the content checks of uploads (one mechanism for product images and
business documents).

Bytes go to `<media root>/<key>` (media root: setting `media_dir`, REUP_MEDIA_DIR), never under
Reflex's public upload folder; rows keep the relative `key`. What a file *is* is decided by its
first bytes, never by its name or the browser's content type.
"""

from __future__ import annotations

import struct
from pathlib import Path

from reup_app.errors import NotFound, ValidationError
from reup_app.settings import get_settings

EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "application/pdf": "pdf"}


def media_root() -> Path:
    return Path(get_settings().media_dir)


def sniff_image(data: bytes) -> tuple[str, int | None, int | None]:
    """(content type, width, height) from the file's own bytes; ValidationError if not PNG/JPEG/WebP."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return "image/png", width, height
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", *_jpeg_size(data)
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", None, None
    raise ValidationError("That file is not a PNG, JPEG or WebP image.", "file")


def _jpeg_size(data: bytes) -> tuple[int | None, int | None]:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None, None
        marker = data[i + 1]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + struct.unpack(">H", data[i + 2 : i + 4])[0]
    return None, None


def sniff_document(data: bytes) -> str:
    """The content type of a business document: a PDF (header and end marker) or a PNG/JPEG scan."""
    if data.startswith(b"%PDF-"):
        if b"%%EOF" not in data[-1024:]:
            raise ValidationError("That PDF is incomplete (it has no end); upload the whole file.", "file")
        return "application/pdf"
    try:
        content_type, _w, _h = sniff_image(data)
    except ValidationError:
        content_type = ""
    if content_type in ("image/png", "image/jpeg"):
        return content_type
    raise ValidationError("That file is not a PDF, PNG or JPEG.", "file")


def store(key: str, data: bytes) -> Path:
    """Write `data` at `key` atomically (a partial file never shows under the final name)."""
    path = media_root() / key
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_bytes(bytes(data))
    tmp.replace(path)
    return path


def existing_path(key: str) -> Path:
    """The stored file for `key`, inside the media root; NotFound otherwise (no path tricks)."""
    root = media_root().resolve()
    path = (root / key).resolve()
    if root not in path.parents or not path.is_file():
        raise NotFound("File not found.")
    return path


def remove(key: str) -> None:
    (media_root() / key).unlink(missing_ok=True)
