"""TOTP verification (window, replay protection) and recovery-code hashing."""

from __future__ import annotations

import base64
import re

import pyotp
import pytest

from reup_app.security import mfa
from reup_app.security.ratelimit import MemoryBackend, set_backend

T0 = 1_900_000_020  # a step boundary (divisible by 30)


@pytest.fixture(autouse=True)
def memory_backend():
    backend = MemoryBackend()
    set_backend(backend)
    yield backend
    set_backend(None)


@pytest.fixture
def secret():
    return mfa.new_secret()


def code_at(secret, t):
    return pyotp.TOTP(secret).at(t)


def test_current_code_verifies(secret):
    assert mfa.verify_totp(1, secret, code_at(secret, T0), for_time=T0)


def test_code_with_spaces_verifies(secret):
    c = code_at(secret, T0)
    assert mfa.verify_totp(1, secret, f"{c[:3]} {c[3:]}", for_time=T0)


@pytest.mark.parametrize("offset", [-30, 30])
def test_adjacent_steps_are_accepted(secret, offset):
    assert mfa.verify_totp(1, secret, code_at(secret, T0 + offset), for_time=T0)


@pytest.mark.parametrize("offset", [-60, 60, -90, 90])
def test_steps_outside_the_window_are_refused(secret, offset):
    assert not mfa.verify_totp(1, secret, code_at(secret, T0 + offset), for_time=T0)


@pytest.mark.parametrize("bad", ["", "12345", "1234567", "abcdef", None])
def test_malformed_codes_are_refused(secret, bad):
    assert not mfa.verify_totp(1, secret, bad, for_time=T0)


def test_wrong_code_is_refused(secret):
    good = code_at(secret, T0)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    window = {code_at(secret, T0 + d) for d in (-30, 0, 30)}
    if wrong not in window:
        assert not mfa.verify_totp(1, secret, wrong, for_time=T0)


def test_replay_of_the_same_code_is_refused(secret):
    c = code_at(secret, T0)
    assert mfa.verify_totp(1, secret, c, for_time=T0)
    assert not mfa.verify_totp(1, secret, c, for_time=T0)
    assert not mfa.verify_totp(1, secret, c, for_time=T0 + 29)  # still inside the window


def test_an_older_step_after_a_newer_one_is_refused(secret):
    assert mfa.verify_totp(1, secret, code_at(secret, T0), for_time=T0)
    assert not mfa.verify_totp(1, secret, code_at(secret, T0 - 30), for_time=T0)
    assert mfa.verify_totp(1, secret, code_at(secret, T0 + 30), for_time=T0 + 30)


def test_replay_protection_is_per_user(secret):
    c = code_at(secret, T0)
    assert mfa.verify_totp(1, secret, c, for_time=T0)
    assert mfa.verify_totp(2, secret, c, for_time=T0)


def test_provisioning_uri_and_qr(secret):
    uri = mfa.provisioning_uri(secret, "a@example.test")
    assert uri.startswith("otpauth://totp/ReUp:a%40example.test?") and "issuer=ReUp" in uri and secret in uri
    data = mfa.qr_data_uri(uri)
    assert data.startswith("data:image/svg+xml;base64,")
    svg = base64.b64decode(data.split(",", 1)[1]).decode()
    assert "<svg" in svg and "<script" not in svg


def test_recovery_codes_format_and_uniqueness():
    codes = mfa.generate_recovery_codes()
    assert len(codes) == 10 and len(set(codes)) == 10
    for c in codes:
        assert re.fullmatch(r"[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}", c)


def test_recovery_code_hash_is_salted_and_checks():
    code = mfa.generate_recovery_codes(1)[0]
    h1, h2 = mfa.hash_recovery_code(code), mfa.hash_recovery_code(code)
    assert h1 != h2 and code not in h1 and code.replace("-", "") not in h1
    assert mfa.check_recovery_code(code, h1) and mfa.check_recovery_code(code, h2)
    assert mfa.check_recovery_code(code.upper().replace("-", " "), h1)  # typed loosely
    other = mfa.generate_recovery_codes(1)[0]
    assert not mfa.check_recovery_code(other, h1)
    assert not mfa.check_recovery_code("", h1) and not mfa.check_recovery_code(code, "garbage")


def test_secret_encryption_is_bound_to_the_user(secret):
    from reup_app.security.crypto import CryptoError

    token = mfa.encrypt_secret(5, secret)
    assert mfa.decrypt_secret(5, token) == secret
    with pytest.raises(CryptoError):
        mfa.decrypt_secret(6, token)
