"""Follow each created METRC template to its registered transfer (ManifestNumber) and to receipt.

A template becomes a transfer when the licensee registers it in METRC; the transfer carries no
template Name, so it is matched by shipper, recipient and its exact set of package labels (a package
can be on one open transfer only). Runs as the "follow_metrc_transfers" job (every
`metrc_transfer_poll_seconds`) for every enabled METRC connection with open manifests.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from reup_app.integrations.metrc.client import MetrcClient
from reup_app.integrations.metrc.paging import windows
from reup_app.integrations.metrc.records import Transfer
from reup_app.jobs.metrc_transfers import LOOKAHEAD, LOOKBACK, _update
from reup_app.jobs.outbox_sender import Fence
from reup_app.models import ComplianceManifest, IntegrationConnection, License, Order, OrderLine, OrderLineAllocation
from reup_app.models.enums import ManifestStatus, Provider
from reup_app.models.types import utcnow
from reup_app.services.common import get_row
from reup_app.services.compliance.manifests import ReceivedPackage
from reup_app.services.integrations.vendor_access import metrc_client

log = logging.getLogger(__name__)
OPEN = (str(ManifestStatus.SUBMITTED), str(ManifestStatus.ACCEPTED))
# A manifest shipped this recently whose template is still on its way to METRC may be the one a
# new transfer belongs to (see `_templates_on_the_way`); an older one is stuck and blocks nothing.
TEMPLATE_ON_THE_WAY = timedelta(minutes=10)


def _open_manifests(
    session: Session, license_id: int, *, on_the_way: bool = False
) -> list[tuple[ComplianceManifest, str, set[str]]]:
    """(manifest, recipient license number, package labels) of the license's open templates; with
    `on_the_way`, of its manifests shipped lately whose template is not created yet."""
    which: tuple[Any, ...]
    if on_the_way:
        which = (
            col(ComplianceManifest.status) == str(ManifestStatus.PENDING),
            col(ComplianceManifest.template_id).is_(None),
            col(ComplianceManifest.created_at) >= utcnow() - TEMPLATE_ON_THE_WAY,
        )
    else:
        which = (col(ComplianceManifest.status).in_(OPEN), col(ComplianceManifest.template_id).is_not(None))
    rows = session.execute(
        select(ComplianceManifest, col(License.number))
        .join(Order, col(Order.id) == col(ComplianceManifest.order_id))
        .join(License, col(License.id) == col(Order.buyer_license_id))
        .where(
            col(ComplianceManifest.license_id) == license_id,
            col(ComplianceManifest.provider) == str(Provider.METRC),
            *which,
        )
    ).all()
    out = []
    for manifest, recipient in rows:
        labels = session.execute(
            select(col(OrderLineAllocation.package_label))
            .join(OrderLine, col(OrderLine.id) == col(OrderLineAllocation.order_line_id))
            .where(col(OrderLine.order_id) == manifest.order_id)
        ).scalars()
        out.append((manifest, recipient, set(labels)))
    return out


def _find_transfer(
    client: MetrcClient, lic: str, recipient: str, labels: set[str], since: datetime, taken: set[str] | None = None
) -> Transfer | None:
    """The newest transfer from `lic` to `recipient` with exactly `labels` that no manifest holds yet."""
    for transfer in sorted(_transfers(client, lic, since), key=lambda t: t.id or 0, reverse=True):
        if transfer.recipient_license_number != recipient or transfer.delivery_id is None:
            continue
        if taken and str(transfer.id) in taken:  # already another manifest's (two orders drew the same packages)
            continue
        if transfer.package_count is not None and transfer.package_count != len(labels):
            continue
        shipped = {p.label for p in client.delivery_packages(lic, transfer.delivery_id)}
        if shipped == labels and transfer.manifest_number:
            return transfer
    return None


def _transfers(client: MetrcClient, lic: str, since: datetime) -> list[Transfer]:
    out: list[Transfer] = []
    for window in windows(since, utcnow() + LOOKAHEAD):
        out += client.outgoing_transfers(lic, window)
    return out


def _follow_one(
    client: MetrcClient,
    lic: str,
    manifest: ComplianceManifest,
    recipient: str,
    labels: set[str],
    taken: set[str] | None = None,
) -> int:
    """Advance one manifest as far as METRC says; returns 1 when it changed. `taken`: transfer ids
    other manifests hold (updated as this pass adopts more)."""
    changed = 0
    transfer_id = manifest.external_transfer_id
    if manifest.status == ManifestStatus.SUBMITTED:
        transfer = _find_transfer(client, lic, recipient, labels, manifest.created_at - LOOKBACK, taken)
        if transfer is None:
            return 0
        transfer_id = str(transfer.id)
        if taken is not None:
            taken.add(transfer_id)
        changed |= _update(
            manifest.id,
            status=ManifestStatus.ACCEPTED,
            manifest_number=transfer.manifest_number,
            external_transfer_id=transfer_id,
        ).changed
    if transfer_id is None:
        return changed
    for delivery in client.transfer_deliveries(lic, int(transfer_id)):
        if delivery.received_at is None or delivery.recipient_license_number != recipient or delivery.id is None:
            continue
        packages = [
            ReceivedPackage(p.label or "", p.state or "", p.shipped_quantity, p.received_quantity)
            for p in client.delivery_packages(lic, delivery.id)
        ]
        rejected_all = bool(packages) and all(p.state == "Rejected" for p in packages)
        status = ManifestStatus.REJECTED if rejected_all else ManifestStatus.RECEIVED
        changed |= _update(manifest.id, status=status, received_packages=packages).changed
    return changed


def follow_connection(engine: Engine, connection: IntegrationConnection) -> tuple[int, int]:
    """Follow every open manifest of the connection's license; (seen, changed)."""
    with Session(engine, expire_on_commit=False) as session:
        lic = get_row(session, License, connection.license_id)
        items = _open_manifests(session, connection.license_id)
        # A transfer is matched by recipient and labels only. While a manifest with the same ones
        # still waits for its template, a new transfer may be that manifest's (registered from the
        # template the moment METRC made it, before this pass could see it): leave such transfers
        # for the next pass, when the newest manifest can take it.
        on_the_way = {
            (recipient, frozenset(labels))
            for _m, recipient, labels in _open_manifests(session, connection.license_id, on_the_way=True)
        }
        taken = set(
            session.execute(
                select(col(ComplianceManifest.external_transfer_id)).where(
                    col(ComplianceManifest.provider) == str(Provider.METRC),
                    col(ComplianceManifest.external_transfer_id).is_not(None),
                )
            ).scalars()
        )
    if not items:
        return 0, 0
    client = metrc_client(connection)
    changed = 0
    # newest first: a registered transfer most likely belongs to the template made last
    for manifest, recipient, labels in sorted(items, key=lambda i: i[0].id or 0, reverse=True):
        if manifest.status == ManifestStatus.SUBMITTED and (recipient, frozenset(labels)) in on_the_way:
            continue
        try:
            changed += _follow_one(client, lic.number, manifest, recipient, labels, taken)
        except Exception:  # one manifest's failure never stops the others; the next pass retries
            log.exception("following the METRC transfer of manifest %s failed", manifest.id)
    return len(items), changed


def follow_transfers(engine: Engine, fence: Fence | None = None) -> dict[str, Any]:
    """One pass over every enabled METRC connection that has open manifests."""
    with Session(engine, expire_on_commit=False) as session:
        connections = (
            session.execute(
                select(IntegrationConnection)
                .join(ComplianceManifest, col(ComplianceManifest.license_id) == col(IntegrationConnection.license_id))
                .where(
                    col(IntegrationConnection.provider) == str(Provider.METRC),
                    col(IntegrationConnection.enabled).is_(True),
                    col(ComplianceManifest.status).in_(OPEN),
                )
                .distinct()
            )
            .scalars()
            .all()
        )
    seen = changed = 0
    for connection in connections:
        s, c = follow_connection(engine, connection)
        seen, changed = seen + s, changed + c
    return {"manifests": seen, "changed": changed}
