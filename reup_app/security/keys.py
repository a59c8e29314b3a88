"""Encryption-key helpers for REUP_ENCRYPTION_KEYS (see `reup_app.security.crypto`).

A key entry is ``<key_id>:<urlsafe-base64 of 32 random bytes>``; REUP_ENCRYPTION_KEYS is a
comma-separated list of entries, newest first. Print a fresh entry with:

    .venv/bin/python -m reup_app.security.keys
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from datetime import UTC, datetime

KEY_BYTES = 32
KEY_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class KeyConfigError(ValueError):
    """REUP_ENCRYPTION_KEYS holds an entry that is not a usable AES-256 key."""


def b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def b64d(text: str) -> bytes:
    text = text.strip()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def generate_key(key_id: str | None = None) -> str:
    """A new key entry ``<key_id>:<key>``; the id defaults to ``k<YYYYMMDD><4 hex>``."""
    if key_id is None:
        key_id = f"k{datetime.now(UTC):%Y%m%d}{secrets.token_hex(2)}"
    if not KEY_ID_RE.match(key_id):
        raise KeyConfigError("A key id is 1-32 characters of letters, digits, '_' or '-'.")
    return f"{key_id}:{b64e(secrets.token_bytes(KEY_BYTES))}"


def parse_key(entry: str) -> tuple[str, bytes]:
    """Parse one entry into (key_id, 32-byte key).

    A bare key without ``id:`` is accepted; its id is then derived from the key itself
    (``h`` + 8 hex of its SHA-256) so it stays stable.
    """
    entry = entry.strip()
    if ":" in entry:
        key_id, _, encoded = entry.partition(":")
        key_id = key_id.strip()
    else:
        key_id, encoded = "", entry
    try:
        raw = b64d(encoded)
    except (ValueError, TypeError) as exc:
        raise KeyConfigError(f"Encryption key {key_id or '?'} is not valid urlsafe base64.") from exc
    if len(raw) != KEY_BYTES:
        raise KeyConfigError(f"Encryption key {key_id or '?'} must decode to {KEY_BYTES} bytes, got {len(raw)}.")
    if not key_id:
        key_id = "h" + hashlib.sha256(raw).hexdigest()[:8]
    if not KEY_ID_RE.match(key_id):
        raise KeyConfigError(f"Encryption key id {key_id!r} must be 1-32 letters, digits, '_' or '-'.")
    return key_id, raw


if __name__ == "__main__":  # pragma: no cover - CLI helper
    print(generate_key())
