"""API keys resolved from the principal cache (`keys.held_identity`): no database on a held key, the
rate limit still counted per key, and a key revoked, expired or of a suspended business refused on
its next request, in this process and in another one sharing Redis."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import event, update

from reup_app.db import unit_of_work
from reup_app.errors import NotAuthenticated, RateLimited
from reup_app.models import ApiKey
from reup_app.models.types import utcnow
from reup_app.security.ratelimit import RedisBackend, set_backend
from reup_app.services.identity import principal_cache, signup
from reup_app.services.identity.principal_cache import set_cache_ttl
from reup_app.services.public_api import keys
from tests.factories import make_entity, make_member
from tests.identity_support import admin_principal
from tests.ratelimit_support import rate_backend

pytestmark = pytest.mark.mysql


@pytest.fixture(params=["memory", "redis"])
def backend(request, redis_url):
    with rate_backend(request.param, redis_url, cache_ttl=15) as b:
        yield b


def _key(engine, session, **kw) -> tuple[int, str, int]:
    entity = make_entity(session, "wholesaler")
    _user, owner = make_member(session, entity, "owner")
    with unit_of_work(owner, engine=engine) as s:
        made = keys.create_key(s, owner, name="ERP", role="sales", **kw)
    _OWNERS[made.key.id] = owner
    return made.key.id, made.secret, entity.id


_OWNERS: dict = {}


def _authenticate(engine, secret: str) -> keys.KeyIdentity:
    """What deps.key_identity does on a key that is not held: the database, then the rate limit."""
    with unit_of_work(None, engine=engine) as s:
        identity = keys.authenticate(s, secret, "203.0.113.5")
    keys.enforce_rate_limit(identity)
    return identity


class _Statements:
    """Counts the statements sent to the database while active."""

    def __init__(self, engine) -> None:
        self.engine, self.count = engine, 0

    def _count(self, *_a) -> None:
        self.count += 1

    def __enter__(self) -> _Statements:
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *_exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)


def test_a_held_key_needs_no_database_and_is_the_same_principal(engine, session, backend):
    key_id, secret, entity_id = _key(engine, session)
    assert keys.held_identity(secret) is None  # never resolved: the caller reads the database
    first = _authenticate(engine, secret)
    with _Statements(engine) as seen:
        held, mark_used = keys.held_identity(secret, "203.0.113.5")
    assert seen.count == 0 and mark_used is False  # last_used_at was written a moment ago
    assert held == first
    assert held.key_id == key_id and held.principal.entity_id == entity_id and held.principal.roles == {"sales"}


def test_revoking_refuses_the_key_at_once_in_this_process(engine, session, backend):
    key_id, secret, _ = _key(engine, session)
    _authenticate(engine, secret)
    assert keys.held_identity(secret) is not None
    owner = _OWNERS[key_id]
    with unit_of_work(owner, engine=engine) as s:
        keys.revoke_key(s, owner, key_id)
    assert keys.held_identity(secret) is None
    with pytest.raises(NotAuthenticated, match="revoked"):
        _authenticate(engine, secret)
    assert keys.held_identity(secret) is None  # a refused key is never cached


def test_revoking_in_another_process_refuses_the_key_this_process_holds(engine, session, redis_url):
    """Two workers sharing Redis: B holds the key; A revokes it; B's very next request is refused
    (the shared entry is checked in the same round trip as the rate limit), not after the TTL."""
    prefix = f"t-{uuid.uuid4().hex}:"
    worker_a, worker_b = RedisBackend(redis_url, prefix=prefix), RedisBackend(redis_url, prefix=prefix)
    set_cache_ttl(30)
    try:
        key_id, secret, _ = _key(engine, session)
        set_backend(worker_b)
        _authenticate(engine, secret)
        assert keys.held_identity(secret) is not None
        set_backend(worker_a)
        with unit_of_work(_OWNERS[key_id], engine=engine) as s:
            keys.revoke_key(s, _OWNERS[key_id], key_id)
        set_backend(worker_b)
        # Both workers live in this interpreter, so A's revocation also cleared the memory B would
        # still have in its own process: put B's copy back as B held it.
        _hold_as_before(secret, key_id)
        assert principal_cache.api_key_held(keys.hash_secret(secret)) is not None
        assert keys.held_identity(secret) is None
        with pytest.raises(NotAuthenticated):
            _authenticate(engine, secret)
    finally:
        set_backend(None)
        set_cache_ttl(None)
        worker_a.close()
        worker_b.close()


def _hold_as_before(secret: str, key_id: int) -> None:
    with unit_of_work(None) as s:
        state = keys.key_state(s.get(ApiKey, key_id), utcnow())
    principal_cache._local_put({principal_cache.api_key_entry(keys.hash_secret(secret)): state}, hold=30)


def test_suspending_the_business_refuses_its_keys_at_once(engine, session, backend):
    _key_id, secret, entity_id = _key(engine, session)
    _authenticate(engine, secret)
    assert keys.held_identity(secret) is not None
    admin = admin_principal(session)
    with unit_of_work(admin, engine=engine) as s:
        signup.suspend_entity(s, admin, entity_id, "Licence lapsed")
    assert keys.held_identity(secret) is None
    with pytest.raises(NotAuthenticated, match="business is not active"):
        _authenticate(engine, secret)


def test_an_expired_key_is_not_served_from_the_cache(engine, session, backend, monkeypatch):
    key_id, secret, _ = _key(engine, session, expires_in_days=1)
    _authenticate(engine, secret)
    assert keys.held_identity(secret) is not None
    later = utcnow().timestamp() + 2 * 86400
    monkeypatch.setattr(keys.time, "time", lambda: later)
    assert keys.held_identity(secret) is None


def test_the_rate_limit_is_counted_on_held_keys_too(engine, session, backend):
    _key_id, secret, _ = _key(engine, session, rate_limit_per_minute=3)
    _authenticate(engine, secret)  # 1 (database path)
    assert keys.held_identity(secret) is not None  # 2
    assert keys.held_identity(secret) is not None  # 3
    with pytest.raises(RateLimited):
        keys.held_identity(secret)


def test_every_use_of_a_held_key_is_still_a_security_event(engine, session, backend, caplog):
    key_id, secret, entity_id = _key(engine, session, rate_limit_per_minute=3)
    _authenticate(engine, secret)
    caplog.set_level(logging.INFO, logger="reup.security")
    keys.held_identity(secret, "203.0.113.7")
    keys.held_identity(secret, "203.0.113.7")
    with pytest.raises(RateLimited):  # refused by the limit: logged as a use, as on the database path
        keys.held_identity(secret, "203.0.113.7")
    used = [r.security for r in caplog.records if getattr(r, "security_event", None) == "api_key.used"]
    held = [u for u in used if u["address"] == "203.0.113.7"]  # not the first, database-path use
    assert len(held) == 3
    assert all(u["api_credential"] == key_id and u["business"] == entity_id for u in held)
    assert all(secret not in r.getMessage() for r in caplog.records)


def test_last_used_at_is_written_from_the_cache_at_most_once_a_minute(engine, session, backend):
    key_id, secret, _ = _key(engine, session)
    _authenticate(engine, secret)
    assert keys.held_identity(secret)[1] is False
    state = principal_cache.api_key_held(keys.hash_secret(secret))
    state["used"] -= 61  # a minute ago
    with unit_of_work(None, engine=engine) as s:
        s.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=utcnow() - timedelta(seconds=61)))
    identity, mark_used = keys.held_identity(secret)
    assert mark_used is True
    with unit_of_work(None, engine=engine) as s:
        keys.mark_used(s, identity.key_id)
    with unit_of_work(None, engine=engine) as s:
        assert s.get(ApiKey, key_id).last_used_at > utcnow() - timedelta(seconds=5)
    assert keys.held_identity(secret)[1] is False  # written: not again within the minute
