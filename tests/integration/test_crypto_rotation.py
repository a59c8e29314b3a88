"""rotate_all re-encrypts every stored secret column with the newest key (MySQL)."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from reup_app.db import unit_of_work
from reup_app.models import AuditLog, IntegrationConnection, User
from reup_app.security import crypto, mfa
from reup_app.security.keys import generate_key
from reup_app.settings import reset_settings_cache
from tests.factories import make_entity, make_license, make_user
from tests.identity_support import fresh


@pytest.fixture
def keys_env(monkeypatch):
    def set_keys(*entries):
        monkeypatch.setenv("REUP_ENCRYPTION_KEYS", ",".join(entries))
        reset_settings_cache()

    yield set_keys
    monkeypatch.undo()
    reset_settings_cache()


def test_rotate_all_reencrypts_with_newest_key(session, keys_env):
    old, new = generate_key("old"), generate_key("new")
    keys_env(old)
    user = make_user(session)
    user.mfa_secret_encrypted = mfa.encrypt_secret(user.id, "JBSWY3DPEHPK3PXP")
    session.add(user)
    entity = make_entity(session)
    lic = make_license(session, entity)
    conn = IntegrationConnection(
        entity_id=entity.id,
        license_id=lic.id,
        provider="metrc",
        base_url="http://x",
        credentials_encrypted=crypto.encrypt_credentials(lic.id, "metrc", {"k": "v"}),
    )
    session.add(conn)
    broken = make_user(session)
    broken.mfa_secret_encrypted = "v1:gone:" + "A" * 60  # encrypted with a key nobody has any more
    session.add(broken)
    session.commit()

    keys_env(new, old)
    with unit_of_work(None) as s:
        counts = crypto.rotate_all(s)
    assert counts["users.mfa_secret_encrypted"] >= 1 and counts["integration_connections.credentials_encrypted"] >= 1
    assert counts["failed"] >= 1  # reported, not fatal
    fresh(session)
    u = session.get(User, user.id)
    c = session.get(IntegrationConnection, conn.id)
    assert crypto.key_id_of(u.mfa_secret_encrypted) == "new" and crypto.key_id_of(c.credentials_encrypted) == "new"
    with unit_of_work(None) as s:  # idempotent
        again = crypto.rotate_all(s)
    assert again["users.mfa_secret_encrypted"] == 0 and again["integration_connections.credentials_encrypted"] == 0
    assert session.get(User, broken.id).mfa_secret_encrypted.startswith("v1:gone:")  # left unchanged
    with pytest.raises(crypto.CryptoError), unit_of_work(None) as s:
        crypto.rotate_all(s, strict=True)

    keys_env(new)  # the old key can go now
    assert mfa.decrypt_secret(user.id, u.mfa_secret_encrypted) == "JBSWY3DPEHPK3PXP"
    assert crypto.decrypt_credentials(c) == {"k": "v"}
    audit = session.exec(
        select(AuditLog)
        .where(AuditLog.table_name == "users", AuditLog.row_id == str(user.id))
        .order_by(AuditLog.id.desc())
    ).first()
    assert json.loads(audit.changes)["mfa_secret_encrypted"] == ["[redacted]", "[redacted]"]
