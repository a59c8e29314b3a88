"""`resolve_principal` benchmark: the per-event cost of authenticating a handler call.

Run (MariaDB/MySQL at 127.0.0.1:3306 user root, Redis at 127.0.0.1:6379, unless the
REUP_TEST_MYSQL_URL / REUP_TEST_REDIS_URL environment variables say otherwise):

    .venv/bin/python -m bench.principal_bench                    # 10,000 calls per mode
    .venv/bin/python -m bench.principal_bench --iterations 50000

It (re)creates the database `reup_bench_principal`, migrates it, creates one approved entity with
one member, signs in through `sign_in.login` to get a real access token, then times
`resolve_principal(None, token)` call by call in these modes:

- redis cache   : the production set-up (REUP_REDIS_URL set), auth state cached in Redis
- as a tab does : what `AuthState` does per event: `resolve_principal_cached` (no I/O when this
                  process re-checked the same user and token within 1 s), else the Redis path
- memory cache  : single-process set-up without Redis
- no cache (DB) : TTL 0, one MySQL query per call (what the cache saves)
- jwt verify    : `decode_access_token` of a token seen for the first time (signature check); a
                  token already verified is remembered, so the other modes pay this once

and prints median / p95 / p99 / mean in milliseconds. Target: median <= 1 ms per event.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid

from reup_app.db_admin import fresh_mysql_database

SERVER_URL = os.environ.get("REUP_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306")
REDIS_URL = os.environ.get("REUP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TARGET_MEDIAN_MS = 1.0


def _setup(database: str) -> str:
    url = fresh_mysql_database(database)
    os.environ["REUP_DATABASE_URL"] = url
    os.environ.pop("REUP_REDIS_URL", None)
    from reup_app import db, migrations, settings

    settings.reset_settings_cache()
    db.reset_engine()
    migrations.upgrade(url)

    from reup_app.db import unit_of_work
    from reup_app.models import Entity, Membership, User
    from reup_app.security.passwords import hash_password
    from reup_app.security.principal import ANONYMOUS
    from reup_app.services.identity import sign_in

    password = "Bench-Password-123"
    sfx = uuid.uuid4().hex[:8]
    with unit_of_work(None) as s:
        entity = Entity(name=f"Bench Wholesale {sfx}", kind="wholesaler", status="approved", state="CA")
        user = User(email=f"bench-{sfx}@example.test", full_name="Bench User", password_hash=hash_password(password))
        s.add(entity)
        s.add(user)
        s.flush()
        s.add(Membership(user_id=user.id, entity_id=entity.id, role="sales"))
    with unit_of_work(ANONYMOUS) as s:
        res = sign_in.login(s, email=user.email, password=password, client_ip="127.0.0.1", user_agent="bench")
    assert res.status == "ok"
    return res.access_token


def _time(fn, iterations: int, warmup: int = 200) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    perf = time.perf_counter_ns
    for _ in range(iterations):
        t0 = perf()
        fn()
        out.append((perf() - t0) / 1e6)
    return out


def _stats(samples: list[float]) -> dict[str, float]:
    s = sorted(samples)
    pick = lambda q: s[min(len(s) - 1, int(q * len(s)))]  # noqa: E731
    return {"median": statistics.median(s), "p95": pick(0.95), "p99": pick(0.99), "mean": statistics.fmean(s)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--iterations", type=int, default=10_000)
    ap.add_argument("--database", default="reup_bench_principal")
    ap.add_argument("--redis-url", default=REDIS_URL)
    ap.add_argument("--ttl", type=float, default=15.0, help="principal cache TTL in seconds (max 30)")
    args = ap.parse_args(argv)

    token = _setup(args.database)

    from reup_app.security import tokens
    from reup_app.security.ratelimit import MemoryBackend, RedisBackend, set_backend
    from reup_app.services.identity.auth import resolve_principal, resolve_principal_cached
    from reup_app.services.identity.principal_cache import set_cache_ttl

    def call():
        resolve_principal(None, token, client_ip="127.0.0.1")

    def as_a_tab():
        if resolve_principal_cached(token, client_ip="127.0.0.1") is None:
            resolve_principal(None, token, client_ip="127.0.0.1")

    def first_sight():
        tokens._verified.clear()
        tokens.decode_access_token(token)

    redis_backend = RedisBackend(args.redis_url, prefix=f"bench-{uuid.uuid4().hex[:8]}:")
    modes = []
    try:
        set_backend(redis_backend)
        set_cache_ttl(args.ttl)
        modes.append(("redis cache", _time(call, args.iterations)))
        modes.append(("as a tab does (held 1 s)", _time(as_a_tab, args.iterations)))
        set_backend(MemoryBackend())
        modes.append(("memory cache", _time(call, args.iterations)))
        set_cache_ttl(0)
        modes.append(("no cache (MySQL query)", _time(call, args.iterations)))
        modes.append(("jwt verify (first sight)", _time(first_sight, args.iterations)))
    finally:
        set_backend(None)
        set_cache_ttl(None)
        redis_backend.close()

    print(
        f"resolve_principal, {args.iterations:,} calls per mode, cache TTL {args.ttl:g}s "
        f"(python {sys.version.split()[0]})"
    )
    print(f"{'mode':<26}{'median ms':>11}{'p95 ms':>10}{'p99 ms':>10}{'mean ms':>10}")
    results = {}
    for name, samples in modes:
        st = _stats(samples)
        results[name] = st
        print(f"{name:<26}{st['median']:>11.3f}{st['p95']:>10.3f}{st['p99']:>10.3f}{st['mean']:>10.3f}")
    ok = results["redis cache"]["median"] <= TARGET_MEDIAN_MS
    print(f"target: median <= {TARGET_MEDIAN_MS} ms with the Redis cache -> {'MET' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
