"""Housekeeping jobs. Each opens its own unit of work as the system principal and calls a service."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.engine import Engine

from reup_app.db import unit_of_work
from reup_app.models.types import utcnow
from reup_app.security.principal import system_principal
from reup_app.services.compliance.licenses import expire_past_due_licenses
from reup_app.services.public_api import idempotency

log = logging.getLogger(__name__)


def expire_licenses(now: datetime | None = None, *, engine: Engine | None = None) -> int:
    """Mark licenses whose expiry date is before today (in each license's state) as expired; returns how many."""
    now = now or utcnow()
    principal = system_principal("jobs.expire_licenses")
    with unit_of_work(principal, engine=engine) as session:
        changed = expire_past_due_licenses(session, principal, now)
    if changed:
        log.info("expire_licenses: %d license(s) marked expired", changed)
    return changed


def purge_idempotency_keys(*, engine: Engine | None = None) -> int:
    """Forget public-API Idempotency-Key records past their 24-hour retention; returns how many."""
    with unit_of_work(system_principal("jobs.purge_idempotency_keys"), engine=engine) as session:
        removed = idempotency.purge_expired(session)
    if removed:
        log.info("purge_idempotency_keys: %d record(s) removed", removed)
    return removed
