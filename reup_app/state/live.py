"""Registry of page states that react to pushed domain events.

A state class decorated with `@live_listener` defines
    async def _on_domain_event(self, event: DomainEvent) -> None
The push layer (reup_app/realtime) calls it, inside `app.modify_state` for each open session of a
user entitled to the event, so the page can reload what it shows. The method must be cheap when the
event does not concern what the page currently shows, and must re-check authorization through the
service layer (events carry ids, never data the receiver may not see).
"""

from __future__ import annotations

LIVE_LISTENERS: list[type] = []


def live_listener(cls: type) -> type:
    if cls not in LIVE_LISTENERS:
        LIVE_LISTENERS.append(cls)
    return cls
