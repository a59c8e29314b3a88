""" "Test connection": ask METRC which facilities the stored user key reaches (GET /facilities/v2)
and check the license is among them.

The call is remote, so it never runs inside a database transaction: one short unit of work reads
and authorizes the row and builds the client, the vendor is called with no session open, and a
second short unit of work records the outcome on the connection (status and last error).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from reup_app.db import unit_of_work
from reup_app.errors import Conflict
from reup_app.integrations import errors as vendor
from reup_app.integrations.http.transport import RetryPolicy
from reup_app.integrations.metrc.client import MetrcClient
from reup_app.models import IntegrationConnection
from reup_app.models.types import utcnow
from reup_app.security.crypto import CryptoError, decrypt_credentials
from reup_app.security.principal import Principal
from reup_app.services.integrations.connections import ERROR, OK, QUEUED, _connection, _license_for
from reup_app.settings import get_settings

CHECK_TIMEOUT = 10.0  # seconds: someone is waiting on the page
CHECK_RETRY = RetryPolicy(attempts=2, base=0.25, cap=1.0, max_retry_after=2.0)


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    message: str
    facilities: int = 0  # how many facilities the key reaches


@dataclass(frozen=True)
class _Target:
    connection_id: int
    license_number: str
    base_url: str
    user_key: str

    def __repr__(self) -> str:  # never print the key
        return f"_Target(connection_id={self.connection_id}, license_number={self.license_number!r})"


def _read_target(principal: Principal, license_id: int, engine: Engine | None) -> _Target:
    with unit_of_work(principal, engine=engine) as session:
        lic = _license_for(session, principal, license_id)
        conn = _connection(session, lic.id)
        if conn is None or not conn.enabled or not conn.credentials_encrypted:
            raise Conflict(f"License {lic.number} is not connected to METRC; connect it first.")
        try:
            user_key = str(decrypt_credentials(conn).get("user_key") or "")
        except CryptoError:
            raise Conflict(
                f"The stored METRC key of license {lic.number} can no longer be read (the encryption key "
                "changed); connect the license again."
            ) from None
        return _Target(conn.id, lic.number, conn.base_url or get_settings().metrc_base_url, user_key)


def _client(target: _Target) -> MetrcClient:
    settings = get_settings()
    if not settings.metrc_vendor_key:
        raise Conflict("ReUp has no METRC vendor key configured (REUP_METRC_VENDOR_KEY); ask the platform admin.")
    return MetrcClient.from_settings(
        settings, target.user_key, base_url=target.base_url, retry=CHECK_RETRY, timeout=CHECK_TIMEOUT
    )


def _ask_metrc(target: _Target) -> CheckResult:
    """The remote part: no session is open here."""
    try:
        facilities = _client(target).facilities()
    except vendor.AuthFailed:
        return CheckResult(False, "METRC refused the user API key (401): check the key and connect again.")
    except vendor.PermissionDenied:
        return CheckResult(False, "METRC accepted the key but denied access to facilities (403).")
    except vendor.RateLimited as err:
        wait = f" Try again in {err.retry_after:.0f} s." if err.retry_after else ""
        return CheckResult(False, f"METRC is rate limiting this key right now.{wait}")
    except vendor.Unavailable:
        return CheckResult(False, f"METRC could not be reached at {target.base_url}; try again later.")
    except vendor.IntegrationError as err:
        return CheckResult(False, f"METRC answered with an error: {err.vendor_message or err}")
    numbers = {f.license_number for f in facilities if f.license_number}
    if target.license_number not in numbers:
        return CheckResult(
            False,
            f"The key works but does not reach license {target.license_number} "
            f"(it reaches {len(numbers)} other facilit{'y' if len(numbers) == 1 else 'ies'}).",
            len(numbers),
        )
    return CheckResult(True, f"Connected: METRC reaches license {target.license_number}.", len(numbers))


def _record(principal: Principal, target: _Target, result: CheckResult, engine: Engine | None) -> None:
    with unit_of_work(principal, engine=engine) as session:
        conn = session.get(IntegrationConnection, target.connection_id, with_for_update=True)
        if conn is None or not conn.enabled:
            return  # disconnected meanwhile: nothing to record
        if not result.ok:
            conn.status = ERROR
        elif conn.status != QUEUED:  # a queued sync still runs
            conn.status = OK
        conn.last_error = None if result.ok else result.message
        conn.updated_at = utcnow()
        session.add(conn)


def test_connection(principal: Principal, license_id: int, *, engine: Engine | None = None) -> CheckResult:
    """Check the license's stored key against METRC and record the outcome on its connection."""
    target = _read_target(principal, license_id, engine)
    result = _ask_metrc(target)
    _record(principal, target, result, engine)
    return result


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
