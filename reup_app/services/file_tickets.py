"""Issuing a short-lived, single-use ticket for one private file (an invoice or a manifest PDF).

The caller authorizes the principal for the file first; `billing.download_tickets` redeems tickets.
This part sits beside `common` so that compliance (manifests) and billing both issue tickets without
importing each other.
"""

from __future__ import annotations

from reup_app.security import tickets
from reup_app.security.principal import Principal
from reup_app.services.common import require_member

TICKET_SECONDS = 60
PURPOSES = {"invoice": "invoice-download", "manifest": "manifest-download", "orders_csv": "orders-csv-download"}


def issue_ticket(principal: Principal, kind: str, ref: str) -> str:
    """A ticket for file `ref` of `kind` ("invoice", "manifest", "orders_csv"); the caller has authorized the principal."""
    require_member(principal)
    bound = {
        "kind": kind,
        "ref": ref,
        "u": principal.user_id,
        "e": principal.entity_id,
        "r": sorted(principal.roles),
        "tv": principal.token_version,
    }
    return tickets.issue(PURPOSES[kind], bound, TICKET_SECONDS)
