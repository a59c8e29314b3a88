"""Real-time push: domain events from the bus to the open browser sessions entitled to them.

- `registry`: which signed-in user/entity each open browser session (Reflex client token) belongs
  to; in Redis when configured (shared by every worker and process), in memory otherwise.
- `entitlement`: the one rule deciding whether a session may receive an event.
- `hub`: the per-worker lifespan task that subscribes to the bus and pushes each event to the
  sessions whose sockets this worker owns, by calling the `_on_domain_event` of their loaded
  `@live_listener` states (reup_app/realtime/listeners.py) inside `app.modify_state`.

`registry` and `entitlement` never import reflex; `hub` does.
"""
