"""Every problem of a sign-up form at once, per field, before anything is written.

`signup_field_errors` runs each of `signup.signup_business`'s checks on its own field and returns
{field: message} (empty when the form is fine); the sign-up page shows each message next to its
field. `signup_business` still validates everything itself (this is only the friendlier report).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from sqlmodel import Session, select

from reup_app.errors import ValidationError
from reup_app.models import License
from reup_app.models.enums import EntityKind
from reup_app.services.identity.common import user_by_email, validate_email, validate_name, validate_password
from reup_app.services.identity.signup import US_STATES, _validate_licenses

# The license types the sign-up form offers (value, label); free text stays accepted by the service.
LICENSE_TYPE_CHOICES: list[tuple[str, str]] = [
    ("adult_use_retail", "Adult-use retail (dispensary)"),
    ("medicinal_retail", "Medicinal retail"),
    ("distributor", "Distributor"),
    ("microbusiness", "Microbusiness"),
    ("manufacturer", "Manufacturer"),
    ("cultivator", "Cultivator"),
]
STATE_CHOICES: list[str] = sorted(US_STATES)


def _check(errors: dict[str, str], name: str, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except ValidationError as err:
        errors[name] = str(err)
        return None


def signup_field_errors(session: Session, values: dict[str, str], licenses: list[dict]) -> dict[str, str]:
    """{field: message} for business_name, kind, full_name, email, password, password_again and
    license_<n> (n from 1, in the order given)."""
    errors: dict[str, str] = {}
    _check(
        errors,
        "business_name",
        lambda: validate_name(values.get("business_name", ""), "business name", "business_name", min_len=2),
    )
    if values.get("kind") not in {k.value for k in EntityKind}:
        errors["kind"] = "Choose whether the business is a retailer or a wholesaler."
    _check(errors, "full_name", lambda: validate_name(values.get("full_name", ""), "your full name", "full_name"))
    addr = _check(errors, "email", lambda: validate_email(values.get("email", "")))
    if addr and user_by_email(session, addr) is not None:
        errors["email"] = "An account with this e-mail already exists. Sign in, or use 'Forgot password' if you cannot."
    _check(errors, "password", lambda: validate_password(values.get("password", ""), addr))
    if values.get("password") != values.get("password_again"):
        errors["password_again"] = "The two passwords do not match."
    for i, lic in enumerate(licenses, start=1):
        clean = _check(errors, f"license_{i}", partial(_validate_licenses, [lic]))
        if clean:
            taken = session.exec(
                select(License.id).where(License.state == clean[0]["state"], License.number == clean[0]["number"])
            ).first()
            if taken is not None:
                errors[f"license_{i}"] = (
                    f"License {clean[0]['number']} ({clean[0]['state']}) is already registered on ReUp. "
                    "If it is yours, contact ReUp support."
                )
    return errors
