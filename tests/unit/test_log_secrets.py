"""The log scanner (tests/log_secrets.py) catches each kind of secret and passes ordinary lines."""

from __future__ import annotations

import logging

import pyotp

from reup_app.security import passwords
from reup_app.security.events import security_event
from tests.factories import DEFAULT_PASSWORD
from tests.log_secrets import SecretScanner


def _hits(*lines: str) -> list[str]:
    scanner = SecretScanner()
    for line in lines:
        scanner.emit(logging.LogRecord("t", logging.INFO, __file__, 1, "%s", (line,), None))
    return scanner.hits


def test_each_kind_of_secret_is_caught():
    assert _hits(f"login with {DEFAULT_PASSWORD}")
    assert _hits("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcdefghijklmnop")
    assert _hits(passwords.hash_password("Some-Password-99"))
    assert _hits("code Zq3_-kL9vXw2Yp8RtM4nB6cD1fG7hJ0sA5eU2iO9pQw")  # secrets.token_urlsafe(32)
    assert _hits(f"secret {pyotp.random_base32()}")


def test_ordinary_lines_and_security_events_pass():
    assert not _hits("security signin.failure user=13 business=None address=127.0.0.1 request_id=a06b225165fd4c7f")
    assert not _hits("refused OrdersState.load: argument (arguments) is missing, unknown or malformed")
    assert not _hits("sha256 " + "ab12" * 16)


def test_security_events_redact_secret_named_fields(caplog):
    with caplog.at_level(logging.INFO, logger="reup.security"):
        security_event("test.event", user_id=1, token="abc", password="x", reason="ok")
    line = caplog.records[-1].getMessage()
    assert "token=[redacted]" in line and "password=[redacted]" in line and "reason=ok" in line
    assert "user=1" in line and "request_id=" in line
