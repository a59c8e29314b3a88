"""Fencing tokens are compared per lease: the embedded worker's clock tokens (or another deployment's
counter) in the same database never fence out a Redis-elected leader."""

from __future__ import annotations

import uuid

import pytest
import redis

from reup_app.jobs.fencing import StaleLeader, check_fence
from reup_app.jobs.lease import LocalLease, RedisLease
from tests.integration.orderkit import fresh

pytestmark = [pytest.mark.mysql, pytest.mark.redis]


def test_a_local_lease_in_the_same_database_does_not_fence_out_a_redis_leader(engine, redis_url):
    local = LocalLease()
    local_token = local.try_acquire()
    assert local_token is not None
    with fresh(engine) as s:
        check_fence(s, local.fence_name, local_token)  # huge: microseconds since the epoch
        s.commit()

    client = redis.Redis.from_url(redis_url)
    lease = RedisLease(client, prefix=f"reup:test:{uuid.uuid4().hex[:8]}:lease:")
    try:
        token = lease.try_acquire()
        assert token is not None and token < local_token
        assert lease.fence_name != local.fence_name
        with fresh(engine) as s:
            check_fence(s, lease.fence_name, token)  # a fresh counter, its own fence row: accepted
            s.commit()
        with fresh(engine) as s, pytest.raises(StaleLeader):
            check_fence(s, lease.fence_name, token - 1 if token > 1 else 0)  # still fenced within the lease
    finally:
        lease.release()
        client.close()
