"""Fixtures shared by the integration tests."""

from __future__ import annotations

import pytest

from tests.integration.apikit import ApiServer


@pytest.fixture(scope="module")
def api(mysql_url, redis_url):
    """The public API served by granian in a subprocess, one per test module (a module may override)."""
    server = ApiServer(mysql_url, redis_url)
    yield server
    server.stop()
