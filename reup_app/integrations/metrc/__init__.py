"""METRC v2 client: `MetrcClient` (client.py) over the shared layers, typed records (records.py),
paging and 24-hour windows (paging.py). Checked against ../shared/specs/metrc-v2.openapi.yaml."""

from reup_app.integrations.metrc.client import MetrcClient, MetrcCredentials

__all__ = ["MetrcClient", "MetrcCredentials"]
