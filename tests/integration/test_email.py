"""E-mail leaves the request: the request writes the outbox row; the sender job delivers it to a
real SMTP server (aiosmtpd over a socket) with retries and backoff, gives up after the retry
budget, redacts sign-in links once sent, and platform admins see and retry what failed."""

from __future__ import annotations

import hashlib
import socket
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlmodel import select

from reup_app.db import unit_of_work
from reup_app.errors import Conflict, PermissionDenied, ValidationError
from reup_app.jobs.email_sender import send_due_emails
from reup_app.models import EmailOutbox
from reup_app.models.types import utcnow
from reup_app.security.principal import Principal
from reup_app.services.notifications import email_admin
from reup_app.services.notifications.email import send_email
from reup_app.services.notifications.email_delivery import DELIVERED_PLACEHOLDER, dev_mailbox_path
from reup_app.settings import reset_settings_cache
from tests.identity_support import admin_principal, fresh, sfx


class Mailbox:
    """aiosmtpd handler: keeps what it accepts; `reply` set makes it refuse DATA with that reply."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], str]] = []
        self.reply: str | None = None

    async def handle_DATA(self, server, session, envelope):
        if self.reply:
            return self.reply
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content.decode()))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"mailer", b"p@ss")
    return AuthResult(success=ok)


@pytest.fixture
def smtp(monkeypatch):
    """A real SMTP server on a local socket, and REUP_SMTP_URL pointing at it (with a login)."""
    box = Mailbox()
    port = _free_port()
    server = Controller(box, hostname="127.0.0.1", port=port, authenticator=_authenticate, auth_require_tls=False)
    server.start()
    monkeypatch.setenv(
        "REUP_SMTP_URL", f"smtp://mailer:p%40ss@127.0.0.1:{port}?from=ReUp%20%3Cno-reply%40reup.test%3E&timeout=5"
    )
    monkeypatch.setenv("REUP_EMAIL_MAX_ATTEMPTS", "3")
    reset_settings_cache()
    yield box
    server.stop()
    monkeypatch.undo()
    reset_settings_cache()


def _queue(to: str, subject: str = "Hi", body: str = "Body", **kw) -> int:
    with unit_of_work(None) as s:
        return send_email(s, to, subject, body, **kw).id


def _row(session, row_id: int) -> EmailOutbox:
    fresh(session)
    return session.get(EmailOutbox, row_id)


def test_the_request_only_writes_the_outbox_row(session, smtp):
    to = f"a-{sfx()}@example.test"
    row_id = _queue(to, "Hello\r\nBcc: evil@example.test", "Body")
    assert smtp.messages == []  # committed, and still no SMTP conversation on the request
    row = _row(session, row_id)
    assert row.status == "pending" and row.attempts == 0 and row.next_attempt_at is not None
    assert row.subject == "Hello Bcc: evil@example.test" and row.body == "Body" and row.sent_at is None


def test_rollback_queues_nothing(session, smtp):
    to = f"b-{sfx()}@example.test"
    with pytest.raises(RuntimeError), unit_of_work(None) as s:
        send_email(s, to, "Hi", "Body")
        raise RuntimeError
    send_due_emails(engine=session.get_bind())
    assert [m for m in smtp.messages if to in m[1]] == []
    fresh(session)
    assert session.exec(select(EmailOutbox).where(EmailOutbox.to_address == to)).first() is None


def test_sender_job_delivers_through_smtp_with_login(session, smtp, engine):
    to = f"c-{sfx()}@example.test"
    row_id = _queue(to, "Welcome", "Hello there")
    report = send_due_emails(engine=engine)
    assert report.sent >= 1
    (mail_from, rcpt, content) = next(m for m in smtp.messages if m[1] == [to])
    assert mail_from == "no-reply@reup.test" and "Subject: Welcome" in content and "Hello there" in content
    row = _row(session, row_id)
    assert row.status == "sent" and row.sent_at is not None and row.attempts == 1 and row.last_error is None
    assert row.body == "Hello there"  # not a sign-in link: kept
    send_due_emails(engine=engine)
    assert len([m for m in smtp.messages if m[1] == [to]]) == 1  # sent once


@pytest.mark.parametrize("env", ["prod", "dev"])
def test_sign_in_links_are_redacted_once_sent_keeping_a_hash(session, smtp, engine, monkeypatch, env):
    monkeypatch.setenv("REUP_ENV", env)
    reset_settings_cache()
    to = f"d-{sfx()}@example.test"
    body = "Reset your password: https://reup.example/reset-password/abc123secret"
    row_id = _queue(to, "Reset", body, sensitive=True)
    assert _row(session, row_id).body == body  # readable only until it is sent
    send_due_emails(engine=engine)
    assert any("abc123secret" in m[2] for m in smtp.messages if m[1] == [to])
    row = _row(session, row_id)
    assert row.status == "sent" and "abc123secret" not in row.body and row.body == DELIVERED_PLACEHOLDER
    assert row.body_sha256 == hashlib.sha256(body.encode()).hexdigest()


def test_temporary_failures_back_off_then_fail_after_the_retry_budget(session, smtp, engine):
    smtp.reply = "451 4.3.0 try again later"
    to = f"e-{sfx()}@example.test"
    row_id = _queue(to)
    t0 = utcnow()
    send_due_emails(t0, engine=engine)
    row = _row(session, row_id)
    assert row.status == "pending" and row.attempts == 1 and "451" in row.last_error
    assert t0 <= row.next_attempt_at <= t0 + timedelta(seconds=2.01)  # backoff ceiling for attempt 1
    second = row.next_attempt_at + timedelta(milliseconds=1)
    send_due_emails(second, engine=engine)
    row = _row(session, row_id)
    assert row.attempts == 2 and row.status == "pending"
    assert second <= row.next_attempt_at <= second + timedelta(seconds=4.01)  # ceiling doubles
    send_due_emails(row.next_attempt_at - timedelta(seconds=5), engine=engine)  # not due yet: untouched
    assert _row(session, row_id).attempts == 2
    send_due_emails(row.next_attempt_at + timedelta(milliseconds=1), engine=engine)
    row = _row(session, row_id)
    assert row.status == "failed" and row.attempts == 3 and row.next_attempt_at is None  # budget of 3 spent
    assert [m for m in smtp.messages if m[1] == [to]] == []


def test_a_permanent_refusal_fails_at_once(session, smtp, engine):
    smtp.reply = "550 5.1.1 no such mailbox"
    row_id = _queue(f"f-{sfx()}@example.test")
    send_due_emails(engine=engine)
    row = _row(session, row_id)
    assert row.status == "failed" and row.attempts == 1 and "550" in row.last_error


def test_an_unreachable_server_is_retried(session, engine, monkeypatch):
    monkeypatch.setenv("REUP_SMTP_URL", f"smtp://127.0.0.1:{_free_port()}?timeout=2")  # nothing listens
    reset_settings_cache()
    try:
        row_id = _queue(f"g-{sfx()}@example.test")
        send_due_emails(engine=engine)
        row = _row(session, row_id)
        assert row.status == "pending" and row.attempts == 1 and "Connection" in row.last_error
    finally:
        monkeypatch.undo()
        reset_settings_cache()


def test_admins_see_failed_sends_and_retry_them(session, smtp, engine):
    smtp.reply = "554 5.7.1 rejected"
    to = f"h-{sfx()}@example.test"
    row_id = _queue(to, "Invoice", "secret body")
    send_due_emails(engine=engine)
    admin = admin_principal(session)
    with unit_of_work(admin) as s:
        listed = {f.id: f for f in email_admin.list_failed_emails(s, admin)}
    assert listed[row_id].to_address == to and "554" in listed[row_id].last_error
    assert not hasattr(listed[row_id], "body")  # bodies never leave the outbox

    member = Principal(user_id=1, entity_id=1, roles=frozenset({"owner"}))
    for call in (
        lambda s: email_admin.list_failed_emails(s, member),
        lambda s: email_admin.retry_email(s, member, row_id),
    ):
        with pytest.raises(PermissionDenied), unit_of_work(member) as s:
            call(s)

    smtp.reply = None
    with unit_of_work(admin) as s:
        email_admin.retry_email(s, admin, str(row_id))
    with pytest.raises(Conflict), unit_of_work(admin) as s:
        email_admin.retry_email(s, admin, row_id)  # pending now, not failed
    with pytest.raises(ValidationError), unit_of_work(admin) as s:
        email_admin.retry_email(s, admin, "x; drop")
    send_due_emails(engine=engine)
    row = _row(session, row_id)
    assert row.status == "sent" and any(m[1] == [to] for m in smtp.messages)


def test_without_smtp_rows_are_logged(session, engine, monkeypatch, caplog):
    monkeypatch.delenv("REUP_SMTP_URL", raising=False)
    reset_settings_cache()
    to = f"i-{sfx()}@example.test"
    row_id = _queue(to, "Invite", "join at /invite/xyz")
    with caplog.at_level("INFO"):
        send_due_emails(engine=engine)
    row = _row(session, row_id)
    assert row.status == "logged" and row.body == "join at /invite/xyz" and row.sent_at is None
    # The log names the mailbox file; the body (its links are secrets) is only in that file.
    assert any(to in r.getMessage() and str(dev_mailbox_path(row_id)) in r.getMessage() for r in caplog.records)
    assert not any("/invite/xyz" in r.getMessage() for r in caplog.records)
    assert "join at /invite/xyz" in dev_mailbox_path(row_id).read_text()


def test_bad_address_refused(session):
    with pytest.raises(ValidationError), unit_of_work(None) as s:
        send_email(s, "not an address", "x", "y")


def test_a_password_reset_request_handler_never_talks_smtp(session, smtp, engine):
    """The real Reflex handler: the link is queued (sensitive), and only the sender job sends it."""
    import asyncio

    from reup_app.state.accounts import PasswordResetState
    from tests.factories import make_user

    user = make_user(session, email=f"reset-{sfx()}@example.test")
    tab = PasswordResetState()
    asyncio.run(tab.request_reset({"email": user.email}))
    assert "we have e-mailed it a link" in tab.notice
    assert smtp.messages == []
    fresh(session)
    row = session.exec(select(EmailOutbox).where(EmailOutbox.to_address == user.email)).one()
    assert row.status == "pending" and row.sensitive and "/reset-password/" in row.body
    send_due_emails(engine=engine)
    assert any(m[1] == [user.email] and "/reset-password/" in m[2] for m in smtp.messages)


def test_admin_email_page_lists_failed_sends_and_retries_them(session, smtp, engine):
    from reup_app.services.identity.auth import _issue
    from reup_app.state.admin import AdminEmailsState
    from reup_app.state.auth import AuthState
    from tests.factories import make_entity, make_member, make_user
    from tests.integration.statekit import Tab, run

    smtp.reply = "550 5.1.1 no such mailbox"
    to = f"page-{sfx()}@example.test"
    row_id = _queue(to, "Your invoice", "private body")
    send_due_emails(engine=engine)

    admin = make_user(session, is_platform_admin=True)
    result = _issue(session, admin, None, None, client_ip=None, user_agent=None)  # MFA skipped for the handler test
    session.commit()
    admin_tab = Tab()
    admin_tab.state(AuthState)._accept(result, cookie=False)
    page = admin_tab.state(AdminEmailsState)
    run(page.load())
    shown = next(m for m in page.failed if m["id"] == str(row_id))
    assert shown["to"] == to and "550" in shown["error"] and "private body" not in str(page.failed)
    run(page.retry("not-a-number"))
    assert page.error == "Unknown e-mail."
    run(page.retry(str(row_id)))
    assert to in page.notice and all(m["id"] != str(row_id) for m in page.failed)
    assert _row(session, row_id).status == "pending"

    outsider = Tab().sign_in(make_member(session, make_entity(session, "retailer"), role="owner")[0].email)
    denied = outsider.state(AdminEmailsState)
    run(denied.load())
    assert denied.failed == []
