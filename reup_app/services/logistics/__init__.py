"""Deliveries through Fleetbase.

- `fleetbase_plan`: at ship, the outbox row that creates the Fleetbase order after commit (or the
  "not connected" note), the order body, and recording what Fleetbase answered.
- `fleetbase_events`: the signed webhook (verify, store the raw event, drop duplicates) and applying
  an event to the delivery without ever moving its status backwards; a completed delivery moves the
  order to delivered through the order state machine.
- `fleetbase_manifest`: a METRC manifest number recorded after the Fleetbase order exists is sent to
  its meta (an outbox row enqueued before the manifest's commit).
- `delivery_cancel`: the seller's "Cancel delivery" (before the driver starts), through the outbox.
- `deliveries`: what the order page and the seller's deliveries board show, and the buyer's
  problem report.
"""
