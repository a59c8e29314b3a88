"""Refresh-token rotation, reuse detection, revocation and logout (MySQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from reup_app.errors import NotAuthenticated
from reup_app.models import RefreshToken, User
from reup_app.models.types import utcnow
from reup_app.security import tokens
from reup_app.security.principal import ANONYMOUS
from reup_app.security.ratelimit import MemoryBackend, set_backend
from reup_app.security.tokens import RefreshTokenInvalid, RefreshTokenReused
from reup_app.services.identity import accounts
from reup_app.services.identity.principal_cache import set_cache_ttl
from tests.identity_support import fresh, make_entity, make_member, uow


@pytest.fixture(autouse=True)
def fresh_backend():
    set_backend(MemoryBackend())
    set_cache_ttl(0)
    yield
    set_backend(None)
    set_cache_ttl(None)


@pytest.fixture
def member(session):
    entity = make_entity(session)
    user, _ = make_member(session, entity, "sales")
    return user, entity


def login(user):
    with uow(ANONYMOUS) as s:
        return accounts.login(
            s, email=user.email, password="Test-Password-123", client_ip="10.9.0.1", user_agent="pytest"
        )


def refresh(raw):
    with uow(ANONYMOUS) as s:
        return accounts.refresh(s, raw, client_ip="10.9.0.2", user_agent="pytest-2")


def family_rows(session, raw):
    fresh(session)
    row = session.exec(select(RefreshToken).where(RefreshToken.token_hash == tokens.hash_token(raw))).one()
    return session.exec(
        select(RefreshToken).where(RefreshToken.family_id == row.family_id).order_by(RefreshToken.id)
    ).all()


def test_only_the_hash_is_stored(session, member):
    user, _ = member
    res = login(user)
    rows = family_rows(session, res.refresh_token)
    assert len(rows) == 1 and rows[0].token_hash == tokens.hash_token(res.refresh_token)
    assert res.refresh_token not in rows[0].token_hash and len(res.refresh_token) >= 43
    assert rows[0].client_ip == "10.9.0.1" and rows[0].user_agent == "pytest"
    assert timedelta(days=13) < rows[0].expires_at - utcnow() <= timedelta(days=14)


def test_rotation_issues_new_token_in_same_family(session, member):
    user, entity = member
    res = login(user)
    r2 = refresh(res.refresh_token)
    assert r2.refresh_token != res.refresh_token and r2.access_token != res.access_token
    assert r2.entity_id == entity.id and r2.principal.roles == frozenset({"sales"})
    rows = family_rows(session, res.refresh_token)
    assert len(rows) == 2 and rows[0].used_at is not None and rows[1].used_at is None
    assert rows[1].token_hash == tokens.hash_token(r2.refresh_token)
    r3 = refresh(r2.refresh_token)
    assert len(family_rows(session, res.refresh_token)) == 3
    assert accounts.resolve_principal(None, r3.access_token).user_id == user.id


def test_reuse_revokes_the_whole_family(session, member):
    user, _ = member
    res = login(user)
    r2 = refresh(res.refresh_token)
    with pytest.raises(RefreshTokenReused):
        refresh(res.refresh_token)  # the stolen, already-used token
    rows = family_rows(session, res.refresh_token)
    assert all(r.revoked_at is not None for r in rows)  # committed despite the error
    with pytest.raises(RefreshTokenInvalid):
        refresh(r2.refresh_token)  # the legitimate successor died too


def test_reuse_does_not_touch_other_sessions(session, member):
    user, _ = member
    a, b = login(user), login(user)
    refresh(a.refresh_token)
    with pytest.raises(RefreshTokenReused):
        refresh(a.refresh_token)
    assert refresh(b.refresh_token).status == "ok"


def test_expired_and_unknown_tokens_are_refused(session, member):
    user, _ = member
    res = login(user)
    row = family_rows(session, res.refresh_token)[0]
    row.expires_at = utcnow() - timedelta(seconds=1)
    session.add(row)
    session.commit()
    with pytest.raises(RefreshTokenInvalid, match="expired"):
        refresh(res.refresh_token)
    for garbage in ["", "nope", "x" * 300]:
        with pytest.raises(RefreshTokenInvalid):
            refresh(garbage)


def test_logout_revokes_family_and_access_token(session, member):
    user, _ = member
    res = login(user)
    other = login(user)
    with uow(res.principal) as s:
        accounts.logout(s, res.principal, res.refresh_token, access_token=res.access_token)
    assert all(r.revoked_at is not None for r in family_rows(session, res.refresh_token))
    with pytest.raises(RefreshTokenInvalid):
        refresh(res.refresh_token)
    with pytest.raises(NotAuthenticated, match="signed out"):
        accounts.resolve_principal(None, res.access_token)
    # the other device keeps working
    assert accounts.resolve_principal(None, other.access_token).user_id == user.id
    assert refresh(other.refresh_token).status == "ok"


def test_logout_cannot_revoke_someone_elses_family(session, member):
    user, entity = member
    victim, _ = make_member(session, entity, "buyer")
    mine, theirs = login(user), login(victim)
    with uow(mine.principal) as s:
        accounts.logout(s, mine.principal, theirs.refresh_token)
    assert all(r.revoked_at is None for r in family_rows(session, theirs.refresh_token))


def test_logout_everywhere(session, member):
    user, _ = member
    a, b = login(user), login(user)
    with uow(a.principal) as s:
        accounts.logout(s, a.principal, a.refresh_token, everywhere=True)
    fresh(session)
    assert session.get(User, user.id).token_version == a.principal.token_version + 1
    for res in (a, b):
        with pytest.raises(RefreshTokenInvalid):
            refresh(res.refresh_token)
        with pytest.raises(NotAuthenticated):
            accounts.resolve_principal(None, res.access_token)
    assert login(user).status == "ok"


def test_refresh_refused_for_disabled_user_or_lost_membership(session, member):
    user, entity = member
    res = login(user)
    with uow(None) as s:
        u = s.get(User, user.id)
        u.is_active = False
        s.add(u)
    with pytest.raises(NotAuthenticated, match="disabled"):
        refresh(res.refresh_token)
    fresh(session)
    # the failed refresh rolled back: the token is still unused (not a reuse)
    assert family_rows(session, res.refresh_token)[0].used_at is None
