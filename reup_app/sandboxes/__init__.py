"""Local, faithful stand-ins for the outside systems ReUp talks to (METRC today; Dutchie and Fleetbase next).

Shared pieces, reused by every vendor sandbox:
- `clock`      a movable "now" (advance / set) for lastModified windows;
- `faults`     switchable faults (latency, 500s, 429 storms, stall after a write, duplicate/shifted pages);
- `calllog`    per path / facility / second call counts and a sliding-window rate limiter;
- `app`        the Starlette app factory (auth-agnostic middleware: call log, faults) and the `/_sandbox/` control API;
- `runner`     serve an app factory with granian, configured through one environment variable.

Run one with `reup sandbox metrc --port 8101` or `python -m reup_app.sandboxes metrc --port 8101`.
"""
