"""One step of the order lifecycle: which action moves an order from which status to which, and who may take it.

The table of steps is `orders.TRANSITIONS`; `transition_effects` reads a step without importing `orders`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Transition:
    action: str
    source: str
    target: str
    side: str  # who acts: BUYER or SELLER
    permission: str  # a key of security.permissions.ACTION_ROLES, checked on that side's entity
    system_allowed: bool = False

    def __post_init__(self) -> None:  # store plain strings, not enum members
        object.__setattr__(self, "source", str(self.source))
        object.__setattr__(self, "target", str(self.target))
