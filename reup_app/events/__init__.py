"""Domain events: emitted by services inside a unit of work, published only after it commits.

    from reup_app.events import emit
    emit(session, "order.submitted", entity_ids=[buyer_id, seller_id], payload={"order_id": 1, ...})

`entity_ids` is the audience: only sessions of members of those entities (and platform admins
where the event says so) may receive it. Subscribers (the Reflex push layer, notification
writer) register with `reup_app.events.bus.get_bus().subscribe(callback)`.
"""

from reup_app.events.core import DomainEvent, emit

__all__ = ["DomainEvent", "emit"]
