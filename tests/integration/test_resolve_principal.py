"""resolve_principal re-validates every token on the server; its cache is short and invalidated."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from sqlmodel import select

from reup_app.db import unit_of_work
from reup_app.models import Membership, User
from reup_app.models.types import utcnow
from reup_app.security.principal import ANONYMOUS
from reup_app.security.ratelimit import RedisBackend, set_backend
from reup_app.security.tokens import TokenExpired, TokenInvalid, create_access_token
from reup_app.services.identity import accounts, principal_cache
from reup_app.services.identity.auth import SessionEnded, resolve_principal, resolve_principal_cached
from reup_app.services.identity.principal_cache import set_cache_ttl
from tests.identity_support import admin_principal, make_entity, make_member
from tests.ratelimit_support import rate_backend

TTL = 1.0


@pytest.fixture(params=["memory", "redis"])
def backend(request, redis_url):
    with rate_backend(request.param, redis_url, cache_ttl=TTL) as b:
        yield b


@pytest.fixture
def member(session, backend):
    entity = make_entity(session)
    user, _ = make_member(session, entity, "sales")
    with unit_of_work(ANONYMOUS) as s:
        res = accounts.login(s, email=user.email, password="Test-Password-123", client_ip="10.5.0.1")
    return user, entity, res


def write(fn):
    """Change the DB behind the services' back (no cache invalidation), like another process would."""
    with unit_of_work(None) as s:
        fn(s)


def test_valid_token_resolves_with_current_roles(member):
    user, entity, res = member
    p = resolve_principal(None, res.access_token, client_ip="198.51.100.1")
    assert (p.user_id, p.entity_id, p.roles, p.is_platform_admin) == (user.id, entity.id, frozenset({"sales"}), False)
    assert p.client_ip == "198.51.100.1" and p.is_authenticated and p.token_version == user.token_version


def test_expired_and_invalid_tokens(member):
    user, entity, _ = member
    old = create_access_token(
        user_id=user.id,
        entity_id=entity.id,
        roles={"sales"},
        is_platform_admin=False,
        token_version=user.token_version,
        now=utcnow() - timedelta(hours=2),
    )
    with pytest.raises(TokenExpired):
        resolve_principal(None, old)
    with pytest.raises(TokenInvalid):
        resolve_principal(None, "garbage")


def _disable(user_id):
    def fn(s):
        u = s.get(User, user_id)
        u.is_active = False
        s.add(u)

    return fn


def test_disabled_user_refused_within_ttl_even_without_invalidation(member):
    user, _, res = member
    resolve_principal(None, res.access_token)  # cached now
    write(_disable(user.id))
    deadline = time.monotonic() + TTL + 0.5
    while True:
        try:
            resolve_principal(None, res.access_token)
        except SessionEnded as e:
            assert "disabled" in str(e)
            break
        assert time.monotonic() < deadline, "still accepted after the cache TTL"
        time.sleep(0.05)


def test_disable_user_service_ends_access_immediately(session, member):
    user, _, res = member
    admin = admin_principal(session)
    resolve_principal(None, res.access_token)
    with unit_of_work(admin) as s:
        accounts.disable_user(s, admin, user.id)
    with pytest.raises(SessionEnded):
        resolve_principal(None, res.access_token)


def test_token_version_bump_refused(member):
    user, _, res = member
    resolve_principal(None, res.access_token)
    with unit_of_work(res.principal) as s:
        accounts.logout(s, res.principal, None, everywhere=True)
    with pytest.raises(SessionEnded, match="signed out everywhere"):
        resolve_principal(None, res.access_token)


def test_token_version_bump_behind_the_back_refused_after_ttl(member):
    user, _, res = member
    resolve_principal(None, res.access_token)

    def bump(s):
        u = s.get(User, user.id)
        u.token_version += 1
        s.add(u)

    write(bump)
    assert resolve_principal(None, res.access_token).user_id == user.id  # cached: still allowed
    time.sleep(TTL + 0.1)
    with pytest.raises(SessionEnded):
        resolve_principal(None, res.access_token)


def test_removed_membership_refused(session, member):
    user, entity, res = member
    resolve_principal(None, res.access_token)

    def remove(s):
        s.delete(s.exec(select(Membership).where(Membership.user_id == user.id)).one())

    write(remove)
    time.sleep(TTL + 0.1)
    with pytest.raises(SessionEnded, match="no longer a member"):
        resolve_principal(None, res.access_token)


def test_role_change_applies_and_suspension_refused(session, member):
    user, entity, res = member
    _, owner = make_member(session, entity, "owner")
    m = session.exec(select(Membership).where(Membership.user_id == user.id)).one()
    with unit_of_work(owner) as s:
        accounts.change_member_role(s, owner, m.id, "viewer")
    assert resolve_principal(None, res.access_token).roles == frozenset({"viewer"})
    admin = admin_principal(session)
    with unit_of_work(admin) as s:
        accounts.suspend_entity(s, admin, entity.id)
    with pytest.raises(SessionEnded, match="suspended"):
        resolve_principal(None, res.access_token)


def test_forged_admin_claim_refused(member):
    user, entity, _ = member
    forged = create_access_token(
        user_id=user.id, entity_id=None, roles=set(), is_platform_admin=True, token_version=user.token_version
    )
    with pytest.raises(SessionEnded):
        resolve_principal(None, forged)
    other_entity = create_access_token(
        user_id=user.id,
        entity_id=entity.id + 100000,
        roles={"owner"},
        is_platform_admin=False,
        token_version=user.token_version,
    )
    with pytest.raises(SessionEnded):
        resolve_principal(None, other_entity)


def test_token_roles_are_not_trusted(member):
    user, entity, _ = member
    t = create_access_token(
        user_id=user.id, entity_id=entity.id, roles={"owner"}, is_platform_admin=False, token_version=user.token_version
    )
    assert resolve_principal(None, t).roles == frozenset({"sales"})


def test_unknown_user_refused(backend):
    t = create_access_token(
        user_id=2_000_000_000, entity_id=None, roles=set(), is_platform_admin=False, token_version=1
    )
    with pytest.raises(SessionEnded):
        resolve_principal(None, t)


def test_platform_admin_resolves_without_entity(session, backend):
    admin = admin_principal(session)
    t = create_access_token(
        user_id=admin.user_id, entity_id=None, roles=set(), is_platform_admin=True, token_version=admin.token_version
    )
    p = resolve_principal(None, t)
    assert p.is_platform_admin and p.entity_id is None and p.roles == frozenset()


def test_cache_avoids_the_database_and_uses_the_session_when_given(session, member, monkeypatch):
    user, _, res = member
    calls = []
    real = principal_cache.load_auth_state
    monkeypatch.setattr(principal_cache, "load_auth_state", lambda conn, uid: calls.append(uid) or real(conn, uid))
    principal_cache.invalidate_users(None, user.id)
    resolve_principal(session, res.access_token)
    for _ in range(20):
        resolve_principal(None, res.access_token)
    assert calls == [user.id]


def test_redis_invalidation_reaches_other_workers(session, redis_url):
    prefix = f"t-{uuid.uuid4().hex}:"
    worker_a, worker_b = RedisBackend(redis_url, prefix=prefix), RedisBackend(redis_url, prefix=prefix)
    set_cache_ttl(30)
    try:
        entity = make_entity(session)
        user, _ = make_member(session, entity, "buyer")
        set_backend(worker_a)
        with unit_of_work(ANONYMOUS) as s:
            res = accounts.login(s, email=user.email, password="Test-Password-123")
        resolve_principal(None, res.access_token)  # worker A caches
        set_backend(worker_b)
        with unit_of_work(res.principal) as s:  # worker B handles "logout everywhere"
            accounts.logout(s, res.principal, res.refresh_token, everywhere=True)
        set_backend(worker_a)
        with pytest.raises(SessionEnded):
            resolve_principal(None, res.access_token)
    finally:
        set_backend(None)
        set_cache_ttl(None)
        worker_a.close()
        worker_b.close()


def test_recheck_within_a_second_needs_no_io_and_sees_this_process_changes_at_once(session, member, monkeypatch):
    """What a push burst or a page's several handlers rely on: the same user and token re-checked
    within LOCAL_SECONDS need neither the cache nor the database; an invalidation or a sign-out in
    this process is seen at once, and nothing is held past LOCAL_SECONDS."""
    user, entity, res = member
    assert resolve_principal_cached(res.access_token) is None  # nothing held yet: ask the cache
    p = resolve_principal(None, res.access_token, client_ip="10.1.1.1")
    real_backend = principal_cache.get_backend
    monkeypatch.setattr(principal_cache, "get_backend", lambda: pytest.fail("a held re-check must not do I/O"))
    monkeypatch.setattr(principal_cache, "_load", lambda *a: pytest.fail("a held re-check must not do I/O"))
    held = resolve_principal_cached(res.access_token, client_ip="10.1.1.1")
    assert held == p and held.roles == frozenset({"sales"})
    monkeypatch.setattr(principal_cache, "get_backend", real_backend)
    monkeypatch.undo()

    with unit_of_work(res.principal) as s:  # this process signs the user out everywhere
        accounts.logout(s, res.principal, None, everywhere=True)
    assert resolve_principal_cached(res.access_token) is None
    with pytest.raises(SessionEnded):
        resolve_principal(None, res.access_token)

    other = make_member(session, entity, "buyer")[0]
    with unit_of_work(ANONYMOUS) as s:
        res2 = accounts.login(s, email=other.email, password="Test-Password-123")
    monkeypatch.setattr(principal_cache, "LOCAL_SECONDS", 0.2)
    resolve_principal(None, res2.access_token)
    assert resolve_principal_cached(res2.access_token) is not None
    time.sleep(0.3)
    assert resolve_principal_cached(res2.access_token) is None  # held no longer than LOCAL_SECONDS


def test_a_revoked_single_token_is_not_served_from_what_this_process_holds(member):
    user, _, res = member
    resolve_principal(None, res.access_token)
    assert resolve_principal_cached(res.access_token) is not None
    with unit_of_work(res.principal) as s:
        accounts.logout(s, res.principal, None, everywhere=False, access_token=res.access_token)
    assert resolve_principal_cached(res.access_token) is None
    with pytest.raises(SessionEnded, match="signed out"):
        resolve_principal(None, res.access_token)


def test_no_held_rechecks_when_the_cache_is_off(member):
    _, _, res = member
    set_cache_ttl(0)
    resolve_principal(None, res.access_token)
    assert resolve_principal_cached(res.access_token) is None
