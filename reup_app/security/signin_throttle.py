"""Sign-in abuse without denial of service: progressive delays, then a challenge the owner can pass.

Five wrong passwords used to lock an account for 15 minutes, which let anyone lock the real owner
out. Now failures are counted per account (the e-mail, hashed) and per client address, in the
shared rate-limit store (Redis when configured, else memory), for an hour after the last failure:

- per account: the first `ACCOUNT_FREE` failures cost nothing; each later one makes the next attempt
  wait 2, 4, 8 ... seconds (at most `MAX_DELAY`); after `CHALLENGE_AFTER` failures the password is
  no longer checked for that account unless the attempt carries the unlock code we e-mail to the
  owner (`sign_in.login`), so guessing stops while the owner signs in at once with the link;
- per address: the first `ADDRESS_FREE` failures cost nothing, then the same doubling delay; an
  address is never locked out (a shared office NAT keeps working, slowly for the guesser).

A correct password clears the account's count. The client address is the one Reflex and the REST
API derive with `REUP_TRUSTED_PROXY_HOPS` (docs/SECURITY.md, "Behind a proxy").
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from reup_app.errors import RateLimited
from reup_app.security import tickets
from reup_app.security.ratelimit import get_backend

ACCOUNT_FREE = 3
ADDRESS_FREE = 10
CHALLENGE_AFTER = 10
MAX_DELAY = 60.0
WINDOW_SECONDS = 60 * 60
UNLOCK_PURPOSE = "signin-unlock"
UNLOCK_TTL_SECONDS = 30 * 60
# Wall-clock seconds (shared by every worker through the store); tests replace it.
clock: Callable[[], float] = time.time


def delay_for(failures: int, free: int) -> float:
    """Seconds the next attempt must wait after `failures` failures (0 while free)."""
    if failures <= free:
        return 0.0
    return min(MAX_DELAY, 2.0 ** (failures - free))


def _state(key: str) -> tuple[int, float]:
    count, last = get_backend().mget([f"{key}:n", f"{key}:t"])
    return int(count or 0), float(last or 0.0)


def wait_seconds(key: str, free: int) -> float:
    count, last = _state(key)
    return max(0.0, last + delay_for(count, free) - clock())


def check(acct_key: str, ip_key: str | None) -> None:
    """Raise RateLimited (seconds, not minutes) while an account's or address's delay runs."""
    waits = [wait_seconds(acct_key, ACCOUNT_FREE)]
    if ip_key:
        waits.append(wait_seconds(ip_key, ADDRESS_FREE))
    wait = max(waits)
    if wait > 0:
        seconds = math.ceil(wait)
        raise RateLimited(
            f"Too many failed sign-in attempts. Please wait {seconds} second{'s' if seconds != 1 else ''} and try again.",
            retry_after=wait,
        )


def needs_challenge(acct_key: str) -> bool:
    return _state(acct_key)[0] >= CHALLENGE_AFTER


def failed(acct_key: str, ip_key: str | None) -> int:
    """Count a failure for the account and the address; the account's failures so far."""
    backend = get_backend()
    now = str(clock())
    n = backend.incr(f"{acct_key}:n", WINDOW_SECONDS)
    backend.set(f"{acct_key}:t", now, WINDOW_SECONDS)
    if ip_key:
        backend.incr(f"{ip_key}:n", WINDOW_SECONDS)
        backend.set(f"{ip_key}:t", now, WINDOW_SECONDS)
    return n


def succeeded(acct_key: str) -> None:
    get_backend().delete(f"{acct_key}:n", f"{acct_key}:t")


def issue_unlock(acct_key: str) -> str:
    """A one-time code (30 minutes) that lets the owner of `acct_key` past the challenge."""
    return tickets.issue(UNLOCK_PURPOSE, {"acct": acct_key}, UNLOCK_TTL_SECONDS)


def unlock_matches(acct_key: str, code: object) -> bool:
    payload = tickets.peek(UNLOCK_PURPOSE, code)
    return payload is not None and payload.get("acct") == acct_key


def use_unlock(code: object) -> None:
    tickets.take(UNLOCK_PURPOSE, code)


def first_notice(acct_key: str) -> bool:
    """True once per window: whether to e-mail the unlock link now."""
    return get_backend().set_nx(f"{acct_key}:mailed", "1", 15 * 60)
