"""The engine's TLS options (reup_app/db.py `engine_kwargs`): no CA, no TLS and no SSL context built
per connection; a CA, one verifying context shared by every connection. The TLS handshake itself
against a server that requires it, and the refusal of a server the CA did not sign, are in
tests/topology/test_replicas.py (a real MariaDB replica with a generated CA)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from sqlalchemy import text

from reup_app import db


def test_without_a_ca_connections_are_plain_and_build_no_ssl_context(mysql_url):
    engine = db.build_engine(mysql_url)
    try:
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            # PyMySQL's "preferred" mode would set ssl and build a context (CA bundle loaded) per connection.
            assert raw.ssl is False and getattr(raw, "ctx", None) is None
            assert conn.execute(text("SHOW SESSION STATUS LIKE 'Ssl_cipher'")).one()[1] == ""
    finally:
        engine.dispose()


def _a_ca_file() -> str:
    for candidate in (ssl.get_default_verify_paths().cafile, "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).is_file():
            return candidate
    pytest.skip("no CA bundle on this machine to build a context from")


def test_with_a_ca_every_connection_shares_one_verifying_context():
    ca = _a_ca_file()
    first = db.engine_kwargs("mysql+pymysql://u@db.example:3306/x", ca)["connect_args"]
    second = db.engine_kwargs("mysql+pymysql://u@db.example:3306/y", ca)["connect_args"]
    ctx = first["ssl"]
    assert isinstance(ctx, ssl.SSLContext) and second["ssl"] is ctx  # built once, not per connection
    assert "ssl_disabled" not in first
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname  # a server the CA did not sign is refused
    assert not ctx.verify_flags & ssl.VERIFY_X509_STRICT  # as PyMySQL sets it for MySQL's own certificates
