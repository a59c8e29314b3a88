"""Secrets never appear in logs (issue 13, item 7): a pytest plugin watching every log line of the suite.

A handler on the root logger checks each formatted record (ReUp's loggers are lowered to INFO so
the security events are seen) for: the passwords the tests and the demo use, JSON Web Tokens,
argon2 hashes, 43-character URL-safe random tokens (refresh tokens, tickets, unlock codes) and
32-character base32 TOTP secrets. A hit fails the test that logged it, at teardown, with the line.
Cheap: a few regular expressions per log record, nothing kept but the hits.
"""

from __future__ import annotations

import logging
import re

import pytest

from reup_app.seed.demo import DEMO_PASSWORD
from tests.factories import DEFAULT_PASSWORD

KNOWN_PASSWORDS = [DEFAULT_PASSWORD, DEMO_PASSWORD, "Correct-Horse-42-battery", "Wrong-Password-123"]
PATTERNS = [
    ("jwt", re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("argon2 hash", re.compile(r"\$argon2(id|i|d)\$")),
    ("random token", re.compile(r"(?<![A-Za-z0-9_-])(?=[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-]))(?=[^\s]*[a-z])(?=[^\s]*[A-Z])(?=[^\s]*[0-9])[A-Za-z0-9_-]{43}")),
    ("totp secret", re.compile(r"(?<![A-Z2-7])[A-Z2-7]{32}(?![A-Z2-7])")),
]  # fmt: skip


class SecretScanner(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.hits: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:
            return
        if record.exc_info and record.exc_info[1] is not None:
            text += f" {record.exc_info[1]!s}"
        for pw in KNOWN_PASSWORDS:
            if pw in text:
                self.hits.append(f"{record.name}: password in {text[:200]!r}")
        for name, rx in PATTERNS:
            if m := rx.search(text):
                self.hits.append(f"{record.name}: {name} {m.group(0)[:12]}... in {text[:200]!r}")


SCANNER = SecretScanner()


def install() -> None:
    root = logging.getLogger()
    if SCANNER not in root.handlers:
        root.addHandler(SCANNER)
    for name in ("reup", "reup_app"):
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)


@pytest.fixture(autouse=True)
def _no_secrets_in_logs():
    install()
    start = len(SCANNER.hits)
    yield
    new = SCANNER.hits[start:]
    assert not new, "secrets in the log:\n" + "\n".join(new[:10])
