"""Queueing e-mail: `send_email(session, to, subject, body)` writes an `EmailOutbox` row in the
caller's transaction and nothing else; no request ever talks SMTP.

The worker's sender job (`reup_app.jobs.email_sender.send_due_emails` ->
`reup_app.services.notifications.email_delivery.send_due`) delivers due rows afterwards, so a
rolled-back transaction sends nothing. Messages carrying sign-in links are queued with
`sensitive=True`: once delivered, their body is replaced and only its SHA-256 kept.
"""

from __future__ import annotations

import re

from sqlmodel import Session

from reup_app.errors import ValidationError
from reup_app.models import EmailOutbox
from reup_app.models.enums import EmailStatus
from reup_app.models.types import utcnow

_ADDRESS_RE = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")


def send_email(session: Session, to: str, subject: str, body: str, *, sensitive: bool = False) -> EmailOutbox:
    """Queue an e-mail in the outbox (due at once); the sender job delivers it after commit."""
    to = (to or "").strip()
    if not _ADDRESS_RE.match(to) or len(to) > 255:
        raise ValidationError(f"Cannot send e-mail to {to!r}: not an e-mail address.")
    subject = " ".join((subject or "").split())[:255]  # no header injection via newlines
    row = EmailOutbox(
        to_address=to,
        subject=subject,
        body=body,
        sensitive=bool(sensitive),
        status=EmailStatus.PENDING,
        next_attempt_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row
