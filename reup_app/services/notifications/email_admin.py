"""Platform admins: e-mails the sender gave up on, and sending them again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from reup_app.errors import Conflict, NotFound
from reup_app.models import EmailOutbox
from reup_app.models.enums import EmailStatus
from reup_app.models.types import utcnow
from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services.common import parse_int

MAX_LISTED = 200


@dataclass(frozen=True)
class FailedEmail:
    id: int
    to_address: str
    subject: str
    attempts: int
    last_error: str
    created_at: datetime


def list_failed_emails(session: Session, principal: Principal) -> list[FailedEmail]:
    """The newest e-mails in state 'failed' (never their bodies: they may hold sign-in links)."""
    authorize(principal, "platform.email.manage", None)
    rows = session.exec(
        select(EmailOutbox)
        .where(EmailOutbox.status == EmailStatus.FAILED)
        .order_by(col(EmailOutbox.id).desc())
        .limit(MAX_LISTED)
    ).all()
    return [FailedEmail(r.id, r.to_address, r.subject, r.attempts, r.last_error or "", r.created_at) for r in rows]


def retry_email(session: Session, principal: Principal, email_id: Any) -> EmailOutbox:
    """Give a failed e-mail a fresh retry budget; the sender job picks it up at its next run."""
    authorize(principal, "platform.email.manage", None)
    ident = parse_int(email_id, "email_id")
    row = session.exec(select(EmailOutbox).where(EmailOutbox.id == ident).with_for_update()).first()
    if row is None:
        raise NotFound("That e-mail does not exist.")
    if row.status != EmailStatus.FAILED:
        raise Conflict(f"The e-mail to {row.to_address} is {row.status}, not failed; only failed e-mails are retried.")
    row.status, row.attempts, row.next_attempt_at = EmailStatus.PENDING, 0, utcnow()
    session.add(row)
    session.flush()
    return row
