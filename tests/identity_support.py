"""Helpers for the identity/access tests (sign-up, login, audit, tokens)."""

from __future__ import annotations

import re
import uuid
from contextlib import contextmanager

from sqlmodel import Session, select

from reup_app.db import unit_of_work
from reup_app.models import AuditLog, EmailOutbox
from reup_app.security.principal import Principal
from tests.factories import DEFAULT_PASSWORD, make_entity, make_member, make_user

STRONG_PASSWORD = "Correct-Horse-42-battery"


def sfx() -> str:
    return uuid.uuid4().hex[:8]


def admin_principal(session: Session) -> Principal:
    user = make_user(session, is_platform_admin=True, email=f"admin-{sfx()}@example.test")
    return Principal(user_id=user.id, is_platform_admin=True, token_version=user.token_version)


def license(state: str = "CA", number: str | None = None, license_type: str = "distributor", **kw) -> dict:
    return {"state": state, "number": number or f"C11-{sfx().upper()}-LIC", "license_type": license_type, **kw}


def signup_kwargs(**over) -> dict:
    s = sfx()
    kw = {
        "business_name": f"Green Co {s}",
        "kind": "wholesaler",
        "email": f"owner-{s}@example.test",
        "full_name": f"Owner {s}",
        "password": STRONG_PASSWORD,
        "licenses": [license()],
    }
    kw.update(over)
    return kw


def fresh(session: Session) -> Session:
    """End the test session's transaction so it sees what other units of work committed."""
    session.commit()
    session.expire_all()
    return session


def outbox_for(session: Session, address: str) -> list[EmailOutbox]:
    fresh(session)
    return list(
        session.exec(select(EmailOutbox).where(EmailOutbox.to_address == address).order_by(EmailOutbox.id)).all()
    )


def link_token(session: Session, address: str, path: str) -> str:
    """The token of the last link `/<path>/<token>` e-mailed to `address`."""
    for mail in reversed(outbox_for(session, address)):
        m = re.search(rf"/{path}/([A-Za-z0-9_-]+)", mail.body)
        if m:
            return m.group(1)
    raise AssertionError(f"no /{path}/ link e-mailed to {address}")


def audit_rows(session: Session, table: str, row_id) -> list[AuditLog]:
    fresh(session)
    return list(
        session.exec(
            select(AuditLog).where(AuditLog.table_name == table, AuditLog.row_id == str(row_id)).order_by(AuditLog.id)
        ).all()
    )


@contextmanager
def uow(principal=None):
    with unit_of_work(principal) as s:
        yield s


__all__ = [
    "DEFAULT_PASSWORD",
    "STRONG_PASSWORD",
    "admin_principal",
    "audit_rows",
    "fresh",
    "license",
    "link_token",
    "make_entity",
    "make_member",
    "make_user",
    "outbox_for",
    "sfx",
    "signup_kwargs",
    "uow",
]
