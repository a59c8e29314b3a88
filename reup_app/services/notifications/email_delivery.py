"""Delivering the e-mail outbox: due rows go to SMTP (``REUP_SMTP_URL``) with retries.

Each row is claimed in a short transaction (attempts + 1, a lease as its next attempt), sent
outside any transaction, then recorded: 'sent' (sensitive bodies replaced by a placeholder, the
SHA-256 kept), or back to 'pending' with `next_attempt_at` from the shared backoff policy
(`reup_app.backoff`), or 'failed' once `REUP_EMAIL_MAX_ATTEMPTS` attempts are spent or the server
refuses permanently (5xx). A sender that dies mid-send leaves the row to be retried when its lease
ends. Without SMTP, rows are written to the log and marked 'logged' (bodies only outside production).

SMTP URL forms: ``smtp://user:pass@host:587?starttls=1&from=ReUp%20<no-reply@example.com>``,
``smtps://user:pass@host:465``, ``smtp://localhost:25`` (``timeout=`` seconds, default 15).
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from reup_app.backoff import next_attempt_at
from reup_app.models import EmailOutbox
from reup_app.models.enums import EmailStatus
from reup_app.models.types import utcnow
from reup_app.settings import VAR_DIR, Settings, get_settings

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # a claimed row is not picked again before this (sender crash)
DELIVERED_PLACEHOLDER = "[delivered; body not retained because it contained a sign-in link]"


@dataclass(frozen=True)
class SendReport:
    sent: int = 0
    logged: int = 0
    retrying: int = 0
    failed: int = 0


def _from_address(query: dict[str, list[str]]) -> str:
    if "from" in query:
        return query["from"][0]
    host = urlparse(get_settings().app_url).hostname or "localhost"
    return formataddr(("ReUp", f"no-reply@{host}"))


def deliver_smtp(smtp_url: str, to: str, subject: str, body: str) -> None:
    """Send one message through the SMTP server in `smtp_url` (raises on failure)."""
    u = urlparse(smtp_url)
    q = parse_qs(u.query)
    msg = EmailMessage()
    msg["From"] = _from_address(q)
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    timeout = float(q.get("timeout", ["15"])[0])
    client: smtplib.SMTP
    if u.scheme == "smtps":
        client = smtplib.SMTP_SSL(
            u.hostname or "localhost", u.port or 465, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(u.hostname or "localhost", u.port or 25, timeout=timeout)
    try:
        if u.scheme != "smtps" and q.get("starttls", ["0"])[0] in ("1", "true", "yes"):
            client.starttls(context=ssl.create_default_context())
        if u.username:
            client.login(unquote(u.username), unquote(u.password or ""))
        client.send_message(msg, from_addr=parseaddr(msg["From"])[1], to_addrs=[to])
    finally:
        try:
            client.quit()
        except Exception:  # pragma: no cover - best effort after a failure
            pass


def _permanent(exc: Exception) -> bool:
    """The server refused for good (5xx): retrying the same message cannot help."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(500 <= code < 600 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and 500 <= exc.smtp_code < 600


def due_ids(engine: Engine, now: datetime, limit: int) -> list[int]:
    with Session(engine) as s:
        q = (
            select(EmailOutbox.id)
            .where(col(EmailOutbox.status) == EmailStatus.PENDING, col(EmailOutbox.next_attempt_at) <= now)
            .order_by(col(EmailOutbox.next_attempt_at), col(EmailOutbox.id))
            .limit(limit)
        )
        return list(s.exec(q).all())


def _claim(engine: Engine, row_id: int, now: datetime) -> tuple[str, str, str] | None:
    """(to, subject, body) of a row still due, now leased to this sender; None if someone took it."""
    with Session(engine) as s:
        s.info["audit_disabled"] = True
        row = s.exec(select(EmailOutbox).where(EmailOutbox.id == row_id).with_for_update()).first()
        if row is None or row.status != EmailStatus.PENDING or row.next_attempt_at is None:
            return None
        if row.next_attempt_at > now:
            return None
        row.attempts += 1
        row.next_attempt_at = now + LEASE
        s.add(row)
        s.commit()
        return row.to_address, row.subject, row.body


def _record(engine: Engine, row_id: int, error: Exception | None, settings: Settings, now: datetime) -> str:
    """Store the outcome of one attempt; returns the row's new status."""
    with Session(engine) as s:
        s.info["audit_disabled"] = True
        row = s.exec(select(EmailOutbox).where(EmailOutbox.id == row_id).with_for_update()).one()
        if error is None:
            row.status, row.sent_at, row.next_attempt_at, row.last_error = EmailStatus.SENT, utcnow(), None, None
            if row.sensitive:
                row.body_sha256 = hashlib.sha256(row.body.encode()).hexdigest()
                row.body = DELIVERED_PLACEHOLDER
        else:
            row.last_error = f"{type(error).__name__}: {error}"[:2000]
            if _permanent(error) or row.attempts >= settings.email_max_attempts:
                row.status, row.next_attempt_at = EmailStatus.FAILED, None
            else:
                row.next_attempt_at = next_attempt_at(row.attempts, now=now)
        s.add(row)
        s.commit()
        return row.status


def dev_mailbox_path(row_id: int) -> Path:
    """Where a development run without SMTP leaves an e-mail (its links never go to the log)."""
    return VAR_DIR / "mailbox" / f"{row_id}.txt"


def _log_only(engine: Engine, row_id: int, settings: Settings) -> None:
    with Session(engine) as s:
        s.info["audit_disabled"] = True
        row = s.exec(select(EmailOutbox).where(EmailOutbox.id == row_id).with_for_update()).one()
        if row.status != EmailStatus.PENDING:
            return
        if settings.is_production:
            log.info("e-mail not sent (no SMTP configured) to=%s subject=%r", row.to_address, row.subject)
        else:  # development: the body (invite and reset links are secrets) goes to a local mailbox file, not the log
            path = dev_mailbox_path(row.id)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"To: {row.to_address}\nSubject: {row.subject}\n\n{row.body}\n")
            log.info("e-mail (outbox only) to=%s subject=%r: read it in %s", row.to_address, row.subject, path)
        row.status, row.next_attempt_at = EmailStatus.LOGGED, None
        s.add(row)
        s.commit()


def send_due(engine: Engine, *, now: datetime | None = None, limit: int = 100) -> SendReport:
    """Deliver (or log) every due outbox row, at most `limit`; the sender job calls this."""
    settings = get_settings()
    now = now or utcnow()
    counts = {"sent": 0, "logged": 0, "retrying": 0, "failed": 0}
    for row_id in due_ids(engine, now, limit):
        if not settings.smtp_url:
            _log_only(engine, row_id, settings)
            counts["logged"] += 1
            continue
        claimed = _claim(engine, row_id, now)
        if claimed is None:
            continue
        error: Exception | None = None
        try:
            deliver_smtp(settings.smtp_url, *claimed)
        except Exception as exc:  # any failure is the row's to retry; never stops the batch
            log.warning("SMTP delivery of e-mail %s failed: %s", row_id, exc)
            error = exc
        status = _record(engine, row_id, error, settings, now)
        outcome = {EmailStatus.SENT.value: "sent", EmailStatus.FAILED.value: "failed"}.get(status, "retrying")
        counts[outcome] += 1
    return SendReport(**counts)
