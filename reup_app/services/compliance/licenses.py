"""License lifecycle rules that run without a user (the hourly housekeeping job)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from reup_app.errors import PermissionDenied, ValidationError
from reup_app.events import emit
from reup_app.models import License
from reup_app.models.enums import LicenseStatus
from reup_app.models.types import utcnow
from reup_app.security.principal import Principal
from reup_app.services.compliance.license_calendar import license_today

# Statuses a license leaves when its expiry date passes. A suspended license stays suspended:
# the regulator's action says more than the calendar does.
_EXPIRABLE = (LicenseStatus.ACTIVE, LicenseStatus.PENDING)


def expire_past_due_licenses(session: Session, principal: Principal, now: datetime) -> int:
    """Mark every active or pending license whose `expires_on` is before today, at instant `now`,
    in its own state's calendar (`license_today`), as expired.

    A license is valid through its expiry date, so one expiring today is left alone. Only the
    system (jobs) and platform admins may run this. Returns the number of licenses changed.
    """
    if not (principal.is_system or (principal.is_authenticated and principal.is_platform_admin)):
        raise PermissionDenied("Only the system or a platform admin can expire licenses.")
    if not isinstance(now, datetime) or now.tzinfo is None:
        raise ValidationError("`now` must be a timezone-aware datetime.", field="now")

    # No state's date is later than UTC's + 1 day (Guam is UTC+10): a superset, then each state's calendar.
    latest = now.astimezone(UTC).date() + timedelta(days=1)
    candidates = session.exec(
        select(License)
        .where(
            col(License.expires_on).is_not(None), col(License.expires_on) < latest, col(License.status).in_(_EXPIRABLE)
        )
        .order_by(col(License.id))
        .with_for_update()
    ).all()
    rows = [lic for lic in candidates if lic.expires_on is not None and lic.expires_on < license_today(lic.state, now)]
    now = utcnow()
    for lic in rows:
        lic.status = LicenseStatus.EXPIRED
        lic.updated_at = now
        session.add(lic)
        emit(
            session,
            "license.expired",
            entity_ids=[lic.entity_id],
            payload={
                "license_id": lic.id,
                "number": lic.number,
                "expires_on": lic.expires_on.isoformat() if lic.expires_on else None,
            },
        )
    session.flush()
    return len(rows)
