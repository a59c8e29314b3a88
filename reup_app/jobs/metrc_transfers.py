"""METRC outgoing transfers: create the template after the ship commit (exactly once), then follow it
to its ManifestNumber and to the buyer's receipt.

- `create_transfer` is the outbox handler for "metrc.create_transfer" (enqueued by
  services/compliance/metrc_transfers.plan_metrc_transfer). It runs outside any transaction. When
  an earlier try may have reached METRC (`msg.maybe_sent`: a timeout, a 5xx on the POST, a worker
  killed mid-send) it first looks the template up by its unique Name and adopts it.
- `metrc_transfer_follow.follow_transfers` (the "follow_metrc_transfers" job) finds the registered transfer of each template, records its ManifestNumber, then the
  received / rejected packages. Every step goes through `manifests.record_manifest_update`, which
  pushes it live to both parties' order pages and never lets a status move backwards.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import Any

from sqlmodel import Session

from reup_app.db import get_engine, unit_of_work
from reup_app.integrations.errors import AuthFailed, PermissionDenied, Rejected
from reup_app.integrations.metrc.client import MetrcClient
from reup_app.jobs.outbox_sender import OutboxDelivery, outbox_handler
from reup_app.models import ComplianceManifest, IntegrationConnection
from reup_app.models.enums import ManifestStatus
from reup_app.models.types import utcnow
from reup_app.security.principal import system_principal
from reup_app.services.compliance import manifests
from reup_app.services.compliance.metrc_transfers import CREATE_TRANSFER, template_body
from reup_app.services.integrations.vendor_access import metrc_client

log = logging.getLogger(__name__)
PRINCIPAL = system_principal("metrc.transfers")
TYPE_CACHE_SECONDS = 3600.0
LOOKBACK = timedelta(hours=1)  # search windows start this long before the row/manifest was created
LOOKAHEAD = timedelta(minutes=10)  # and end this far after now (clock skew with METRC)
PREFERRED_TYPES = ("Wholesale", "Transfer")
_types: dict[int, tuple[float, str]] = {}
_types_lock = threading.Lock()


def choose_transfer_type(client: MetrcClient, connection_id: int, license_number: str) -> str:
    """The licensed-shipment wholesale type from GET /transfers/v2/types, cached per connection."""
    with _types_lock:
        cached = _types.get(connection_id)
        if cached and cached[0] > time.monotonic():
            return cached[1]
    types = [t for t in client.transfer_types(license_number) if t.for_licensed_shipments and t.name]
    by_name = {t.name: t for t in types}
    chosen = next((by_name[n] for n in PREFERRED_TYPES if n in by_name), None)
    chosen = chosen or next((t for t in types if (t.transaction_type or "").lower() == "wholesale"), None)
    chosen = chosen or (types[0] if types else None)
    if chosen is None:
        raise Rejected(f"METRC offers no transfer type for licensed shipments at {license_number}.")
    with _types_lock:
        _types[connection_id] = (time.monotonic() + TYPE_CACHE_SECONDS, chosen.name)
    return chosen.name


def _update(manifest_id: int, **values: Any) -> manifests.ManifestUpdate:
    with unit_of_work(PRINCIPAL) as session:
        return manifests.record_manifest_update(session, PRINCIPAL, manifest_id, **values)


@outbox_handler(CREATE_TRANSFER)
def create_transfer(msg: OutboxDelivery) -> dict[str, Any]:
    """Create (or, after a possible earlier send, find and adopt) the order's outgoing template."""
    p = msg.payload
    with Session(get_engine(), expire_on_commit=False) as session:
        manifest = session.get(ComplianceManifest, p["manifest_id"])
        connection = session.get(IntegrationConnection, p["connection_id"])
    if manifest is None:
        raise Rejected(f"manifest {p['manifest_id']} no longer exists")
    if manifest.template_id:  # recorded by an earlier try whose outbox outcome was lost
        return {"template_id": manifest.template_id, "adopted": True}
    if connection is None or not connection.enabled:
        message = f"License {p['shipper_license']} was disconnected from METRC before the transfer was sent."
        _update(manifest.id, status=ManifestStatus.FAILED, last_error=message)
        raise Rejected(message)
    client = metrc_client(connection)
    lic, name = p["shipper_license"], p["name"]
    found = None
    if msg.maybe_sent:
        found = client.find_outgoing_template(lic, name, msg.created_at - LOOKBACK, utcnow() + LOOKAHEAD)
    if found is not None and found.id is not None:
        template_id, adopted = found.id, True
    else:
        try:
            ttype = choose_transfer_type(client, connection.id, lic)
            result = client.create_outgoing_templates(lic, [template_body(p, ttype)])
        except Rejected as err:
            _update(manifest.id, status=ManifestStatus.FAILED, last_error=f"METRC refused the transfer: {err}")
            raise
        except (AuthFailed, PermissionDenied) as err:  # retried, but the seller should know why it waits
            _update(manifest.id, status=ManifestStatus.PENDING, last_error=f"METRC did not accept the key: {err}")
            raise
        if not result.ids:
            raise RuntimeError("METRC answered the template POST without an Id")
        template_id, adopted = result.ids[0], False
    _update(
        manifest.id,
        status=ManifestStatus.SUBMITTED,
        template_id=str(template_id),
        submitted_at=utcnow(),
        last_error=None,
    )
    return {"template_id": template_id, "adopted": adopted}
