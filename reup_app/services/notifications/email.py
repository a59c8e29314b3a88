"""The one e-mail sender.

`send_email(session, to, subject, body)` writes an `EmailOutbox` row in the caller's transaction.
Only after that transaction commits is the message delivered:
- SMTP (smtplib) when ``REUP_SMTP_URL`` is set; the row gets ``sent_at`` or ``error``.
  URL forms: ``smtp://user:pass@host:587?starttls=1&from=ReUp%20<no-reply@example.com>``,
  ``smtps://user:pass@host:465``, ``smtp://localhost:25``.
- otherwise the row stays in the outbox (development) and the message is logged.

So a rolled-back transaction sends nothing. Messages carrying sign-in links (`sensitive=True`) have
their stored body replaced once SMTP has delivered them, so the link does not linger in the DB.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from urllib.parse import parse_qs, unquote, urlparse

from sqlalchemy import event
from sqlmodel import Session

from reup_app.errors import ValidationError
from reup_app.models import EmailOutbox
from reup_app.models.types import utcnow
from reup_app.settings import get_settings

log = logging.getLogger(__name__)

_PENDING_KEY = "reup_pending_emails"
_DELIVERED_PLACEHOLDER = "[delivered by SMTP; body not retained because it contained a sign-in link]"
_ADDRESS_RE = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")


def send_email(session: Session, to: str, subject: str, body: str, *, sensitive: bool = False) -> EmailOutbox:
    """Queue an e-mail in the outbox; it is delivered (SMTP) or logged after the session commits."""
    to = (to or "").strip()
    if not _ADDRESS_RE.match(to) or len(to) > 255:
        raise ValidationError(f"Cannot send e-mail to {to!r}: not an e-mail address.")
    subject = " ".join((subject or "").split())[:255]  # no header injection via newlines
    row = EmailOutbox(to_address=to, subject=subject, body=body)
    session.add(row)
    session.flush()
    session.info.setdefault(_PENDING_KEY, []).append((row.id, sensitive))
    return row


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
    if u.scheme == "smtps":
        client = smtplib.SMTP_SSL(u.hostname, u.port or 465, timeout=timeout, context=ssl.create_default_context())
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
        except Exception:  # pragma: no cover - best effort
            pass


def _deliver_after_commit(session) -> None:
    pending = session.info.pop(_PENDING_KEY, None)
    if not pending:
        return
    settings = get_settings()
    bind = session.get_bind()
    with Session(bind, expire_on_commit=False) as s:
        s.info["audit_disabled"] = True
        for row_id, sensitive in pending:
            row = s.get(EmailOutbox, row_id)
            if row is None:
                continue
            if not settings.smtp_url:
                if settings.is_production:
                    log.info("e-mail queued (no SMTP configured) to=%s subject=%r", row.to_address, row.subject)
                else:
                    log.info("e-mail (outbox only) to=%s subject=%r\n%s", row.to_address, row.subject, row.body)
                continue
            try:
                deliver_smtp(settings.smtp_url, row.to_address, row.subject, row.body)
                row.sent_at = utcnow()
                row.error = None
                if sensitive:
                    row.body = _DELIVERED_PLACEHOLDER
            except Exception as exc:  # keep it for a retry job; never fail the user's request
                log.warning("SMTP delivery to %s failed: %s", row.to_address, exc)
                row.error = f"{type(exc).__name__}: {exc}"[:2000]
            s.add(row)
        s.commit()


def _drop_after_rollback(session) -> None:
    session.info.pop(_PENDING_KEY, None)


if not event.contains(Session, "after_commit", _deliver_after_commit):
    event.listen(Session, "after_commit", _deliver_after_commit)
    event.listen(Session, "after_rollback", _drop_after_rollback)
