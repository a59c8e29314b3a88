"""Integrations: the business side of talking to METRC, Dutchie and Fleetbase.

Modules, and the public functions re-exported here (loaded on first use):

- `outbox`: the intent to tell a vendor something, committed with the business change.
  `enqueue`.
- `error_queue`: the platform admin's error queue: outbox messages that spent their retries and
  connections whose last sync failed, with retry. `dead_messages`, `failing_runs`,
  `retry_message`, `retry_sync`.
- `connections`: a business's licenses with their METRC connection; connect, sync now, disconnect.
  `list_connections`, `connect_license`, `sync_now`, `disconnect`.
- `connection_check`: "test connection" (a remote call, outside any transaction). `test_connection`.
- `vendor_access`: a connection's row and a ready vendor client built from it.
  `connection_for_license`, `metrc_client`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reup_app.services.lazy_exports import exports

if TYPE_CHECKING:
    from reup_app.services.integrations.connection_check import test_connection
    from reup_app.services.integrations.connections import connect_license, disconnect, list_connections, sync_now
    from reup_app.services.integrations.error_queue import (
        DeadMessage,
        FailedRun,
        dead_messages,
        failing_runs,
        retry_message,
        retry_sync,
    )
    from reup_app.services.integrations.outbox import enqueue
    from reup_app.services.integrations.vendor_access import connection_for_license, metrc_client

__all__ = [
    "enqueue",
    "DeadMessage",
    "FailedRun",
    "dead_messages",
    "failing_runs",
    "retry_message",
    "retry_sync",
    "connection_for_license",
    "metrc_client",
    "list_connections",
    "connect_license",
    "sync_now",
    "disconnect",
    "test_connection",
]

_HOME = {
    "enqueue": "outbox",
    "connection_for_license": "vendor_access",
    "metrc_client": "vendor_access",
    "list_connections": "connections",
    "connect_license": "connections",
    "sync_now": "connections",
    "disconnect": "connections",
    "test_connection": "connection_check",
    "DeadMessage": "error_queue",
    "FailedRun": "error_queue",
    "dead_messages": "error_queue",
    "failing_runs": "error_queue",
    "retry_message": "error_queue",
    "retry_sync": "error_queue",
}

__getattr__ = exports(__name__, _HOME)
