"""Encryption of secrets at rest (AES-256-GCM).

Used for `users.mfa_secret_encrypted` and `integration_connections.credentials_encrypted`.

Ciphertext format (self-describing, ASCII):

    v1:<key_id>:<urlsafe-base64(nonce(12) + ciphertext + tag(16))>

The associated data (AAD) binds a ciphertext to its row and column, e.g.
``users.mfa_secret:42``: a value copied into another row or column fails to decrypt. The version
and key id are authenticated too.

Keys
----
``REUP_ENCRYPTION_KEYS`` is a comma-separated list of ``<key_id>:<urlsafe-base64 32 bytes>``,
**newest first**. New ciphertexts always use the first key; any listed key decrypts.
Generate an entry with ``python -m reup_app.security.keys``.

When no key is configured (development), one key is derived from ``REUP_SECRET_KEY`` with HKDF;
its id is ``s`` + 8 hex of a hash of the derived key, so changing the secret yields "unknown key"
rather than garbage. Production should configure REUP_ENCRYPTION_KEYS explicitly.

Key rotation
------------
1. Generate a new key and put it FIRST: ``REUP_ENCRYPTION_KEYS=new:...,old:...``; restart every
   process (web workers and jobs). New writes use ``new``; old values still decrypt with ``old``.
2. Re-encrypt stored values with the newest key::

       from reup_app.db import unit_of_work
       from reup_app.security import crypto
       with unit_of_work(None) as s:
           print(crypto.rotate_all(s))

   (idempotent; values already on the newest key are skipped; check that ``failed`` is 0).
3. Only then remove ``old`` from REUP_ENCRYPTION_KEYS and restart. A value still encrypted with a
   removed key can no longer be decrypted (`CryptoError: ... key 'old' is not configured`).

Moving from the dev-derived key to configured keys works the same way: include the derived key
as an explicit old entry (see `derived_key_entry()`), rotate, then drop it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from reup_app.security.keys import b64d, b64e, parse_key
from reup_app.settings import get_settings

log = logging.getLogger(__name__)

VERSION = "v1"
NONCE_BYTES = 12


class CryptoError(Exception):
    """A value cannot be encrypted or decrypted (unknown key, wrong AAD, tampering, bad format)."""


@dataclass(frozen=True)
class KeyRing:
    keys: tuple[tuple[str, bytes], ...]  # newest first

    @property
    def current_id(self) -> str:
        return self.keys[0][0]

    def get(self, key_id: str) -> bytes | None:
        for kid, key in self.keys:
            if kid == key_id:
                return key
        return None

    def key(self, key_id: str) -> bytes:
        """The key with this id, which must be in the ring (e.g. `current_id`)."""
        key = self.get(key_id)
        if key is None:
            raise CryptoError(f"Encryption key {key_id!r} is not in the key ring.")
        return key


def _derive_from_secret(secret_key: str) -> tuple[str, bytes]:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"reup-encryption-at-rest", info=b"reup aes-256-gcm v1"
    ).derive(secret_key.encode("utf-8"))
    return "s" + hashlib.sha256(b"reup-key-id" + key).hexdigest()[:8], key


def derived_key_entry(secret_key: str | None = None) -> str:
    """The dev-derived key as a REUP_ENCRYPTION_KEYS entry (for migrating to explicit keys)."""
    kid, key = _derive_from_secret(secret_key or get_settings().secret_key)
    return f"{kid}:{b64e(key)}"


@lru_cache(maxsize=8)
def _build_keyring(secret_key: str, entries: tuple[str, ...]) -> KeyRing:
    if entries:
        keys = tuple(parse_key(e) for e in entries)
        ids = [k for k, _ in keys]
        if len(set(ids)) != len(ids):
            raise CryptoError("REUP_ENCRYPTION_KEYS lists the same key id twice.")
        return KeyRing(keys)
    return KeyRing((_derive_from_secret(secret_key),))


def keyring() -> KeyRing:
    s = get_settings()
    return _build_keyring(s.secret_key, tuple(s.encryption_keys))


def _aad_bytes(key_id: str, aad: str) -> bytes:
    return f"{VERSION}|{key_id}|{aad}".encode()


def encrypt(plaintext: str, aad: str, *, ring: KeyRing | None = None) -> str:
    """Encrypt `plaintext` with the newest key, bound to `aad` (e.g. ``users.mfa_secret:42``)."""
    if not isinstance(plaintext, str):
        raise CryptoError("Only text can be encrypted.")
    if not aad:
        raise CryptoError("Associated data (row/column binding) is required.")
    ring = ring or keyring()
    kid = ring.current_id
    nonce = os.urandom(NONCE_BYTES)
    ct = AESGCM(ring.key(kid)).encrypt(nonce, plaintext.encode("utf-8"), _aad_bytes(kid, aad))
    return f"{VERSION}:{kid}:{b64e(nonce + ct)}"


def _parse(token: str) -> tuple[str, str, bytes]:
    if not isinstance(token, str):
        raise CryptoError("Encrypted value is not text.")
    parts = token.split(":", 2)
    if len(parts) != 3 or not parts[1] or not parts[2]:
        raise CryptoError("Encrypted value is not in the v1:<key>:<data> format.")
    version, kid, data = parts
    if version != VERSION:
        raise CryptoError(f"Unsupported ciphertext version {version!r}.")
    try:
        blob = b64d(data)
    except (ValueError, TypeError) as exc:
        raise CryptoError("Encrypted value is not valid base64.") from exc
    if len(blob) < NONCE_BYTES + 16:
        raise CryptoError("Encrypted value is truncated.")
    return version, kid, blob


def decrypt(token: str, aad: str, *, ring: KeyRing | None = None) -> str:
    """Decrypt a value produced by `encrypt` with the same `aad`; raise CryptoError otherwise."""
    _, kid, blob = _parse(token)
    ring = ring or keyring()
    key = ring.get(kid)
    if key is None:
        raise CryptoError(f"Cannot decrypt: encryption key {kid!r} is not configured in REUP_ENCRYPTION_KEYS.")
    try:
        pt = AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], _aad_bytes(kid, aad))
    except InvalidTag as exc:
        raise CryptoError("Cannot decrypt: the value was tampered with or belongs to another row/column.") from exc
    return pt.decode("utf-8")


def key_id_of(token: str) -> str:
    return _parse(token)[1]


def needs_rotation(token: str, *, ring: KeyRing | None = None) -> bool:
    """True when `token` is not encrypted with the newest key."""
    return key_id_of(token) != (ring or keyring()).current_id


# --- the stored secret columns --------------------------------------------------------------


def mfa_secret_aad(user_id: int) -> str:
    return f"users.mfa_secret:{int(user_id)}"


def integration_credentials_aad(license_id: int, provider: str) -> str:
    """AAD for `integration_connections.credentials_encrypted`.

    Bound to the connection's natural key (license, provider) — unique, known before the row is
    inserted, and never changed — so credentials cannot be moved to another connection.
    """
    return f"integration_connections.credentials:{int(license_id)}:{provider}"


def encrypt_credentials(license_id: int, provider: str, credentials: dict[str, Any]) -> str:
    """Encrypt a connection's credentials dict (JSON) for `credentials_encrypted`."""
    return encrypt(json.dumps(credentials, sort_keys=True), integration_credentials_aad(license_id, provider))


def decrypt_credentials(connection: Any) -> dict[str, Any]:
    """Decrypt an IntegrationConnection's credentials back into a dict."""
    return json.loads(
        decrypt(
            connection.credentials_encrypted, integration_credentials_aad(connection.license_id, connection.provider)
        )
    )


def rotate_all(session, *, batch_size: int = 500, strict: bool = False) -> dict[str, int]:
    """Re-encrypt every stored secret with the newest key (idempotent). The caller commits.

    Returns counts of re-encrypted values per column and ``"failed"``: values that cannot be
    decrypted with any configured key (logged with their row id, left unchanged; with
    ``strict=True`` the first one raises CryptoError instead). Do not drop an old key while
    ``failed`` is not 0.
    """
    from sqlmodel import select

    from reup_app.models import IntegrationConnection, User

    ring = keyring()
    counts = {"users.mfa_secret_encrypted": 0, "integration_connections.credentials_encrypted": 0, "failed": 0}

    def _batches(model, column):
        last_id = 0
        while True:
            rows = session.exec(
                select(model).where(column.is_not(None), model.id > last_id).order_by(model.id).limit(batch_size)
            ).all()
            if not rows:
                return
            yield rows
            last_id = rows[-1].id

    def _rotate(row, attr: str, aad: str, label: str) -> None:
        value = getattr(row, attr)
        try:
            if not needs_rotation(value, ring=ring):
                return
            setattr(row, attr, encrypt(decrypt(value, aad, ring=ring), aad, ring=ring))
        except CryptoError as exc:
            if strict:
                raise
            log.error("cannot rotate %s of row %s: %s", label, row.id, exc)
            counts["failed"] += 1
            return
        session.add(row)
        counts[label] += 1

    for rows in _batches(User, User.mfa_secret_encrypted):
        for user in rows:
            _rotate(user, "mfa_secret_encrypted", mfa_secret_aad(user.id), "users.mfa_secret_encrypted")
        session.flush()
    for rows in _batches(IntegrationConnection, IntegrationConnection.credentials_encrypted):
        for conn in rows:
            _rotate(
                conn,
                "credentials_encrypted",
                integration_credentials_aad(conn.license_id, conn.provider),
                "integration_connections.credentials_encrypted",
            )
        session.flush()
    return counts
