"""Sign-up, moderation, sign-in, invitations, password reset, team roles, MFA flows (MySQL)."""

from __future__ import annotations

import time
from datetime import timedelta

import pyotp
import pytest
from sqlmodel import select

from reup_app.errors import (
    Conflict,
    NotAuthenticated,
    PermissionDenied,
    RateLimited,
    ValidationError,
)
from reup_app.models import Entity, License, Membership, OneTimeToken, RefreshToken, User
from reup_app.models.types import utcnow
from reup_app.security.passwords import verify_password
from reup_app.security.principal import ANONYMOUS
from reup_app.security.ratelimit import MemoryBackend, set_backend
from reup_app.services.identity import accounts
from reup_app.services.identity.auth import AccountBlocked
from reup_app.services.identity.principal_cache import set_cache_ttl
from reup_app.services.identity.sign_in import BAD_CREDENTIALS
from tests.identity_support import (
    DEFAULT_PASSWORD,
    STRONG_PASSWORD,
    admin_principal,
    fresh,
    license,
    link_token,
    make_entity,
    make_member,
    make_user,
    outbox_for,
    sfx,
    signup_kwargs,
    uow,
)


@pytest.fixture(autouse=True)
def fresh_backend():
    set_backend(MemoryBackend())
    set_cache_ttl(0)
    yield
    set_backend(None)
    set_cache_ttl(None)


class _Clock:
    def __init__(self) -> None:
        self.t = time.time()

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def throttle_clock(monkeypatch):
    """The sign-in throttle's wall clock, moved by the test (progressive delays are seconds)."""
    from reup_app.security import signin_throttle

    clock = _Clock()
    monkeypatch.setattr(signin_throttle, "clock", clock)
    return clock


def login(email, password=DEFAULT_PASSWORD, ip="10.0.0.1", **kw):
    with uow(ANONYMOUS) as s:
        return accounts.login(s, email=email, password=password, client_ip=ip, user_agent="pytest", **kw)


def signup(**over):
    kw = signup_kwargs(**over)
    with uow(ANONYMOUS) as s:
        return kw, accounts.signup_business(s, **kw)


# --- sign-up and moderation -----------------------------------------------------------------


def test_signup_pending_cannot_login_until_admin_approves(session):
    admin = admin_principal(session)
    admin_email = session.get(User, admin.user_id).email
    kw, res = signup()
    fresh(session)
    entity = session.get(Entity, res.entity_id)
    assert entity.status == "pending" and entity.kind == "wholesaler" and entity.state == "CA"
    m = session.exec(select(Membership).where(Membership.entity_id == res.entity_id)).one()
    assert m.user_id == res.user_id and m.role == "owner"
    lic = session.exec(select(License).where(License.entity_id == res.entity_id)).one()
    assert lic.number == kw["licenses"][0]["number"]
    assert any(kw["business_name"] in mail.subject for mail in outbox_for(session, admin_email))
    user = session.get(User, res.user_id)
    assert user.password_hash != STRONG_PASSWORD and verify_password(STRONG_PASSWORD, user.password_hash)

    with pytest.raises(AccountBlocked, match="awaiting approval"):
        login(kw["email"], STRONG_PASSWORD)

    with uow(admin) as s:
        accounts.approve_entity(s, admin, res.entity_id)
    fresh(session)
    entity = session.get(Entity, res.entity_id)
    assert entity.status == "approved" and entity.approved_by_user_id == admin.user_id and entity.approved_at
    assert any("approved" in mail.subject for mail in outbox_for(session, kw["email"]))

    result = login(kw["email"], STRONG_PASSWORD)
    assert result.status == "ok" and result.entity_id == res.entity_id
    assert result.principal.roles == frozenset({"owner"}) and result.access_token and result.refresh_token


def test_reject_shows_reason_and_only_pending_can_be_rejected(session):
    admin = admin_principal(session)
    kw, res = signup()
    with uow(admin) as s:
        accounts.reject_entity(s, admin, res.entity_id, "License number does not match state records")
    with pytest.raises(AccountBlocked, match="does not match state records"):
        login(kw["email"], STRONG_PASSWORD)
    assert any("application" in m.subject for m in outbox_for(session, kw["email"]))
    with pytest.raises(Conflict), uow(admin) as s:
        accounts.reject_entity(s, admin, res.entity_id, "again")
    with pytest.raises(ValidationError), uow(admin) as s:
        accounts.reject_entity(s, admin, res.entity_id, "")


def test_suspend_blocks_login(session):
    admin = admin_principal(session)
    entity = make_entity(session)
    user, _ = make_member(session, entity, "buyer")
    assert login(user.email).status == "ok"
    with uow(admin) as s:
        accounts.suspend_entity(s, admin, entity.id, "unpaid fees")
    with pytest.raises(AccountBlocked, match="suspended"):
        login(user.email)
    with uow(admin) as s:
        accounts.approve_entity(s, admin, entity.id)  # reinstate
    assert login(user.email).status == "ok"


def test_only_platform_admins_moderate_and_nothing_changes(session):
    _, res = signup()
    other = make_entity(session)
    _, owner = make_member(session, other, "owner")
    for fn, args in [(accounts.approve_entity, ()), (accounts.reject_entity, ("no",)), (accounts.suspend_entity, ())]:
        with pytest.raises(PermissionDenied), uow(owner) as s:
            fn(s, owner, res.entity_id, *args)
    with pytest.raises(NotAuthenticated), uow(ANONYMOUS) as s:
        accounts.approve_entity(s, ANONYMOUS, res.entity_id)
    fresh(session)
    assert session.get(Entity, res.entity_id).status == "pending"


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"email": "not-an-email"}, "not a valid e-mail"),
        ({"email": "a@b"}, "not a valid e-mail"),
        ({"password": "short1A!"}, "at least 12"),
        ({"password": "aaaaaaaaaaaaaaaa"}, "repetitive"),
        ({"password": "alllowercaseletters"}, "at least two of"),
        ({"business_name": " "}, "business name"),
        ({"full_name": ""}, "full name"),
        ({"kind": "grower"}, "retailer or a wholesaler"),
        ({"licenses": []}, "at least one"),
        ({"licenses": [license(state="XX")]}, "US state"),
        ({"licenses": [license(number="!!")]}, "license number"),
        ({"licenses": [license(number="ABCDEFG")]}, "at least one digit"),
        ({"licenses": [license(number="C11-1; DROP TABLE")]}, "license number"),
        ({"licenses": [license(license_type="")]}, "license type"),
        ({"licenses": [license(expires_on="2001-01-01")]}, "expired on 2001-01-01"),
        ({"licenses": [license(expires_on="31/12/2030")]}, "2027-12-31"),
        ({"licenses": [license(number="C11-0000001-LIC"), license(number="c11-0000001-lic")]}, "listed twice"),
    ],
)
def test_signup_validation_messages_and_nothing_created(session, over, message):
    kw = signup_kwargs(**over)
    with pytest.raises(ValidationError, match=message), uow(ANONYMOUS) as s:
        accounts.signup_business(s, **kw)
    fresh(session)
    assert session.exec(select(Entity).where(Entity.name == kw["business_name"])).first() is None


def test_signup_duplicate_email_and_license(session):
    kw, res = signup()
    with pytest.raises(ValidationError, match="already exists"), uow(ANONYMOUS) as s:
        accounts.signup_business(s, **signup_kwargs(email=kw["email"].upper()))
    taken = kw["licenses"][0]["number"]
    with pytest.raises(ValidationError, match="already registered"), uow(ANONYMOUS) as s:
        accounts.signup_business(s, **signup_kwargs(licenses=[license(number=taken.lower())]))
    # the same number issued by another state is a different license
    _, res2 = signup(licenses=[license(state="OR", number=taken)])
    assert res2.entity_id != res.entity_id


def test_signup_email_is_normalised(session):
    s_ = sfx()
    kw, res = signup(email=f"  Mixed.Case-{s_}@Example.TEST ")
    fresh(session)
    assert session.get(User, res.user_id).email == f"mixed.case-{s_}@example.test"


# --- sign-in --------------------------------------------------------------------------------


def test_unknown_user_and_wrong_password_look_the_same(session):
    user = make_user(session)
    with pytest.raises(NotAuthenticated) as a:
        login(user.email, "Wrong-Password-123")
    with pytest.raises(NotAuthenticated) as b:
        login(f"nobody-{sfx()}@example.test", "Wrong-Password-123")
    assert str(a.value) == str(b.value) == BAD_CREDENTIALS
    assert type(a.value) is type(b.value)


def test_login_failures_delay_the_account_progressively_not_for_minutes(session, throttle_clock):
    entity = make_entity(session)
    user, _ = make_member(session, entity, "buyer")
    for i in range(5):
        throttle_clock.t += 60
        with pytest.raises(NotAuthenticated):
            login(user.email, "Wrong-Password-123", ip=f"10.1.0.{i}")
    with pytest.raises(RateLimited) as e:
        login(user.email, DEFAULT_PASSWORD, ip="10.1.0.99")  # even the right password, for a few seconds
    assert 0 < e.value.retry_after <= 8 and "second" in str(e.value)
    throttle_clock.t += e.value.retry_after + 0.1
    assert login(user.email, ip="10.1.0.99").status == "ok"  # the owner is not locked out


def test_successful_login_resets_account_counter(session, throttle_clock):
    entity = make_entity(session)
    user, _ = make_member(session, entity, "buyer")
    for _ in range(4):
        throttle_clock.t += 60
        with pytest.raises(NotAuthenticated):
            login(user.email, "Wrong-Password-123")
    throttle_clock.t += 60
    assert login(user.email).status == "ok"
    for _ in range(3):
        with pytest.raises(NotAuthenticated):
            login(user.email, "Wrong-Password-123")  # free again: no delay
    assert login(user.email).status == "ok"


def test_one_user_signing_in_from_two_tabs_at_once_both_succeed(session):
    """Two sign-ins of one user used to deadlock in InnoDB (seen with the realtime benchmark's
    tabs): each wrote a row pointing at the user (shared lock on the user's row) and then updated
    the user (exclusive lock). The pause after that first write lets both get there together when
    nothing makes them take turns; they take turns now, and each gets its own session."""
    import threading

    from sqlalchemy import event

    entity = make_entity(session)
    user, _ = make_member(session, entity, "sales")
    together = threading.Barrier(2)

    def pause(_mapper, _connection, target):
        if target.user_id == user.id:
            try:
                together.wait(timeout=1.5)
            except threading.BrokenBarrierError:
                pass  # the other sign-in waits for this one: nothing to wait for

    results, errors = [], []

    def sign_in(n):
        try:
            results.append(login(user.email, ip=f"10.0.9.{n}"))
        except Exception as err:
            errors.append(repr(err))

    event.listen(RefreshToken, "after_insert", pause)
    try:
        threads = [threading.Thread(target=sign_in, args=(n,)) for n in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        event.remove(RefreshToken, "after_insert", pause)
    assert errors == [] and len(results) == 2
    assert all(r.status == "ok" for r in results)
    assert results[0].refresh_token != results[1].refresh_token


def test_login_failures_delay_the_address_but_never_lock_it(session, throttle_clock):
    for _ in range(10):
        with pytest.raises(NotAuthenticated):
            login(f"nobody-{sfx()}@example.test", "Wrong-Password-123", ip="10.2.0.1")
    with pytest.raises(NotAuthenticated):  # the 11th failure from the address starts the delays
        login(f"nobody-{sfx()}@example.test", "Wrong-Password-123", ip="10.2.0.1")
    with pytest.raises(RateLimited) as e:
        login(f"nobody-{sfx()}@example.test", "Wrong-Password-123", ip="10.2.0.1")
    assert e.value.retry_after <= 2
    with pytest.raises(NotAuthenticated) as other:  # another address is not affected
        login(f"nobody-{sfx()}@example.test", "Wrong-Password-123", ip="10.2.0.2")
    assert not isinstance(other.value, RateLimited)
    throttle_clock.t += 2.1
    entity = make_entity(session)
    user, _ = make_member(session, entity, "buyer")
    assert login(user.email, ip="10.2.0.1").status == "ok"  # a colleague behind the same NAT


def test_disabled_user_is_refused_after_correct_password(session):
    admin = admin_principal(session)
    entity = make_entity(session)
    user, _ = make_member(session, entity, "buyer")
    tv0 = user.token_version
    with uow(admin) as s:
        accounts.disable_user(s, admin, user.id)
    fresh(session)
    assert session.get(User, user.id).token_version == tv0 + 1
    with pytest.raises(AccountBlocked, match="disabled"):
        login(user.email)
    with pytest.raises(NotAuthenticated, match="incorrect"):
        login(user.email, "Wrong-Password-123")  # wrong password reveals nothing more
    with uow(admin) as s:
        accounts.enable_user(s, admin, user.id)
    assert login(user.email).status == "ok"


def test_disable_user_is_admin_only(session):
    entity = make_entity(session)
    user, owner = make_member(session, entity, "owner")
    victim, _ = make_member(session, entity, "buyer")
    with pytest.raises(PermissionDenied), uow(owner) as s:
        accounts.disable_user(s, owner, victim.id)
    fresh(session)
    assert session.get(User, victim.id).is_active


def test_user_without_membership_and_platform_admin(session):
    lonely = make_user(session)
    with pytest.raises(AccountBlocked, match="not linked to any business"):
        login(lonely.email)


def test_several_memberships_first_by_default_then_switch(session):
    a, b = make_entity(session), make_entity(session, kind="retailer")
    user, _ = make_member(session, a, "sales")
    with uow(None) as s:
        s.add(Membership(user_id=user.id, entity_id=b.id, role="buyer"))
    res = login(user.email)
    assert res.entity_id == a.id and {c.entity_id for c in res.entities} == {a.id, b.id}
    with uow(res.principal) as s:
        switched = accounts.switch_entity(s, res.principal, b.id, raw_refresh=res.refresh_token)
    assert switched.entity_id == b.id and switched.principal.roles == frozenset({"buyer"})
    fresh(session)
    rt = session.exec(select(RefreshToken).where(RefreshToken.user_id == user.id, RefreshToken.used_at.is_(None))).all()
    assert [r.entity_id for r in rt] == [b.id]
    third = make_entity(session)
    with pytest.raises(PermissionDenied), uow(switched.principal) as s:
        accounts.switch_entity(s, switched.principal, third.id)
    # explicit choice at login
    assert login(user.email, entity_id=b.id).entity_id == b.id


def test_platform_admin_logs_in_without_entity_but_must_enrol_mfa(session):
    admin_user = make_user(session, is_platform_admin=True)
    res = login(admin_user.email)
    assert res.status == "mfa_enrolment_required" and res.access_token is None and res.challenge
    assert res.entity_id is None


# --- MFA flows ------------------------------------------------------------------------------


def _enrol_via_challenge(challenge):
    with uow(ANONYMOUS) as s:
        setup = accounts.begin_mfa_enrolment_with_challenge(s, challenge)
    assert setup.qr_data_uri.startswith("data:image/svg+xml;base64,")
    code = pyotp.TOTP(setup.secret).now()
    with uow(ANONYMOUS) as s:
        res = accounts.confirm_mfa_enrolment_with_challenge(s, challenge, code, client_ip="10.0.0.1")
    return setup.secret, code, res


def test_required_mfa_enrolment_then_challenge_then_recovery_codes(session):
    entity = make_entity(session)
    user, owner = make_member(session, entity, "owner")
    member_user, _ = make_member(session, entity, "buyer")
    _, admin_role = make_member(session, entity, "admin")
    with pytest.raises(PermissionDenied), uow(admin_role) as s:  # owner only
        accounts.set_require_mfa(s, admin_role, entity.id, True)
    with uow(owner) as s:
        accounts.set_require_mfa(s, owner, entity.id, True)

    first = login(member_user.email)
    assert first.status == "mfa_enrolment_required" and first.access_token is None
    secret, enrol_code, done = _enrol_via_challenge(first.challenge)
    assert done.status == "ok" and done.access_token and len(done.recovery_codes) == 10
    fresh(session)
    stored = session.get(User, member_user.id)
    assert stored.mfa_enabled and secret not in (stored.mfa_secret_encrypted or "")

    # the enrolment challenge cannot be used twice
    with pytest.raises(NotAuthenticated), uow(ANONYMOUS) as s:
        accounts.confirm_mfa_enrolment_with_challenge(s, first.challenge, enrol_code)

    second = login(member_user.email)
    assert second.status == "mfa_required" and second.access_token is None
    # the code used for enrolment cannot be replayed in the same time step
    with pytest.raises(NotAuthenticated, match="incorrect or has already been used"), uow(ANONYMOUS) as s:
        accounts.complete_mfa(s, second.challenge, enrol_code)
    next_code = pyotp.TOTP(secret).at(time.time() + 30)
    with uow(ANONYMOUS) as s:
        ok = accounts.complete_mfa(s, second.challenge, next_code, client_ip="10.0.0.1")
    assert ok.status == "ok" and ok.access_token

    # recovery code: works once
    third = login(member_user.email)
    rc = done.recovery_codes[0]
    with uow(ANONYMOUS) as s:
        used = accounts.complete_mfa(s, third.challenge, rc.upper())
    assert used.status == "ok" and used.recovery_codes_remaining == 9
    fourth = login(member_user.email)
    with pytest.raises(NotAuthenticated), uow(ANONYMOUS) as s:
        accounts.complete_mfa(s, fourth.challenge, rc)

    # MFA cannot be turned off where it is required
    with pytest.raises(PermissionDenied), uow(ok.principal) as s:
        accounts.disable_mfa(s, ok.principal, password=DEFAULT_PASSWORD)


def test_mfa_attempts_are_rate_limited(session):
    entity = make_entity(session)
    user, owner = make_member(session, entity, "owner")
    res = login(user.email)
    with uow(res.principal) as s:
        setup = accounts.begin_mfa_enrolment(s, res.principal)
    with uow(res.principal) as s:
        codes = accounts.confirm_mfa_enrolment(s, res.principal, pyotp.TOTP(setup.secret).now())
    assert len(codes) == 10
    ch = login(user.email)
    assert ch.status == "mfa_required"
    for _ in range(5):
        with pytest.raises(NotAuthenticated), uow(ANONYMOUS) as s:
            accounts.complete_mfa(s, ch.challenge, "000000" if pyotp.TOTP(setup.secret).now() != "000000" else "111111")
    with pytest.raises(RateLimited), uow(ANONYMOUS) as s:
        accounts.complete_mfa(s, ch.challenge, pyotp.TOTP(setup.secret).at(time.time() + 30))


def test_optional_mfa_enable_regenerate_disable(session):
    entity = make_entity(session)
    user, _ = make_member(session, entity, "sales")
    res = login(user.email)
    p = res.principal
    with uow(p) as s:
        setup = accounts.begin_mfa_enrolment(s, p)
    with pytest.raises(ValidationError), uow(p) as s:
        accounts.confirm_mfa_enrolment(s, p, "000000" if pyotp.TOTP(setup.secret).now() != "000000" else "111111")
    with uow(p) as s:
        codes = accounts.confirm_mfa_enrolment(s, p, pyotp.TOTP(setup.secret).now())
    with pytest.raises(ValidationError), uow(p) as s:
        accounts.regenerate_recovery_codes(s, p, password="Wrong-Password-123")
    with uow(p) as s:
        new_codes = accounts.regenerate_recovery_codes(s, p, password=DEFAULT_PASSWORD)
    assert set(codes).isdisjoint(new_codes)
    ch = login(user.email)
    with pytest.raises(NotAuthenticated), uow(ANONYMOUS) as s:  # old codes are gone
        accounts.complete_mfa(s, ch.challenge, codes[0])
    with uow(p) as s:
        accounts.disable_mfa(s, p, password=DEFAULT_PASSWORD)
    assert login(user.email).status == "ok"


# --- invitations ----------------------------------------------------------------------------


def test_invite_new_user_single_use(session):
    entity = make_entity(session)
    _, owner = make_member(session, entity, "owner")
    email = f"new-{sfx()}@example.test"
    with uow(owner) as s:
        info = accounts.invite_member(s, owner, entity.id, email, "buyer")
    assert info.email == email and info.role == "buyer"
    token = link_token(session, email, "invite")
    ott = session.get(OneTimeToken, info.id)
    assert token not in ott.token_hash and len(ott.token_hash) == 64
    with uow(ANONYMOUS) as s:
        desc = accounts.describe_invite(s, token)
    assert desc.entity_name == entity.name and desc.existing_user is False
    with uow(ANONYMOUS) as s:
        acc = accounts.accept_invite(s, token, "New Buyer", STRONG_PASSWORD)
    assert acc.created_user and acc.entity_id == entity.id and acc.role == "buyer"
    res = login(email, STRONG_PASSWORD)
    assert res.status == "ok" and res.principal.roles == frozenset({"buyer"})
    with pytest.raises(ValidationError, match="invalid, expired or already used"), uow(ANONYMOUS) as s:
        accounts.accept_invite(s, token, "Someone Else", STRONG_PASSWORD)


def test_invite_expires(session):
    entity = make_entity(session)
    _, owner = make_member(session, entity, "owner")
    email = f"late-{sfx()}@example.test"
    with uow(owner) as s:
        info = accounts.invite_member(s, owner, entity.id, email, "viewer")
    token = link_token(session, email, "invite")
    ott = session.get(OneTimeToken, info.id)
    assert timedelta(days=6, hours=23) < ott.expires_at - utcnow() <= timedelta(days=7)
    ott.expires_at = utcnow() - timedelta(seconds=1)
    session.add(ott)
    session.commit()
    with pytest.raises(ValidationError, match="expired"), uow(ANONYMOUS) as s:
        accounts.accept_invite(s, token, "Late", STRONG_PASSWORD)
    fresh(session)
    assert session.exec(select(User).where(User.email == email)).first() is None


def test_reinvite_replaces_the_previous_link(session):
    entity = make_entity(session)
    _, owner = make_member(session, entity, "owner")
    email = f"twice-{sfx()}@example.test"
    with uow(owner) as s:
        accounts.invite_member(s, owner, entity.id, email, "viewer")
    first = link_token(session, email, "invite")
    with uow(owner) as s:
        accounts.invite_member(s, owner, entity.id, email, "sales")
    second = link_token(session, email, "invite")
    with pytest.raises(ValidationError), uow(ANONYMOUS) as s:
        accounts.accept_invite(s, first, "X Y", STRONG_PASSWORD)
    with uow(ANONYMOUS) as s:
        assert accounts.accept_invite(s, second, "X Y", STRONG_PASSWORD).role == "sales"


def test_invite_existing_user_needs_their_password(session):
    a, b = make_entity(session), make_entity(session)
    _, owner_b = make_member(session, b, "owner")
    user, _ = make_member(session, a, "sales")
    with uow(owner_b) as s:
        accounts.invite_member(s, owner_b, b.id, user.email, "buyer")
    token = link_token(session, user.email, "invite")
    with uow(ANONYMOUS) as s:
        assert accounts.describe_invite(s, token).existing_user is True
    with pytest.raises(ValidationError, match="incorrect"), uow(ANONYMOUS) as s:
        accounts.accept_invite(s, token, None, "Wrong-Password-123")
    with uow(ANONYMOUS) as s:
        acc = accounts.accept_invite(s, token, None, DEFAULT_PASSWORD)
    assert not acc.created_user and acc.user_id == user.id
    assert {c.entity_id for c in login(user.email).entities} == {a.id, b.id}
    with pytest.raises(Conflict), uow(owner_b) as s:
        accounts.invite_member(s, owner_b, b.id, user.email, "viewer")


def test_invite_permissions_and_cross_entity(session):
    a, b = make_entity(session), make_entity(session)
    _, owner_a = make_member(session, a, "owner")
    _, admin_a = make_member(session, a, "admin")
    _, buyer_a = make_member(session, a, "buyer")
    email = f"x-{sfx()}@example.test"
    with pytest.raises(PermissionDenied), uow(buyer_a) as s:
        accounts.invite_member(s, buyer_a, a.id, email, "viewer")
    with pytest.raises(PermissionDenied, match="Only an owner"), uow(admin_a) as s:
        accounts.invite_member(s, admin_a, a.id, email, "owner")
    with pytest.raises(PermissionDenied), uow(owner_a) as s:
        accounts.invite_member(s, owner_a, b.id, email, "owner")
    with pytest.raises(ValidationError), uow(owner_a) as s:
        accounts.invite_member(s, owner_a, a.id, email, "superuser")
    fresh(session)
    assert session.exec(select(OneTimeToken).where(OneTimeToken.email == email)).first() is None
    assert outbox_for(session, email) == []
    with uow(admin_a) as s:
        accounts.invite_member(s, admin_a, a.id, email, "admin")
    with uow(owner_a) as s:
        assert [i.email for i in accounts.list_invites(s, owner_a, a.id)] == [email]
    with pytest.raises(PermissionDenied), uow(buyer_a) as s:
        accounts.list_invites(s, buyer_a, a.id)


# --- password reset -------------------------------------------------------------------------


def test_password_reset_flow(session):
    entity = make_entity(session)
    user, _ = make_member(session, entity, "buyer")
    tv0 = user.token_version
    before = login(user.email)
    with uow(ANONYMOUS) as s:
        accounts.request_password_reset(s, user.email.upper(), client_ip="10.3.0.1")
    token = link_token(session, user.email, "reset-password")
    with pytest.raises(ValidationError, match="at least 12"), uow(ANONYMOUS) as s:
        accounts.reset_password(s, token, "short")
    with uow(ANONYMOUS) as s:
        accounts.reset_password(s, token, STRONG_PASSWORD)
    with pytest.raises(NotAuthenticated, match="incorrect"):
        login(user.email, DEFAULT_PASSWORD)
    assert login(user.email, STRONG_PASSWORD).status == "ok"
    with pytest.raises(ValidationError, match="invalid, expired or already used"), uow(ANONYMOUS) as s:
        accounts.reset_password(s, token, "Another-Password-99")
    # every earlier session was signed out
    with pytest.raises(NotAuthenticated), uow(ANONYMOUS) as s:
        accounts.refresh(s, before.refresh_token)
    fresh(session)
    assert session.get(User, user.id).token_version == tv0 + 1


def test_password_reset_expired_and_unknown_address(session):
    user = make_user(session)
    with uow(ANONYMOUS) as s:
        accounts.request_password_reset(s, user.email)
    token = link_token(session, user.email, "reset-password")
    ott = session.exec(select(OneTimeToken).where(OneTimeToken.email == user.email)).one()
    assert timedelta(minutes=59) < ott.expires_at - utcnow() <= timedelta(hours=1)
    ott.expires_at = utcnow() - timedelta(seconds=1)
    session.add(ott)
    session.commit()
    with pytest.raises(ValidationError), uow(ANONYMOUS) as s:
        accounts.reset_password(s, token, STRONG_PASSWORD)
    ghost = f"ghost-{sfx()}@example.test"
    with uow(ANONYMOUS) as s:
        assert accounts.request_password_reset(s, ghost) is None
    assert outbox_for(session, ghost) == []
    with pytest.raises(ValidationError), uow(ANONYMOUS) as s:
        accounts.reset_password(s, "made-up-token", STRONG_PASSWORD)


def test_password_reset_requests_are_rate_limited(session):
    user = make_user(session)
    for _ in range(3):
        with uow(ANONYMOUS) as s:
            accounts.request_password_reset(s, user.email)
    with pytest.raises(RateLimited), uow(ANONYMOUS) as s:
        accounts.request_password_reset(s, user.email)
    assert len(outbox_for(session, user.email)) == 3


def test_change_password(session):
    entity = make_entity(session)
    user, _ = make_member(session, entity, "buyer")
    res = login(user.email)
    with pytest.raises(ValidationError, match="current password is incorrect"), uow(res.principal) as s:
        accounts.change_password(s, res.principal, "Wrong-Password-123", STRONG_PASSWORD)
    with pytest.raises(ValidationError, match="at least 12"), uow(res.principal) as s:
        accounts.change_password(s, res.principal, DEFAULT_PASSWORD, "short")
    with uow(res.principal) as s:
        new = accounts.change_password(s, res.principal, DEFAULT_PASSWORD, STRONG_PASSWORD)
    assert new.status == "ok" and new.principal.token_version == res.principal.token_version + 1
    with pytest.raises(NotAuthenticated), uow(ANONYMOUS) as s:
        accounts.refresh(s, res.refresh_token)
    assert accounts.resolve_principal(None, new.access_token).user_id == user.id
    with pytest.raises(NotAuthenticated):
        accounts.resolve_principal(None, res.access_token)
    assert login(user.email, STRONG_PASSWORD).status == "ok"


# --- team -----------------------------------------------------------------------------------


def _membership(session, user_id, entity_id):
    fresh(session)
    return session.exec(
        select(Membership).where(Membership.user_id == user_id, Membership.entity_id == entity_id)
    ).first()


def test_team_roles_and_last_owner_protection(session):
    entity = make_entity(session)
    owner_user, owner = make_member(session, entity, "owner")
    admin_user, admin = make_member(session, entity, "admin")
    buyer_user, _ = make_member(session, entity, "buyer")
    owner_m = _membership(session, owner_user.id, entity.id)
    buyer_m = _membership(session, buyer_user.id, entity.id)
    admin_m = _membership(session, admin_user.id, entity.id)

    with uow(admin) as s:
        assert accounts.change_member_role(s, admin, buyer_m.id, "sales").role == "sales"
    with pytest.raises(PermissionDenied, match="Only an owner"), uow(admin) as s:
        accounts.change_member_role(s, admin, buyer_m.id, "owner")
    with pytest.raises(PermissionDenied, match="Only an owner"), uow(admin) as s:
        accounts.change_member_role(s, admin, owner_m.id, "viewer")
    with pytest.raises(PermissionDenied), uow(admin) as s:
        accounts.remove_member(s, admin, owner_m.id)
    with pytest.raises(Conflict, match="at least one owner"), uow(owner) as s:
        accounts.change_member_role(s, owner, owner_m.id, "admin")
    with pytest.raises(Conflict, match="at least one owner"), uow(owner) as s:
        accounts.remove_member(s, owner, owner_m.id)
    assert _membership(session, owner_user.id, entity.id).role == "owner"

    with uow(owner) as s:
        accounts.change_member_role(s, owner, admin_m.id, "owner")
    with uow(owner) as s:  # now there are two owners: one may step down
        accounts.change_member_role(s, owner, owner_m.id, "admin")
    assert _membership(session, owner_user.id, entity.id).role == "admin"
    with uow(owner) as s:
        members = accounts.list_members(s, owner, entity.id)
    assert {m.user_id: m.role for m in members} == {
        owner_user.id: "admin",
        admin_user.id: "owner",
        buyer_user.id: "sales",
    }
    with pytest.raises(ValidationError), uow(owner) as s:
        accounts.change_member_role(s, owner, buyer_m.id, "god")


def test_remove_member_ends_their_sessions(session):
    entity = make_entity(session)
    _, owner = make_member(session, entity, "owner")
    buyer_user, _ = make_member(session, entity, "buyer")
    res = login(buyer_user.email)
    m = _membership(session, buyer_user.id, entity.id)
    with uow(owner) as s:
        accounts.remove_member(s, owner, m.id)
    assert _membership(session, buyer_user.id, entity.id) is None
    with pytest.raises(NotAuthenticated):
        accounts.resolve_principal(None, res.access_token)
    with pytest.raises(NotAuthenticated), uow(ANONYMOUS) as s:
        accounts.refresh(s, res.refresh_token)


def test_cross_entity_team_changes_are_refused_and_nothing_changes(session):
    a, b = make_entity(session), make_entity(session)
    _, owner_a = make_member(session, a, "owner")
    victim, _ = make_member(session, b, "buyer")
    b_owner, _ = make_member(session, b, "owner")
    vm = _membership(session, victim.id, b.id)
    for call in [
        lambda s: accounts.change_member_role(s, owner_a, vm.id, "owner"),
        lambda s: accounts.remove_member(s, owner_a, vm.id),
        lambda s: accounts.set_require_mfa(s, owner_a, b.id, True),
        lambda s: accounts.list_members(s, owner_a, b.id),
        lambda s: accounts.invite_member(s, owner_a, b.id, f"z-{sfx()}@example.test", "owner"),
    ]:
        with pytest.raises(PermissionDenied), uow(owner_a) as s:
            call(s)
    assert _membership(session, victim.id, b.id).role == "buyer"
    assert session.get(Entity, b.id).require_mfa is False
    assert _membership(session, b_owner.id, b.id).role == "owner"


def test_pending_entity_cannot_invite(session):
    entity = make_entity(session, status="pending")
    _, owner = make_member(session, entity, "owner")
    with pytest.raises(Conflict, match="approved"), uow(owner) as s:
        accounts.invite_member(s, owner, entity.id, f"p-{sfx()}@example.test", "viewer")


def test_admin_reset_mfa(session):
    admin = admin_principal(session)
    entity = make_entity(session)
    user, _ = make_member(session, entity, "buyer")
    p = login(user.email).principal
    with uow(p) as s:
        setup = accounts.begin_mfa_enrolment(s, p)
    with uow(p) as s:
        accounts.confirm_mfa_enrolment(s, p, pyotp.TOTP(setup.secret).now())
    assert login(user.email).status == "mfa_required"
    with uow(admin) as s:
        accounts.admin_reset_mfa(s, admin, user.id)
    assert login(user.email).status == "ok"
