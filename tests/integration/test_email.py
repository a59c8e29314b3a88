"""The e-mail sender: outbox without SMTP, SMTP after commit, nothing on rollback."""

from __future__ import annotations

import pytest
from sqlmodel import select

from reup_app.db import unit_of_work
from reup_app.errors import ValidationError
from reup_app.models import EmailOutbox
from reup_app.services.notifications import email as email_service
from reup_app.services.notifications.email import send_email
from reup_app.settings import reset_settings_cache
from tests.identity_support import fresh, sfx


class FakeSMTP:
    sent: list = []
    fail = False

    def __init__(self, host, port, timeout=None):
        self.host, self.port = host, port
        self.calls = []

    def starttls(self, context=None):
        self.calls.append("starttls")

    def login(self, user, password):
        self.calls.append(("login", user, password))

    def send_message(self, msg, from_addr=None, to_addrs=None):
        if FakeSMTP.fail:
            raise OSError("connection refused")
        FakeSMTP.sent.append(
            (self.host, self.port, from_addr, to_addrs, msg["Subject"], msg.get_content(), list(self.calls))
        )

    def quit(self):
        pass


@pytest.fixture
def smtp(monkeypatch):
    FakeSMTP.sent, FakeSMTP.fail = [], False
    monkeypatch.setattr(email_service.smtplib, "SMTP", FakeSMTP)
    monkeypatch.setenv(
        "REUP_SMTP_URL", "smtp://mailer:p%40ss@mail.example.test:587?starttls=1&from=ReUp%20%3Cno-reply%40reup.test%3E"
    )
    reset_settings_cache()
    yield FakeSMTP
    monkeypatch.undo()
    reset_settings_cache()


def test_without_smtp_the_outbox_keeps_the_message(session):
    to = f"a-{sfx()}@example.test"
    with unit_of_work(None) as s:
        row = send_email(s, to, "Hello\r\nBcc: evil@example.test", "Body")
    fresh(session)
    stored = session.get(EmailOutbox, row.id)
    assert stored.subject == "Hello Bcc: evil@example.test" and stored.body == "Body" and stored.sent_at is None


def test_rollback_sends_nothing(session, smtp):
    to = f"b-{sfx()}@example.test"
    with pytest.raises(RuntimeError), unit_of_work(None) as s:
        send_email(s, to, "Hi", "Body")
        raise RuntimeError
    assert smtp.sent == []
    fresh(session)
    assert session.exec(select(EmailOutbox).where(EmailOutbox.to_address == to)).first() is None


def test_smtp_delivery_after_commit(session, smtp):
    to = f"c-{sfx()}@example.test"
    with unit_of_work(None) as s:
        row = send_email(s, to, "Reset", "link /reset-password/abc", sensitive=True)
        assert smtp.sent == []  # not before commit
    assert len(smtp.sent) == 1
    host, port, from_addr, to_addrs, subject, body, calls = smtp.sent[0]
    assert (host, port, from_addr, to_addrs, subject) == ("mail.example.test", 587, "no-reply@reup.test", [to], "Reset")
    assert "starttls" in calls and ("login", "mailer", "p@ss") in calls and "/reset-password/abc" in body
    fresh(session)
    stored = session.get(EmailOutbox, row.id)
    assert stored.sent_at is not None and "/reset-password/abc" not in stored.body


def test_smtp_failure_is_recorded_not_raised(session, smtp):
    smtp.fail = True
    to = f"d-{sfx()}@example.test"
    with unit_of_work(None) as s:
        row = send_email(s, to, "Hi", "Body")
    fresh(session)
    stored = session.get(EmailOutbox, row.id)
    assert stored.sent_at is None and "connection refused" in stored.error and stored.body == "Body"


def test_bad_address_refused(session):
    with pytest.raises(ValidationError), unit_of_work(None) as s:
        send_email(s, "not an address", "x", "y")
