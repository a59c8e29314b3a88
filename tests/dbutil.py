"""Throw-away MySQL databases and the Redis URL for tests (see reup_app.db_admin)."""

from __future__ import annotations

import os

from reup_app.db_admin import SERVER_URL as MYSQL_SERVER_URL  # noqa: F401
from reup_app.db_admin import drop_mysql_database, fresh_mysql_database  # noqa: F401

REDIS_URL = os.environ.get("REUP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
