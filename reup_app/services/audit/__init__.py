"""Audit: the trail of every row change (who, when, what) and reading it back.

Modules, and the public functions re-exported here (loaded on first use):

- `log_listing`: Reading the audit trail: filter and page audit entries for admins and for a
  business's own rows. `list_audit`.
- `trail`: The audit trail: one mechanism, at the ORM layer. `is_secret_column`, `install_audit_listener`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reup_app.services.lazy_exports import exports

if TYPE_CHECKING:
    from reup_app.services.audit.log_listing import (
        AuditEntry,
        AuditPage,
        list_audit,
    )
    from reup_app.services.audit.trail import (
        install_audit_listener,
        is_secret_column,
    )

__all__ = [
    "AuditEntry",
    "AuditPage",
    "list_audit",
    "is_secret_column",
    "install_audit_listener",
]

_HOME = {
    "AuditEntry": "log_listing",
    "AuditPage": "log_listing",
    "list_audit": "log_listing",
    "is_secret_column": "trail",
    "install_audit_listener": "trail",
}

__getattr__ = exports(__name__, _HOME)
