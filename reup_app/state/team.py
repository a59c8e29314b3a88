"""/settings/team: members, roles, invitations and the business's "require MFA" switch."""

from __future__ import annotations

import reflex as rx

from reup_app.errors import ServiceError
from reup_app.formatting import format_datetime
from reup_app.models.enums import EntityKind, Role
from reup_app.services.identity import profile as profile_service
from reup_app.services.identity import team as team_service
from reup_app.state.base import AppState, error_message, form_text
from reup_app.state.inputs import parse_id

# Roles that make sense for each kind of business (services accept any valid role).
ROLES_BY_KIND = {
    EntityKind.RETAILER.value: ("owner", "admin", "buyer", "viewer"),
    EntityKind.WHOLESALER.value: ("owner", "admin", "sales", "fulfillment", "viewer"),
}
ALL_ROLES = tuple(r.value for r in Role)


class TeamState(AppState):
    members: list[dict[str, str]] = []
    invites: list[dict[str, str]] = []
    roles: list[str] = list(ALL_ROLES)
    require_mfa: bool = False
    can_manage: bool = False
    is_owner: bool = False
    error: str = ""
    notice: str = ""

    async def _reload(self) -> None:
        p = await self._principal()
        members = await self._call(team_service.list_members, p.entity_id)
        self.members = [
            {
                "id": str(m.membership_id),
                "name": m.full_name,
                "email": m.email,
                "role": m.role,
                "mfa": "on" if m.mfa_enabled else "off",
                "active": "yes" if m.is_active else "disabled",
                "joined": format_datetime(m.joined_at),
            }
            for m in members
        ]
        invites = await self._call(team_service.list_invites, p.entity_id)
        self.invites = [
            {"id": str(i.id), "email": i.email, "role": i.role, "expires": format_datetime(i.expires_at)}
            for i in invites
        ]
        self.require_mfa = (await self._call(profile_service.get_profile)).business_requires_mfa
        self.is_owner = p.has_role("owner")
        self.can_manage = p.has_role("owner", "admin")

    @rx.event
    async def load(self):
        if (denied := await self._gate("team.view")) is not None:
            return denied
        from reup_app.state.auth import AuthState

        kind = (await self.get_state(AuthState)).entity_kind
        self.roles = list(ROLES_BY_KIND.get(kind, ALL_ROLES))
        self.error = self.notice = ""
        await self._reload()

    async def _act(self, fn, *args, done: str) -> None:
        try:
            await self._call(fn, *args)
        except ServiceError as err:
            self.error, self.notice = error_message(err), ""
            return
        self.error, self.notice = "", done
        await self._reload()

    @rx.event
    async def invite(self, form: dict):
        email, role = form_text(form, "email", 255), form_text(form, "role", 32)
        p = await self._principal()
        await self._act(
            team_service.invite_member,
            p.entity_id,
            email,
            role,
            done=f"Invitation e-mailed to {email}; the link works once, for 7 days.",
        )

    @rx.event
    async def change_role(self, membership_id: str, role: str):
        ident = parse_id(membership_id)
        if ident is None or not isinstance(role, str):
            self.error = "Unknown member."
            return
        await self._act(team_service.change_member_role, ident, role[:32], done="Role changed.")

    @rx.event
    async def remove(self, membership_id: str):
        ident = parse_id(membership_id)
        if ident is None:
            self.error = "Unknown member."
            return
        await self._act(team_service.remove_member, ident, done="Member removed; their access has ended.")

    @rx.event
    async def revoke(self, invite_id: str):
        ident = parse_id(invite_id)
        if ident is None:
            self.error = "Unknown invitation."
            return
        await self._act(team_service.revoke_invite, ident, done="Invitation withdrawn.")

    @rx.event
    async def set_require_mfa(self, required: bool):
        if not isinstance(required, bool):
            self.error = "Choose on or off."
            return
        p = await self._principal()
        await self._act(
            team_service.set_require_mfa,
            p.entity_id,
            required,
            done="Two-factor authentication is now required for every member."
            if required
            else "Two-factor authentication is now optional for members.",
        )
