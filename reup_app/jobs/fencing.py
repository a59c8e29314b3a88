"""Fencing in the database: a write made for a job leader first raises `job_fences.token` to its
own token, in the same transaction; a lower token (a stale leader) is refused with `StaleLeader`."""

from __future__ import annotations

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from reup_app.models.outbox import JobFence
from reup_app.models.types import utcnow


class StaleLeader(RuntimeError):
    """A newer leader has written since this token was issued: stop and drop the work."""


def check_fence(session: Session, name: str, token: int) -> None:
    """Refuse unless `token` is the newest seen for `name`; locks the fence row until commit."""
    if token is None or token <= 0:
        raise StaleLeader(f"no fencing token for {name!r}")
    stmt = (
        update(JobFence)
        .where(col(JobFence.name) == name, col(JobFence.token) <= token)
        .values(token=token, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if session.execute(stmt).rowcount:  # type: ignore[attr-defined]  # an UPDATE/DELETE yields a CursorResult; Session.execute is typed Result
        return
    if session.get(JobFence, name) is None:
        try:
            with session.begin_nested():
                session.execute(insert(JobFence).values(name=name, token=token, updated_at=utcnow()))
            return
        except IntegrityError:
            if session.execute(stmt).rowcount:  # type: ignore[attr-defined]  # an UPDATE/DELETE yields a CursorResult; Session.execute is typed Result
                return
    raise StaleLeader(f"fencing token {token} for {name!r} is stale; a newer leader has written")
