"""A short-lived cache of what `resolve_principal` must re-check on every call.

Per user: active flag, platform-admin flag, token_version and memberships (entity -> role,
entity status). Kept in the rate-limit backend (Redis when configured, so every worker shares it
and an invalidation reaches all of them; otherwise process memory) for at most
`cache_ttl()` seconds (default 15, setting REUP_PRINCIPAL_CACHE_SECONDS, capped at 30).

Every change that can end access (logout everywhere, password change/reset, disable, membership
removal or role change, entity suspension) invalidates the affected users at once and again after
the transaction commits; even without an invalidation a change is seen within the TTL.

Single access tokens can also be revoked (logout): their ``jti`` goes on a deny list until the
token would have expired anyway. Both are read with one MGET.

Above the shared cache each process keeps what it read for at most LOCAL_SECONDS (1 s), so a burst
of events (a push reaching a hundred tabs, a page firing several handlers) re-checks every tab
without a Redis round trip or a thread hop (`auth_state_local`). An invalidation or revocation
clears this layer in its own process at once; other processes see it within LOCAL_SECONDS.

API keys (`services/public_api/keys.py`) use the same two layers, by the SHA-256 of the secret
(`ak:<hash>`): the resolved key (key, user, business, role, rate limit, expiry) is shared for the
TTL and held by each process for the TTL too, but every use of a held key must find the shared
entry still there, checked in the same Redis round trip as the key's rate limit
(`ratelimit.enforce_if_present`). Revoking a key, and any status change of its business
(`invalidate_entity_members`), deletes the shared entry now and after commit, so every process
refuses the key from its next request on. Only usable keys are cached; expiry is checked on every use.
As for users, a database read that raced the revoking commit can share the old state again, for at
most the TTL.
"""

from __future__ import annotations

import json
import logging
import threading
import time

from sqlalchemy import select
from sqlmodel import Session, col

from reup_app.models import ApiKey, Entity, Membership, User
from reup_app.models.session_hooks import on_commit, on_rollback
from reup_app.security.ratelimit import get_backend
from reup_app.settings import get_settings

log = logging.getLogger(__name__)

MAX_TTL_SECONDS = 30.0
LOCAL_SECONDS = 1.0
_INVALIDATE_KEY = "reup_principal_cache_invalidate"
_ttl_override: float | None = None


def cache_ttl() -> float:
    """Seconds a cached auth state may be used; 0 disables the cache."""
    if _ttl_override is not None:
        return _ttl_override
    return max(0.0, min(get_settings().principal_cache_seconds, MAX_TTL_SECONDS))


def set_cache_ttl(seconds: float | None) -> None:
    """Override the TTL (tests, benchmarks); None returns to the environment's value."""
    global _ttl_override
    _ttl_override = None if seconds is None else max(0.0, min(float(seconds), MAX_TTL_SECONDS))
    with _local_lock:
        _local.clear()


# key -> (monotonic expiry, value): the user's auth state, or whether a jti is revoked
_local: dict[str, tuple[float, object]] = {}
_local_lock = threading.Lock()


def _local_get(key: str) -> tuple[bool, object]:
    entry = _local.get(key)
    if entry is None or entry[0] < time.monotonic():
        return False, None
    return True, entry[1]


def _local_put(items: dict[str, object], hold: float | None = None) -> None:
    ttl = min(LOCAL_SECONDS if hold is None else hold, cache_ttl())
    if ttl <= 0:
        return
    expires = time.monotonic() + ttl
    with _local_lock:
        if len(_local) > 50_000:  # bounded: drop what has expired
            now = time.monotonic()
            for k in [k for k, (exp, _v) in _local.items() if exp < now]:
                _local.pop(k, None)
        for key, value in items.items():
            _local[key] = (expires, value)


def _local_forget(keys) -> None:
    with _local_lock:
        for key in keys:
            _local.pop(key, None)


def auth_state_local(user_id: int, *, jti: str | None = None) -> tuple[dict | None, bool] | None:
    """`auth_state` from this process's last second of reads, without any I/O; None if not held."""
    if cache_ttl() <= 0:
        return None
    hit, state = _local_get(_user_key(user_id))
    if not hit or not (state is None or isinstance(state, dict)):
        return None
    revoked: object = False
    if jti:
        hit, revoked = _local_get(_jti_key(jti))
        if not hit:
            return None
    return state, bool(revoked)


def _user_key(user_id: int) -> str:
    return f"pc:{int(user_id)}"


def _jti_key(jti: str) -> str:
    return f"jti_revoked:{jti}"


_STATE_QUERY = (
    select(
        col(User.is_active),
        col(User.is_platform_admin),
        col(User.token_version),
        col(Membership.entity_id),
        col(Membership.role),
        col(Entity.status),
    )
    .select_from(User)
    .outerjoin(Membership, col(Membership.user_id) == col(User.id))
    .outerjoin(Entity, col(Entity.id) == col(Membership.entity_id))
)


def load_auth_state(connection, user_id: int) -> dict | None:
    """Read the user's auth state from the database (one query)."""
    rows = connection.execute(_STATE_QUERY.where(col(User.id) == user_id)).all()
    if not rows:
        return None
    first = rows[0]
    members = {str(r[3]): [r[4], r[5]] for r in rows if r[3] is not None}
    return {"a": bool(first[0]), "adm": bool(first[1]), "tv": int(first[2]), "m": members}


def _load(session: Session | None, user_id: int) -> dict | None:
    if session is not None:
        return load_auth_state(session.connection(), user_id)
    from reup_app.db import get_engine

    with get_engine().connect() as conn:
        return load_auth_state(conn, user_id)


def auth_state(user_id: int, *, jti: str | None = None, session: Session | None = None) -> tuple[dict | None, bool]:
    """(auth state or None if the user does not exist, whether `jti` is revoked)."""
    ttl = cache_ttl()
    backend = get_backend()
    keys = [_user_key(user_id)] + ([_jti_key(jti)] if jti else [])
    cached: list[str | None] = [None] * len(keys)
    try:
        cached = backend.mget(keys) if (ttl > 0 or jti) else cached
    except Exception as exc:  # cache trouble must not lock everyone out: fall back to the DB
        log.warning("principal cache read failed: %s", exc)
    revoked = bool(jti and cached[-1] is not None)
    if ttl > 0 and cached[0] is not None:
        state = json.loads(cached[0])
        state = None if state.get("missing") else state
    else:
        state = _load(session, user_id)
        if ttl > 0:
            try:
                backend.set(keys[0], json.dumps(state if state is not None else {"missing": 1}), ttl)
            except Exception as exc:
                log.warning("principal cache write failed: %s", exc)
    if ttl > 0:
        _local_put({keys[0]: state, **({keys[1]: revoked} if jti else {})})
    return state, revoked


def _delete(keys) -> None:
    keys = list(keys)
    _local_forget(keys)
    if keys:
        try:
            get_backend().delete(*keys)
        except Exception as exc:
            log.warning("principal cache invalidation failed: %s", exc)


def _invalidate(session: Session | None, keys: set[str]) -> None:
    """Forget cache entries now and again once `session` commits."""
    _delete(keys)
    if session is not None:
        session.info.setdefault(_INVALIDATE_KEY, set()).update(keys)


def invalidate_users(session: Session | None, *user_ids: int) -> None:
    """Forget cached auth state now and again once `session` commits."""
    _invalidate(session, {_user_key(int(u)) for u in user_ids if u is not None})


def invalidate_entity_members(session: Session, entity_id: int) -> None:
    """Forget the auth state of every member of the business, and its API keys."""
    ids = session.execute(select(col(Membership.user_id)).where(col(Membership.entity_id) == entity_id)).scalars().all()
    invalidate_users(session, *ids)
    hashes = session.execute(select(col(ApiKey.key_hash)).where(col(ApiKey.entity_id) == entity_id)).scalars().all()
    invalidate_api_keys(session, *hashes)


# -- API keys, by the SHA-256 of the secret (see the module docstring)


def api_key_entry(key_hash: str) -> str:
    """The cache entry of a key: its marker for `ratelimit.enforce_if_present` too."""
    return f"ak:{key_hash}"


def api_key_held(key_hash: str) -> dict | None:
    """The resolved key this process holds (no I/O). Use it only together with a check that the
    shared entry still exists (`ratelimit.enforce_if_present(api_key_entry(...), ...)`)."""
    if cache_ttl() <= 0:
        return None
    hit, state = _local_get(api_key_entry(key_hash))
    return state if hit and isinstance(state, dict) else None


def api_key_shared(key_hash: str) -> dict | None:
    """The resolved key from the shared cache (one GET), held locally when found."""
    if cache_ttl() <= 0:
        return None
    try:
        raw = get_backend().get(api_key_entry(key_hash))
    except Exception as exc:
        log.warning("principal cache read failed: %s", exc)
        return None
    if raw is None:
        return None
    state = json.loads(raw)
    _local_put({api_key_entry(key_hash): state}, hold=MAX_TTL_SECONDS)
    return state


def remember_api_key(key_hash: str, state: dict) -> None:
    """Share a usable key's resolved state for the TTL and hold it in this process."""
    ttl = cache_ttl()
    if ttl <= 0:
        return
    try:
        get_backend().set(api_key_entry(key_hash), json.dumps(state), ttl)
    except Exception as exc:
        log.warning("principal cache write failed: %s", exc)
        return
    _local_put({api_key_entry(key_hash): state}, hold=MAX_TTL_SECONDS)


def forget_api_key_here(key_hash: str) -> None:
    """Drop this process's copy (its shared entry is gone)."""
    _local_forget([api_key_entry(key_hash)])


def invalidate_api_keys(session: Session | None, *key_hashes: str) -> None:
    """Forget keys (revoked, business changed) in every process now and again once `session` commits."""
    _invalidate(session, {api_key_entry(h) for h in key_hashes if h})


def revoke_access_token(jti: str, expires_at: int) -> None:
    """Deny one access token until its expiry (single-session logout)."""
    remaining = expires_at - time.time()
    _local_forget([_jti_key(jti)])
    if remaining > 0:
        get_backend().set(_jti_key(jti), "1", remaining + 10)


@on_commit
def _after_commit(session) -> None:
    keys = session.info.pop(_INVALIDATE_KEY, None)
    if keys:
        _delete(keys)


@on_rollback
def _after_rollback(session) -> None:
    session.info.pop(_INVALIDATE_KEY, None)
