"""Names of the domain events the push layer and notifications know, and the one helper for
integration syncs (the METRC / Dutchie / Fleetbase jobs call it when a sync ends).

Payload contracts (ids and display values only; receivers re-read what they show):
- order.*: `reup_app.events.orders.order_payload` (order_number, status, buyer/seller
  entity ids, totals) plus the kind's extras (from_status/action, message preview, ...).
- inventory.changed: {"product_ids": [...], "available": {id: qty}, "public": True}, one per seller
  and transaction.
- manifest.status_changed: {"order_number", "buyer_entity_id", "seller_entity_id", "manifest_status",
  "from_status", "manifest_number"} (services/compliance/manifests.record_manifest_update).
- sync.finished / sync.failed: {"integration": "metrc"|"dutchie"|"fleetbase", "summary": str}.
- integration.sync_progress: {"connection_id", "resource", "done", "total", "finished"} to the owning entity,
  throttled; one with finished=True when the run is recorded (the connections page then reloads).
"""

from __future__ import annotations

from sqlmodel import Session

from reup_app.events.core import DomainEvent, emit

ORDER_SUBMITTED = "order.submitted"
ORDER_STATUS_CHANGED = "order.status_changed"
ORDER_MESSAGE = "order.message"
INVENTORY_CHANGED = "inventory.changed"
MANIFEST_STATUS_CHANGED = "manifest.status_changed"
SYNC_FINISHED = "sync.finished"
SYNC_FAILED = "sync.failed"
NOTIFICATION_READ = "notification.read"
SESSION_RESYNC = "session.resync"  # made by the push hub for one reconnected session, never emitted


def emit_sync_result(
    session: Session, *, entity_id: int, integration: str, ok: bool, summary: str, user_ids=()
) -> DomainEvent:
    """Tell an entity (its owners and admins get a notification) that a sync finished or failed."""
    return emit(
        session,
        SYNC_FINISHED if ok else SYNC_FAILED,
        entity_ids=[entity_id],
        user_ids=user_ids,
        payload={"integration": integration, "summary": summary[:1000]},
    )


SYNC_PROGRESS = "integration.sync_progress"
POS_SYNCED = "pos.synced"  # a store's Dutchie sync finished: {"license_id"} to the store's business


def emit_sync_progress(
    session: Session,
    *,
    entity_id: int,
    connection_id: int,
    resource: str,
    done: int,
    total: int,
    finished: bool = False,
) -> DomainEvent:
    """Progress of a running sync for the connection page's bar: members of the owning entity receive
    it (the connection page re-checks `integration.manage`). Callers throttle (see jobs.sync)."""
    return emit(
        session,
        SYNC_PROGRESS,
        entity_ids=[entity_id],
        payload={
            "connection_id": connection_id,
            "resource": resource,
            "done": int(done),
            "total": int(max(total, done)),
            "finished": bool(finished),
        },
    )
