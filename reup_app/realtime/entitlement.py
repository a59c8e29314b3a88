"""Who may receive a domain event: the one rule, used by the push layer for every session."""

from __future__ import annotations

from reup_app.events.core import DomainEvent
from reup_app.realtime.registry import SessionInfo

# Events whose payload may say {"public": True}: information every visitor of the catalog may see
# (availability), so every open session may be told to refresh.
PUBLIC_KINDS = frozenset({"inventory.changed"})


def is_entitled(event: DomainEvent, session: SessionInfo) -> bool:
    """True when `session` may receive `event`.

    - An event naming users (`user_ids`) goes only to those users, and only while they act for one
      of the event's entities.
    - Otherwise it goes to members of the event's entities (`entity_ids`), whatever their role: the
      receiving page re-checks what the role may see through the service layer.
    - A public catalog event (inventory availability) goes to every open session.
    - Platform admins (no entity) and signed-out sessions get public events only.
    """
    if event.payload.get("public") is True and event.kind in PUBLIC_KINDS:
        return not event.user_ids or session.user_id in event.user_ids
    if session.user_id is None or session.entity_id is None:
        return False
    if session.entity_id not in event.entity_ids:
        return False
    return not event.user_ids or session.user_id in event.user_ids


def is_public_to_all(event: DomainEvent) -> bool:
    """A public catalog event for no one in particular: every open session may receive it, signed
    in or not, so the hub need not look the sessions up."""
    return event.payload.get("public") is True and event.kind in PUBLIC_KINDS and not event.user_ids
