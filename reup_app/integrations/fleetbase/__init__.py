"""The Fleetbase v1 client (orders, places, tracker, ETA, proofs) on the shared HTTP layers."""
