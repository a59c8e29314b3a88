"""The one place that decides whether a principal may perform an action on an entity's data.

Services call `authorize(principal, action, entity_id)` with the entity that owns the *target row*
(never one taken from the page). Platform admins may do everything except act as a party in
trade (they can view and moderate, not place or accept orders).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from reup_app.errors import NotAuthenticated, PermissionDenied
from reup_app.models.enums import Role
from reup_app.security.events import security_event
from reup_app.security.principal import Principal

O, A, B, S, F, V = Role.OWNER, Role.ADMIN, Role.BUYER, Role.SALES, Role.FULFILLMENT, Role.VIEWER  # noqa: E741  (the permission table reads as a grid of role initials)
ALL_MEMBERS = frozenset({O, A, B, S, F, V})

# action -> roles (within the target entity) that may perform it.
ACTION_ROLES: dict[str, frozenset[str]] = {
    # catalog and inventory (wholesaler side)
    "catalog.view": ALL_MEMBERS,  # a seller's own list, incl. internal/archived
    "catalog.manage": frozenset({O, A, S}),
    "inventory.manage": frozenset({O, A, S, F}),
    "pricing.manage": frozenset({O, A, S}),
    # buying (retailer side)
    "cart.manage": frozenset({O, A, B}),
    "order.place": frozenset({O, A, B}),
    "order.cancel": frozenset({O, A, B}),
    # selling (wholesaler side)
    "order.accept": frozenset({O, A, S}),
    "order.reject": frozenset({O, A, S}),
    "order.edit_lines": frozenset({O, A, S}),
    "order.fulfill": frozenset({O, A, S, F}),
    "order.ship": frozenset({O, A, S, F}),
    "order.complete": frozenset({O, A, S}),
    "invoice.manage": frozenset({O, A, S}),
    "payment.record": frozenset({O, A, S}),
    "customer.hold": frozenset({O, A, S}),
    # either side
    "order.view": ALL_MEMBERS,
    "order.message": frozenset({O, A, B, S, F}),
    "invoice.view": ALL_MEMBERS,
    "dashboard.view": ALL_MEMBERS,
    "notification.view": ALL_MEMBERS,
    # entity administration
    "team.view": frozenset({O, A}),
    "team.manage": frozenset({O, A}),
    "entity.settings": frozenset({O}),
    "entity.documents": frozenset({O, A}),  # licence certificates and registration for the review
    "audit.view": frozenset({O, A}),
    "integration.manage": frozenset({O, A}),
}

# Business kind: actions only one side of the trade performs. The acting business (the target
# row's entity, which `is_allowed` requires to be the principal's own) must be of one of these
# kinds, whatever the role (an owner of a retailer has no price tiers). Every other action in
# ACTION_ROLES is open to both kinds. "both" businesses trade on both sides.
SELLER_KINDS = frozenset({"wholesaler", "both"})
BUYER_KINDS = frozenset({"retailer", "both"})
ACTION_KINDS: dict[str, frozenset[str]] = {
    # products, lots, price tiers, pricing
    "catalog.manage": SELLER_KINDS,
    "inventory.manage": SELLER_KINDS,
    "pricing.manage": SELLER_KINDS,
    # fulfilment, shipping, invoicing of orders received
    "order.accept": SELLER_KINDS,
    "order.reject": SELLER_KINDS,
    "order.edit_lines": SELLER_KINDS,
    "order.fulfill": SELLER_KINDS,
    "order.ship": SELLER_KINDS,
    # order.complete: both sides (the seller closes a delivered order, the buyer confirms receipt)
    "invoice.manage": SELLER_KINDS,
    "payment.record": SELLER_KINDS,
    "customer.hold": SELLER_KINDS,
    # cart, checkout, buyer cancel, order guides (re-ordering from past orders)
    "cart.manage": BUYER_KINDS,
    "order.place": BUYER_KINDS,
    "order.cancel": BUYER_KINDS,
}
KIND_DENIED = {
    SELLER_KINDS: "Only wholesalers can do that.",
    BUYER_KINDS: "Only retailers can do that.",
}

# entity id -> its kind ("retailer", "wholesaler", "both") or None when unknown; installed by the
# services layer (`reup_app.services.kind_check`), which can read the database.
_kind_lookup: list[Callable[[int], str | None]] = []


def set_entity_kind_lookup(lookup: Callable[[int], str | None]) -> None:
    _kind_lookup[:] = [lookup]


def kind_allows(principal: Principal, action: str, entity_id: int | None) -> bool:
    """Whether the acting business's kind may perform `action` (system: always; unknown: never)."""
    kinds = ACTION_KINDS.get(action)
    if kinds is None or principal.is_system or entity_id is None:
        return True
    if not _kind_lookup:
        raise RuntimeError("no entity kind lookup installed (import reup_app.services.kind_check)")
    return _kind_lookup[0](entity_id) in kinds


# Actions only a platform admin may perform (no entity role grants them).
ADMIN_ONLY_ACTIONS = frozenset(
    {
        "entity.approve",
        "entity.suspend",
        "platform.audit.view",
        "platform.email.manage",
        "platform.jobs.manage",
        "platform.metrics.view",
        "platform.support.view",
        "user.disable",
    }
)

# Actions a platform admin may also perform on any entity (oversight, not trading).
ADMIN_OVERSIGHT_ACTIONS = frozenset(
    {
        "order.view",
        "invoice.view",
        "dashboard.view",
        "team.view",
        "audit.view",
        "integration.manage",
        "entity.documents",
    }
)


# What a read-only principal (a platform admin's support view of a business) may do: look.
READ_ONLY_ACTIONS = frozenset(
    {"catalog.view", "order.view", "invoice.view", "dashboard.view", "notification.view", "team.view", "audit.view"}
)


def is_allowed(principal: Principal, action: str, entity_id: int | None) -> bool:
    if action not in ACTION_ROLES and action not in ADMIN_ONLY_ACTIONS:
        raise KeyError(f"unknown action {action!r}")
    if principal.is_system:
        return True
    if not principal.is_authenticated:
        return False
    if principal.read_only and action not in READ_ONLY_ACTIONS:
        return False
    if principal.is_platform_admin and (action in ADMIN_ONLY_ACTIONS or action in ADMIN_OVERSIGHT_ACTIONS):
        return True
    if action in ADMIN_ONLY_ACTIONS:
        return False
    if entity_id is None or principal.entity_id != entity_id:
        return False
    return principal.has_role(*ACTION_ROLES[action])


def authorize(principal: Principal, action: str, entity_id: int | None) -> None:
    """Raise unless `principal` may perform `action` on data owned by `entity_id`."""
    if not principal.is_system and not principal.is_authenticated:
        raise NotAuthenticated("Please sign in to continue.")
    if not is_allowed(principal, action, entity_id):
        _denied(principal, action, entity_id, "role")
        raise PermissionDenied("You are not allowed to do that.")
    if not kind_allows(principal, action, entity_id):
        _denied(principal, action, entity_id, "business kind")
        raise PermissionDenied(KIND_DENIED[ACTION_KINDS[action]])


def _denied(principal: Principal, action: str, entity_id: int | None, reason: str) -> None:
    security_event(
        "permission.denied",
        user_id=principal.user_id,
        entity_id=principal.entity_id,
        client_ip=principal.client_ip,
        action=action,
        target_entity=entity_id,
        reason=reason,
        level=logging.WARNING,
    )
