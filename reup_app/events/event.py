"""The domain event: what changed, for whom (its audience), as JSON for the bus."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from reup_app.models.types import utcnow


@dataclass(frozen=True)
class DomainEvent:
    kind: str  # e.g. "order.submitted", "order.status_changed", "inventory.changed"
    entity_ids: tuple[int, ...]  # audience: members of these entities
    payload: dict[str, Any] = field(default_factory=dict)
    user_ids: tuple[int, ...] = ()  # optional narrower audience (e.g. one user's notification)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    occurred_at: str = field(default_factory=lambda: utcnow().isoformat())

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=str)

    @classmethod
    def from_json(cls, raw: str | bytes) -> DomainEvent:
        data = json.loads(raw)
        data["entity_ids"] = tuple(data.get("entity_ids") or ())
        data["user_ids"] = tuple(data.get("user_ids") or ())
        return cls(**data)
