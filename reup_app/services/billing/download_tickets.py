"""Short-lived, single-use tickets that let the browser fetch a private file over plain HTTP.

Access tokens live only in the backend state, so a download link can't carry them. Instead a
state handler asks for a ticket (the service authorizes the principal for that very file), and the
browser follows /api/invoices/<number>.pdf?ticket=<t> (or /api/orders/<number>/manifest.pdf). The ticket is a `reup_app.security.tickets`
one-time code (random, kept only as its SHA-256 for TICKET_SECONDS, consumed atomically), bound to
the user, business and file. Redemption re-checks that the user is still
active and still a member with the same token version.
"""

from __future__ import annotations

import re

from sqlmodel import Session

from reup_app.errors import NotAuthenticated, PermissionDenied
from reup_app.models.enums import EntityStatus
from reup_app.security import tickets
from reup_app.security.principal import Principal
from reup_app.services.billing.invoices import load_invoice
from reup_app.services.common import require_member
from reup_app.services.file_tickets import PURPOSES as PURPOSES  # re-exported
from reup_app.services.file_tickets import TICKET_SECONDS as TICKET_SECONDS  # re-exported
from reup_app.services.file_tickets import issue_ticket as issue_ticket  # re-exported
from reup_app.services.identity import principal_cache

_TICKET_RE = re.compile(r"^[A-Za-z0-9_\-]{20,128}$")
EXPIRED = "This download link has expired or was already used. Download the file again from the page."
PURPOSE = PURPOSES["invoice"]


def create_invoice_ticket(session: Session, principal: Principal, invoice_number: str) -> str:
    """A ticket for downloading one invoice's PDF; refused unless the principal may view it."""
    require_member(principal)
    invoice = load_invoice(session, principal, invoice_number)
    return issue_ticket(principal, "invoice", invoice.number)


def redeem_invoice_ticket(ticket: object, invoice_number: object) -> Principal:
    """The principal a ticket was issued to, for this invoice; burns the ticket."""
    return redeem_ticket(ticket, "invoice", invoice_number)


def redeem_ticket(ticket: object, kind: str, ref: object) -> Principal:
    """The principal a ticket was issued to, for this file; burns the ticket.

    NotAuthenticated for an unknown, expired or used ticket; PermissionDenied for a ticket issued
    for another file or a user whose access has ended since.
    """
    if not isinstance(ticket, str) or not _TICKET_RE.match(ticket):
        raise NotAuthenticated(EXPIRED)
    bound = tickets.take(PURPOSES[kind], ticket)
    if bound is None:
        raise NotAuthenticated(EXPIRED)
    if bound.get("kind") != kind or bound.get("ref") != ref:
        raise PermissionDenied("This download link is for another file.")
    state, _revoked = principal_cache.auth_state(int(bound["u"]))
    member = (state or {}).get("m", {}).get(str(bound["e"]))
    if (
        state is None
        or not state["a"]
        or state["tv"] != bound["tv"]
        or member is None
        or member[1] != EntityStatus.APPROVED
        or member[0] not in bound["r"]
    ):
        raise NotAuthenticated("Your session has ended. Please sign in again.")
    return Principal(
        user_id=int(bound["u"]), entity_id=int(bound["e"]), roles=frozenset(bound["r"]), token_version=bound["tv"]
    )
