"""The content security policy of a built page sent as a file: its inline scripts are hashed once
per file version (path, size, modification time), and a rebuilt page is hashed again."""

from __future__ import annotations

import base64
import gzip
import hashlib
import os

from reup_app.api import security_headers


def _hash(script: bytes) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"


def test_a_page_is_hashed_once_per_version(tmp_path, monkeypatch):
    page = tmp_path / "marketplace.html"
    page.write_bytes(b"<html><script>boot(1)</script><script src='/a.js'></script></html>")
    reads = []
    real = security_headers._page_hashes
    monkeypatch.setattr(security_headers, "_page_hashes", lambda body, enc: reads.append(body) or real(body, enc))

    assert security_headers._file_hashes(str(page), b"") == [_hash(b"boot(1)")]
    assert security_headers._file_hashes(str(page), b"") == [_hash(b"boot(1)")]
    assert len(reads) == 1

    page.write_bytes(b"<html><script>boot(22)</script></html>")  # rebuilt: another size and time
    os.utime(page, ns=(1, 1))
    assert security_headers._file_hashes(str(page), b"") == [_hash(b"boot(22)")]
    assert len(reads) == 2

    packed = tmp_path / "marketplace.html.gz"
    packed.write_bytes(gzip.compress(b"<script>boot(3)</script>"))
    assert security_headers._file_hashes(str(packed), b"gzip") == [_hash(b"boot(3)")]
    assert security_headers._file_hashes(str(tmp_path / "missing.html"), b"") == []
