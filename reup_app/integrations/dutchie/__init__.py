"""Dutchie POS client: `DutchieClient` (client.py) over the shared layers, typed records (records.py).
Checked against ../shared/specs/dutchie-pos.openapi.json."""

from reup_app.integrations.dutchie.client import DutchieClient, DutchieLimits

__all__ = ["DutchieClient", "DutchieLimits"]
