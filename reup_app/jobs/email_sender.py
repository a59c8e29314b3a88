"""The e-mail sender job: delivers due outbox rows (see reup_app.services.notifications.email_delivery).

A plain function, so any job runtime can register it; reup_app/jobs/scheduler.py runs it every minute.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.engine import Engine

from reup_app.db import get_engine
from reup_app.services.notifications.email_delivery import SendReport, send_due

log = logging.getLogger(__name__)

BATCH = 100  # rows per run; the rest wait for the next minute


def send_due_emails(now: datetime | None = None, *, engine: Engine | None = None, limit: int = BATCH) -> SendReport:
    """Send (or log, without SMTP) every due e-mail; returns what happened to them."""
    report = send_due(engine or get_engine(), now=now, limit=limit)
    if report != SendReport():
        log.info("send_due_emails: %r", report)
    return report
