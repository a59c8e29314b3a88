""" "Test" on a store connection: ask Dutchie /whoami who the stored key is, fill in the location
name, and warn when its licence differs from the store's ReUp licence.

The call is remote, so no transaction is open while it runs: one short unit of work authorizes and
builds the client, Dutchie answers, a second short unit of work records the answer."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from reup_app.db import unit_of_work
from reup_app.errors import Conflict
from reup_app.integrations import errors as vendor
from reup_app.integrations.http.transport import RetryPolicy
from reup_app.models import IntegrationConnection
from reup_app.models.types import utcnow
from reup_app.security.crypto import CryptoError
from reup_app.security.principal import Principal
from reup_app.services.integrations.connections import ERROR, OK
from reup_app.services.integrations.vendor_access import dutchie_client
from reup_app.services.pos.connections import record_identity, store_connection

CHECK_TIMEOUT = 10.0
CHECK_RETRY = RetryPolicy(attempts=2, base=0.25, cap=1.0, max_retry_after=2.0)


@dataclass(frozen=True)
class StoreCheck:
    ok: bool
    message: str
    location_name: str = ""
    warning: str = ""


def test_store(principal: Principal, license_id: int, *, engine: Engine | None = None) -> StoreCheck:
    with unit_of_work(principal, engine=engine) as session:
        conn = store_connection(session, principal, license_id)
        try:
            client = dutchie_client(conn, retry=CHECK_RETRY, timeout=CHECK_TIMEOUT)
        except CryptoError:
            raise Conflict("The stored Dutchie key can no longer be read; enter the key again.") from None
        connection_id = conn.id
    try:
        who = client.whoami()
    except vendor.AuthFailed:
        return _record(principal, engine, connection_id, StoreCheck(False, "Dutchie refused the key (401)."))
    except vendor.IntegrationError as exc:
        return _record(principal, engine, connection_id, StoreCheck(False, f"Dutchie did not answer: {exc}"))
    with unit_of_work(principal, engine=engine) as session:
        warning = record_identity(session, license_id, who.location_name, who.license_number)
    message = f"Connected to {who.location_name} (licence {who.license_number})."
    return _record(principal, engine, connection_id, StoreCheck(not warning, message, who.location_name, warning))


def _record(principal: Principal, engine: Engine | None, connection_id: int, result: StoreCheck) -> StoreCheck:
    with unit_of_work(principal, engine=engine) as session:
        conn = session.get(IntegrationConnection, connection_id, with_for_update=True)
        if conn is not None:
            conn.status = OK if result.ok else ERROR
            conn.last_error = None if result.ok else (result.warning or result.message)
            conn.updated_at = utcnow()
            session.add(conn)
    return result
