"""A Fleetbase delivery's timeline (JSON on `deliveries.timeline`) and the driver-change rule.

- Statuses: one entry per Fleetbase status reached, `{"status", "at"}`, kept in flow order whatever
  order the events arrive in (`merge_timeline`).
- Driver changes: Fleetbase's dispatcher may hand an order to another driver at any step before it
  ends (`order.driver_assigned`, or any order snapshot naming someone else). `driver_update` decides:
  another driver once the delivery was dispatched or under way is a *change*: recorded as a
  `{"status": "driver_changed", "at", "driver", "previous", "during"}` entry (placed just after the
  status held when it happened), the new driver's own name and phone put on the delivery, and
  "delivery.driver_changed" emitted to the seller's members (a notification: the METRC manifest names
  the driver given at ship). The first driver named, or a change before the dispatch, is recorded
  quietly. A snapshot older than the last change recorded, or one for a delivery that has ended,
  changes nothing, so an out-of-order event never moves the driver back.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlmodel import Session

from reup_app.events import emit
from reup_app.integrations.fleetbase import records as fb
from reup_app.models import Delivery, Order

RANK = {"created": 1, "dispatched": 2, "started": 3, "enroute": 4, "completed": 9, "canceled": 9, "failed": 9}
DRIVER_CHANGED = "driver_changed"  # the timeline entry's "status"
DRIVER_CHANGED_EVENT = "delivery.driver_changed"  # to the seller's members (a notification)


def read_timeline(delivery: Delivery) -> list[dict[str, Any]]:
    return json.loads(delivery.timeline) if delivery.timeline else []


def timeline_key(t: dict[str, Any]) -> tuple[float, str]:
    """Statuses in flow order (events may arrive out of order); a driver change just after the status
    the delivery held when it happened."""
    if t["status"] == DRIVER_CHANGED:
        return RANK.get(t.get("during") or "", 0) + 0.5, t["at"]
    return float(RANK.get(t["status"], 0)), t["at"]


def merge_timeline(delivery: Delivery, status: str, at: datetime) -> None:
    timeline = read_timeline(delivery)
    if any(t["status"] == status for t in timeline):
        return
    timeline.append({"status": status, "at": at.isoformat()})
    timeline.sort(key=timeline_key)
    delivery.timeline = json.dumps(timeline)


def last_driver_change(timeline: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The newest "driver_changed" entry of a delivery's timeline, if any."""
    changes = [t for t in timeline if t.get("status") == DRIVER_CHANGED]
    return max(changes, key=lambda t: t["at"]) if changes else None


def driver_update(
    held_status: str | None,
    held_driver: str | None,
    new_status: str,
    new_driver: str | None,
    at: datetime,
    last_change_at: datetime | None,
) -> str:
    """What a Fleetbase snapshot naming `new_driver` means for a delivery holding `held_driver`:
    - "keep": nothing to record: no driver named, the same one, the delivery has ended, or the snapshot
      is older than the last driver change recorded (an out-of-order event must not move it back);
    - "set": record it quietly: the first driver named, or another one before the order was dispatched;
    - "changed": record it and flag it to the seller: another driver once the delivery was dispatched
      or under way (by what ReUp held or by the snapshot itself), before it ended."""
    if not new_driver or RANK.get(held_status or "", 0) >= 9:
        return "keep"
    if last_change_at is not None and at < last_change_at:
        return "keep"
    if new_driver == held_driver:
        return "keep"
    if not held_driver:
        return "set"
    dispatched = RANK["dispatched"]
    if RANK.get(held_status or "", 0) >= dispatched or RANK.get(new_status, 0) >= dispatched:
        return "changed"
    return "set"


def apply_driver(session: Session, delivery: Delivery, order: fb.Order, at: datetime) -> None:
    """The snapshot's driver and vehicle onto the delivery (a change under way recorded and flagged)."""
    if RANK.get(delivery.vendor_status or "", 0) >= 9:
        return
    if order.vehicle and order.vehicle.text:
        delivery.vehicle = order.vehicle.text
    driver = order.driver
    if driver is None:
        return
    timeline = read_timeline(delivery)
    last = last_driver_change(timeline)
    last_at = datetime.fromisoformat(last["at"]) if last else None
    verdict = driver_update(delivery.vendor_status, delivery.driver_name, order.status, driver.name, at, last_at)
    if verdict == "keep":
        if driver.name == delivery.driver_name and driver.phone:
            delivery.driver_phone = driver.phone
        return
    previous = delivery.driver_name
    delivery.driver_name, delivery.driver_phone = driver.name, driver.phone  # not the previous driver's phone
    if verdict != "changed":
        return
    during = delivery.vendor_status if RANK.get(delivery.vendor_status or "", 0) >= RANK["dispatched"] else order.status
    timeline.append(
        {"status": DRIVER_CHANGED, "at": at.isoformat(), "driver": driver.name, "previous": previous, "during": during}
    )
    timeline.sort(key=timeline_key)
    delivery.timeline = json.dumps(timeline)
    emit_driver_changed(session, delivery, previous, at)


def driver_change_text(change: dict[str, Any]) -> str:
    """ "Driver changed to X at HH:MM UTC (was Y)" for a timeline "driver_changed" entry."""
    at = datetime.fromisoformat(change["at"])
    was = f" (was {change['previous']})" if change.get("previous") else ""
    return f"Driver changed to {change.get('driver') or 'another driver'} at {at:%H:%M} UTC{was}"


def emit_driver_changed(session: Session, delivery: Delivery, previous: str | None, at: datetime) -> None:
    """Tell the seller (a notification to its members) that Fleetbase put another driver on a delivery
    under way: the METRC manifest names the driver given at ship."""
    order = session.get(Order, delivery.order_id)
    if order is None:
        return
    text = driver_change_text({"at": at.isoformat(), "driver": delivery.driver_name, "previous": previous})
    emit(
        session,
        DRIVER_CHANGED_EVENT,
        entity_ids=[order.seller_entity_id],
        payload={
            "order_number": order.number,
            "buyer_entity_id": order.buyer_entity_id,
            "seller_entity_id": order.seller_entity_id,
            "driver_name": delivery.driver_name,
            "previous_driver": previous,
            "changed_at": at.isoformat(),
            "title": f"Driver changed on order {order.number}",  # the notification describes itself
            "body": text,
        },
    )
