"""AES-GCM encryption at rest: format, AAD binding, tamper detection, key rotation."""

from __future__ import annotations

import pytest

from reup_app.security import crypto
from reup_app.security.crypto import CryptoError, decrypt, encrypt, needs_rotation
from reup_app.security.keys import KeyConfigError, b64d, b64e, generate_key, parse_key
from reup_app.settings import reset_settings_cache


@pytest.fixture
def keys_env(monkeypatch):
    """Set REUP_ENCRYPTION_KEYS for a test (and restore the settings afterwards)."""

    def set_keys(*entries: str) -> None:
        if entries:
            monkeypatch.setenv("REUP_ENCRYPTION_KEYS", ",".join(entries))
        else:
            monkeypatch.delenv("REUP_ENCRYPTION_KEYS", raising=False)
        reset_settings_cache()

    set_keys()
    yield set_keys
    monkeypatch.undo()
    reset_settings_cache()


def test_round_trip_with_dev_derived_key(keys_env):
    token = encrypt("JBSWY3DPEHPK3PXP", "users.mfa_secret:1")
    assert token.startswith("v1:s") and "JBSWY3DP" not in token
    assert decrypt(token, "users.mfa_secret:1") == "JBSWY3DPEHPK3PXP"
    assert encrypt("same", "a:1") != encrypt("same", "a:1")  # random nonce


def test_unicode_and_empty_round_trip(keys_env):
    for text in ["", "ünïcødé ✓", "x" * 10000]:
        assert decrypt(encrypt(text, "t:1"), "t:1") == text


def test_aad_mismatch_fails(keys_env):
    token = encrypt("secret", "users.mfa_secret:1")
    with pytest.raises(CryptoError):
        decrypt(token, "users.mfa_secret:2")
    with pytest.raises(CryptoError):
        decrypt(token, "integration_connections.credentials:1")


def test_aad_is_required(keys_env):
    with pytest.raises(CryptoError):
        encrypt("secret", "")


def test_tampering_fails(keys_env):
    token = encrypt("secret", "t:1")
    version, kid, data = token.split(":")
    blob = bytearray(b64d(data))
    for i in (0, 12, len(blob) - 1):  # nonce, ciphertext, tag
        bad = bytearray(blob)
        bad[i] ^= 1
        with pytest.raises(CryptoError):
            decrypt(f"{version}:{kid}:{b64e(bytes(bad))}", "t:1")
    with pytest.raises(CryptoError):
        decrypt(f"v2:{kid}:{data}", "t:1")
    with pytest.raises(CryptoError):
        decrypt(f"{version}:{kid}:{data[:10]}", "t:1")
    with pytest.raises(CryptoError):
        decrypt("not a ciphertext", "t:1")


def test_key_id_is_authenticated(keys_env):
    a = generate_key("a")
    keys_env(a, "b:" + a.split(":", 1)[1])  # same key material under two ids
    token = encrypt("secret", "t:1")
    assert token.startswith("v1:a:")
    with pytest.raises(CryptoError):
        decrypt(token.replace("v1:a:", "v1:b:"), "t:1")


def test_rotation_old_ciphertexts_decrypt_until_old_key_removed(keys_env):
    old, new = generate_key("old"), generate_key("new")
    keys_env(old)
    token_old = encrypt("credential", "t:1")
    assert crypto.key_id_of(token_old) == "old" and not needs_rotation(token_old)

    keys_env(new, old)  # step 1: new key first
    assert decrypt(token_old, "t:1") == "credential"
    assert needs_rotation(token_old)
    token_new = encrypt(decrypt(token_old, "t:1"), "t:1")  # what rotate_all does per value
    assert crypto.key_id_of(token_new) == "new" and not needs_rotation(token_new)

    keys_env(new)  # step 3: old key dropped
    assert decrypt(token_new, "t:1") == "credential"
    with pytest.raises(CryptoError, match="'old' is not configured"):
        decrypt(token_old, "t:1")


def test_changing_secret_key_without_configured_keys_is_detected(keys_env, monkeypatch):
    token = encrypt("s", "t:1")
    monkeypatch.setenv("REUP_SECRET_KEY", "a-completely-different-secret-key-0123456789")
    keys_env()
    with pytest.raises(CryptoError, match="not configured"):
        decrypt(token, "t:1")


def test_migrating_from_derived_key_to_configured_keys(keys_env):
    token = encrypt("s", "t:1")
    derived = crypto.derived_key_entry()
    keys_env(generate_key("k1"), derived)
    assert decrypt(token, "t:1") == "s" and needs_rotation(token)


def test_key_parsing():
    kid, key = parse_key(generate_key("abc"))
    assert kid == "abc" and len(key) == 32
    bare = generate_key("x").split(":", 1)[1]
    kid2, _ = parse_key(bare)
    assert kid2.startswith("h") and parse_key(bare)[0] == kid2
    with pytest.raises(KeyConfigError):
        parse_key("short:" + b64e(b"x" * 16))
    with pytest.raises(KeyConfigError):
        parse_key("bad id!:" + b64e(b"x" * 32))


def test_duplicate_key_ids_are_refused(keys_env):
    keys_env(generate_key("same"), generate_key("same"))
    with pytest.raises(CryptoError):
        encrypt("x", "t:1")


def test_integration_credentials_helpers(keys_env):
    class Conn:
        license_id, provider = 5, "metrc"

    Conn.credentials_encrypted = crypto.encrypt_credentials(5, "metrc", {"api_key": "k", "user": "u"})
    assert crypto.decrypt_credentials(Conn) == {"api_key": "k", "user": "u"}
    Conn.provider = "dutchie"
    with pytest.raises(CryptoError):
        crypto.decrypt_credentials(Conn)
