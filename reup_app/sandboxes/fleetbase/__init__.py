"""The Fleetbase sandbox: places, drivers, vehicles and orders run through the transport flow on the
sandbox clock, with signed webhooks (and their faults) sent to the registered endpoint."""
