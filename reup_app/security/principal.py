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

    @property
    def is_authenticated(self) -> bool:
        return self.kind == "user" and self.user_id is not None

    @property
    def is_system(self) -> bool:
        return self.kind == "system"

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


ANONYMOUS = Principal(user_id=None, kind="anonymous")


def system_principal(job: str = "system") -> Principal:
    """The principal for background jobs and verified webhooks (audited as the system)."""
    return Principal(user_id=None, kind="system", roles=frozenset({job}))
