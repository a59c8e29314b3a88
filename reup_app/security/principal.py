"""Who is acting: a user acting for one entity with roles, or the system (jobs, webhooks)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Principal:
    user_id: int | None
    entity_id: int | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    is_platform_admin: bool = False
    token_version: int | None = None
    client_ip: str | None = None
    # "user" for people, "system" for background jobs and verified webhooks, "anonymous" for none.
    kind: str = "user"
    # A platform admin's "view as business" (support): may read the entity's pages, never write.
    # `permissions.is_allowed` refuses every action but READ_ONLY_ACTIONS and `db.unit_of_work`
    # refuses any flush or bulk statement of a read-only principal.
    read_only: bool = False

    @property
    def is_authenticated(self) -> bool:
        return self.kind == "user" and self.user_id is not None

    @property
    def is_system(self) -> bool:
        return self.kind == "system"

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


def support_view(principal: Principal, entity_id: int) -> Principal:
    """The read-only principal of platform admin `principal` viewing `entity_id` as support."""
    return Principal(
        user_id=principal.user_id,
        entity_id=entity_id,
        roles=frozenset({"viewer"}),
        is_platform_admin=principal.is_platform_admin,
        token_version=principal.token_version,
        client_ip=principal.client_ip,
        read_only=True,
    )


ANONYMOUS = Principal(user_id=None, kind="anonymous")


def system_principal(job: str = "system") -> Principal:
    """The principal for background jobs and verified webhooks (audited as the system)."""
    return Principal(user_id=None, kind="system", roles=frozenset({job}))
