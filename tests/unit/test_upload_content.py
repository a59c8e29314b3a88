"""Uploads are checked by their bytes, not their names (issue 13, item 4)."""

from __future__ import annotations

import pytest

from reup_app.errors import ValidationError
from reup_app.services.catalog.images import sniff_image
from reup_app.services.catalog.product_csv import check_csv_content


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"PK\x03\x04\x14\x00\x06\x00", "spreadsheet"),
        (b"%PDF-1.7\n", "PDF"),
        (b"\x89PNG\r\n\x1a\n....", "image"),
        (b"MZ\x90\x00", "program"),
        (b"name,sku\nA,\x00B\n", "not a text"),
    ],
)
def test_a_csv_import_refuses_files_that_are_not_text(data, says):
    with pytest.raises(ValidationError, match=says):
        check_csv_content(data)


def test_a_real_csv_passes():
    check_csv_content(b"name,sku,unit_price\nBlue Dream 3.5g,BD-35,12.50\n")


@pytest.mark.parametrize("data", [b"name,sku\nA,B\n", b"GIF89a....", b"<svg onload=alert(1)>", b"%PDF-1.7"])
def test_an_image_upload_accepts_only_png_jpeg_webp_bytes(data):
    with pytest.raises(ValidationError):
        sniff_image(data)
