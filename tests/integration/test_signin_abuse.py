"""Sign-in abuse without denial of service (issue 13, item 3).

Guessing slows down (progressive delays per account and per address) and then stops (a challenge),
but the real owner always has a way in: wait a few seconds, or open the e-mailed unlock link. The
counters live in the shared store, so they hold across workers (Redis) as well as in memory.
"""

from __future__ import annotations

import re
import time
import uuid

import pytest
from argon2 import PasswordHasher
from sqlmodel import select

from reup_app.errors import ChallengeRequired, NotAuthenticated
from reup_app.models import User
from reup_app.security import passwords, signin_throttle, tickets
from reup_app.security.breached import is_breached
from reup_app.security.principal import ANONYMOUS
from reup_app.services.identity import accounts
from tests.identity_support import DEFAULT_PASSWORD, fresh, make_entity, make_member, outbox_for, uow
from tests.ratelimit_support import rate_backend

pytestmark = pytest.mark.mysql


class Clock:
    def __init__(self) -> None:
        self.t = time.time()

    def __call__(self) -> float:
        return self.t


@pytest.fixture(params=["memory", "redis"])
def backend(request, redis_url):
    with rate_backend(request.param, redis_url, cache_ttl=0) as b:
        yield b


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(signin_throttle, "clock", c)
    return c


def login(email, password=DEFAULT_PASSWORD, ip="10.9.0.1", **kw):
    with uow(ANONYMOUS) as s:
        return accounts.login(s, email=email, password=password, client_ip=ip, user_agent="pytest", **kw)


def _fail_until_challenged(email: str, clock: Clock) -> int:
    for n in range(1, 30):
        clock.t += 120  # an attacker who waits out every delay, from many addresses
        try:
            login(email, "Wrong-Password-123", ip=f"10.9.1.{n}")
        except ChallengeRequired:
            return n
        except NotAuthenticated:
            continue
    raise AssertionError("never challenged")


def test_delays_grow_then_a_challenge_the_owner_passes_with_the_emailed_link(session, backend, clock):
    entity = make_entity(session)
    user, _ = make_member(session, entity, "owner")
    assert [signin_throttle.delay_for(n, 3) for n in (3, 4, 5, 6, 12)] == [0, 2, 4, 8, 60]
    attempts = _fail_until_challenged(user.email, clock)
    assert attempts == signin_throttle.CHALLENGE_AFTER + 1
    clock.t += 3600 - 1  # still inside the window: even the right password is not checked now
    with pytest.raises(ChallengeRequired):
        login(user.email, ip="10.9.2.1")
    mails = outbox_for(session, user.email)
    assert len(mails) == 1, "one e-mail per 15 minutes, however many attempts"
    code = re.search(r"/login\?unlock=([A-Za-z0-9_\-]+)", mails[0].body).group(1)
    with pytest.raises(ChallengeRequired):  # the code of one account does not open another
        other, _ = make_member(session, entity, "buyer")
        for _ in range(signin_throttle.CHALLENGE_AFTER):
            clock.t += 120
            with pytest.raises(NotAuthenticated):
                login(other.email, "Wrong-Password-123", ip="10.9.3.1")
        clock.t += 120
        login(other.email, unlock=code)
    with pytest.raises(NotAuthenticated):  # the link does not replace the password
        login(user.email, "Wrong-Password-123", ip="10.9.2.2", unlock=code)
    clock.t += 120
    assert login(user.email, ip="10.9.2.3", unlock=code).status == "ok"
    assert login(user.email, ip="10.9.2.4").status == "ok"  # the count was cleared
    assert tickets.peek(signin_throttle.UNLOCK_PURPOSE, code) is None  # used up


def test_unknown_accounts_are_challenged_alike_and_no_mail_goes_out(session, backend, clock):
    email = f"nobody-{uuid.uuid4().hex[:8]}@example.test"
    assert _fail_until_challenged(email, clock) == signin_throttle.CHALLENGE_AFTER + 1
    assert outbox_for(session, email) == []


def test_breached_passwords_are_refused_with_a_clear_message():
    assert is_breached("password1234") and is_breached("PASSWORD1234") and is_breached("qwertyuiopasdfgh")
    assert not is_breached(DEFAULT_PASSWORD) and not is_breached("Correct-Horse-Battery-8812")
    with pytest.raises(passwords.PasswordPolicyError, match="leaked in data breaches"):
        passwords.check_policy("iloveyou12345678")
    passwords.check_policy("Correct-Horse-Battery-8812")


def test_a_passlib_era_hash_still_verifies_and_is_replaced_at_sign_in(session, backend):
    """passlib wrote argon2id with m=100 MiB, t=2, p=8; argon2-cffi verifies it and re-hashes."""
    old = PasswordHasher(time_cost=2, memory_cost=102400, parallelism=8).hash(DEFAULT_PASSWORD)
    entity = make_entity(session)
    user, _ = make_member(session, entity, "owner")
    user.password_hash = old
    session.add(user)
    session.commit()
    assert passwords.verify_password(DEFAULT_PASSWORD, old) and passwords.needs_rehash(old)
    assert login(user.email).status == "ok"
    stored = fresh(session).exec(select(User.password_hash).where(User.id == user.id)).one()
    assert stored != old and not passwords.needs_rehash(stored)
    assert passwords.verify_password(DEFAULT_PASSWORD, stored)
