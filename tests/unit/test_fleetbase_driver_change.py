"""The driver-change rule of Fleetbase snapshots (services/logistics/delivery_timeline.driver_update)
and how a recorded change reads on the delivery (pure functions, no database)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from reup_app.models import Delivery
from reup_app.services.logistics.deliveries import _step_label, driver_change_note
from reup_app.services.logistics.delivery_timeline import (
    DRIVER_CHANGED,
    driver_change_text,
    driver_update,
    last_driver_change,
    merge_timeline,
)

T0 = datetime(2026, 11, 28, 14, 5, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("held_status", "held_driver", "new_status", "new_driver", "verdict"),
    [
        # dispatched or under way (by what ReUp held): another driver is flagged
        ("dispatched", "Dana Ruiz", "dispatched", "Riley Relief", "changed"),
        ("started", "Dana Ruiz", "started", "Riley Relief", "changed"),
        ("enroute", "Dana Ruiz", "enroute", "Riley Relief", "changed"),
        # ... or by the snapshot itself (ReUp still held "created" when the start came with a new driver)
        ("created", "Dana Ruiz", "started", "Riley Relief", "changed"),
        # the snapshot that ends the trip names a driver ReUp never heard of: still a change under way
        ("enroute", "Dana Ruiz", "completed", "Riley Relief", "changed"),
        # before the dispatch: recorded quietly
        ("created", "Dana Ruiz", "created", "Riley Relief", "set"),
        (None, "Dana Ruiz", "created", "Riley Relief", "set"),
        # the first driver named (none given at ship): not a change
        ("dispatched", None, "dispatched", "Alex Driver", "set"),
        ("started", "", "started", "Alex Driver", "set"),
        # the same driver, no driver, or a delivery that has ended: nothing to record
        ("started", "Dana Ruiz", "started", "Dana Ruiz", "keep"),
        ("started", "Dana Ruiz", "started", None, "keep"),
        ("completed", "Dana Ruiz", "completed", "Riley Relief", "keep"),
        ("canceled", "Dana Ruiz", "canceled", "Riley Relief", "keep"),
        ("failed", "Dana Ruiz", "failed", "Riley Relief", "keep"),
    ],
)
def test_driver_update_rule(held_status, held_driver, new_status, new_driver, verdict):
    assert driver_update(held_status, held_driver, new_status, new_driver, T0, None) == verdict


def test_a_snapshot_older_than_the_last_change_does_not_move_the_driver_back():
    changed_at = T0
    # the relief driver took over at T0; the dispatch event naming Dana (T0 - 5 min) arrives late
    assert driver_update(
        "started", "Riley Relief", "dispatched", "Dana Ruiz", T0 - timedelta(minutes=5), changed_at
    ) == ("keep")
    # a newer reassignment is a change again
    assert driver_update("started", "Riley Relief", "enroute", "Dana Ruiz", T0 + timedelta(minutes=5), changed_at) == (
        "changed"
    )


def test_the_change_reads_with_its_time_and_the_previous_driver():
    entry = {"status": DRIVER_CHANGED, "at": T0.isoformat(), "driver": "Riley Relief", "previous": "Dana Ruiz"}
    assert driver_change_text(entry) == "Driver changed to Riley Relief at 14:05 UTC (was Dana Ruiz)"
    assert _step_label(entry) == "Driver changed to Riley Relief (was Dana Ruiz)"
    assert _step_label({"status": "started", "at": T0.isoformat()}) == "Driver started"


def test_timeline_keeps_flow_order_with_changes_after_the_status_they_happened_in():
    d = Delivery(order_id=1)
    d.timeline = json.dumps(
        [
            {"status": "created", "at": T0.isoformat()},
            {"status": "dispatched", "at": (T0 + timedelta(minutes=1)).isoformat()},
            {"status": "started", "at": (T0 + timedelta(minutes=2)).isoformat()},
            {
                "status": DRIVER_CHANGED,
                "at": (T0 + timedelta(minutes=3)).isoformat(),
                "driver": "Riley Relief",
                "previous": "Dana Ruiz",
                "during": "started",
            },
        ]
    )
    merge_timeline(d, "enroute", T0 + timedelta(minutes=4))
    merge_timeline(d, "started", T0 + timedelta(minutes=9))  # a duplicate status is not added twice
    entries = json.loads(d.timeline)
    assert [t["status"] for t in entries] == ["created", "dispatched", "started", DRIVER_CHANGED, "enroute"]
    assert last_driver_change(entries)["driver"] == "Riley Relief"
    assert driver_change_note(d) == "Driver changed to Riley Relief at 14:08 UTC (was Dana Ruiz)"


def test_no_change_no_note():
    d = Delivery(order_id=1, timeline=json.dumps([{"status": "dispatched", "at": T0.isoformat()}]))
    assert driver_change_note(d) is None and last_driver_change(json.loads(d.timeline)) is None
    assert driver_change_note(Delivery(order_id=1)) is None
