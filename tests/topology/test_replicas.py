"""Read replicas on a real MariaDB primary + TLS-only replica: routing, read-your-writes, lag
bound, failure fallback, and TLS through REUP_DB_SSL_CA (reup_app/db.py, reup_app/db_replicas.py)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from deploy import mariadb_pair
from reup_app import db, db_replicas
from reup_app.models.entities import Entity
from reup_app.security.principal import Principal
from tests.factories import make_entity

pytestmark = [pytest.mark.mysql, pytest.mark.redis]

ALICE = Principal(user_id=910_001, entity_id=None)
BOB = Principal(user_id=910_002, entity_id=None)


def server_id(session) -> int:
    return int(session.execute(text("SELECT @@server_id")).scalar_one())


def entity_named(session, name: str) -> Entity | None:
    return session.exec(select(Entity).where(Entity.name == name)).first()


def test_replica_session_is_tls_through_the_ca_and_refuses_other_servers(pair, configure):
    configure()
    engine = db_replicas.replica_engine(pair["replica_url"])
    with engine.connect() as conn:
        cipher = conn.execute(text("SHOW SESSION STATUS LIKE 'Ssl_cipher'")).one()[1]
        assert cipher  # encrypted
        assert int(conn.execute(text("SELECT @@server_id")).scalar_one()) == 2

    # TLS switched off: the replica requires secure transport and refuses the plain connection.
    plain = create_engine(pair["replica_url"], connect_args={"ssl_disabled": True})
    with pytest.raises(OperationalError, match="1045|3159|insecure|secure transport"):
        with plain.connect():
            pass
    plain.dispose()
    # A CA that did not sign the server's certificate: ReUp refuses the server.
    rogue = db.build_engine(pair["replica_url"], pair["rogue_ca"])
    with pytest.raises(OperationalError, match="(?i)certificate verify failed|ssl"):
        with rogue.connect():
            pass
    rogue.dispose()


def test_reads_on_replica_writes_on_primary(configure):
    configure(REUP_READ_YOUR_WRITES_SECONDS="0")
    with db.read_only_unit_of_work(BOB) as s:
        assert s.info["db_role"] == "replica:0" and server_id(s) == 2
    with db.unit_of_work(BOB) as s:
        assert server_id(s) == 1
        make_entity(s, name="Written on primary")  # a read inside a write is on the primary too
        assert entity_named(s, "Written on primary") is not None
    with db.read_only_unit_of_work(BOB) as s, pytest.raises(RuntimeError, match="read-only"):
        make_entity(s, name="Never written")
    assert db.read_only_call(BOB, server_id) == 2


def test_read_your_writes_pins_the_writer_to_the_primary(pair, configure, redis_url):
    configure(REUP_READ_YOUR_WRITES_SECONDS="2", REUP_REDIS_URL=redis_url, REUP_REPLICA_MAX_LAG_SECONDS="600")
    replica = pair["replica"]
    replica.sql("STOP SLAVE; CHANGE MASTER TO MASTER_DELAY=3; START SLAVE;")
    try:
        with db.unit_of_work(ALICE) as s:
            make_entity(s, name="Alice wrote this")
        # Alice reads her own write at once (primary); Bob's read goes to the delayed replica.
        with db.read_only_unit_of_work(ALICE) as s:
            assert s.info["db_role"] == "primary" and entity_named(s, "Alice wrote this") is not None
        with db.read_only_unit_of_work(BOB) as s:
            assert s.info["db_role"] == "replica:0"
        # The pin is shared through Redis: another app instance (a fresh process state) sees it.
        db_replicas._local_pins.clear()
        assert db_replicas.is_pinned(ALICE.user_id) and not db_replicas.is_pinned(BOB.user_id)
        time.sleep(2.2)
        with db.read_only_unit_of_work(ALICE) as s:
            assert s.info["db_role"] == "replica:0"  # pin expired
    finally:
        replica.sql("STOP SLAVE; CHANGE MASTER TO MASTER_DELAY=0; START SLAVE;")
    mariadb_pair.wait_replicated(pair["primary"], replica)


def test_lagging_replica_falls_back_to_primary(pair, configure):
    configure(REUP_REPLICA_MAX_LAG_SECONDS="1", REUP_READ_YOUR_WRITES_SECONDS="0")
    replica = pair["replica"]
    replica.sql("STOP SLAVE; CHANGE MASTER TO MASTER_DELAY=30; START SLAVE;")
    try:
        with db.unit_of_work(None) as s:
            make_entity(s, name="Lagged write")
        deadline = time.time() + 15
        role = ""
        while time.time() < deadline:
            with db.read_only_unit_of_work(BOB) as s:
                role = s.info["db_role"]
                if role == "primary":
                    assert entity_named(s, "Lagged write") is not None  # fresh data, no error
                    break
            time.sleep(0.5)
        assert role == "primary", "a replica lagging past the bound must not serve reads"
        health = db_replicas.get_replica_set().health[0]
        assert not health.ok and "lagging" in health.reason
    finally:
        replica.sql("STOP SLAVE; CHANGE MASTER TO MASTER_DELAY=0; START SLAVE;")
    mariadb_pair.wait_replicated(pair["primary"], replica)


def test_replica_failure_mid_traffic_falls_back_without_errors(pair, configure):
    configure(REUP_READ_YOUR_WRITES_SECONDS="0")
    replica = pair["replica"]
    rs = db_replicas.get_replica_set()
    assert db.read_only_call(BOB, server_id) == 2  # a pooled connection to the replica exists
    rs.check(0, force=True)
    replica.stop()
    try:
        # Health still says "ok" (checked < 1 s ago): the read starts on the replica, fails, and
        # runs again on the primary; the caller sees a normal result.
        assert rs.health[0].ok
        assert db.read_only_call(BOB, server_id) == 1
        assert not rs.health[0].ok
        for _ in range(3):
            assert db.read_only_call(BOB, server_id) == 1
    finally:
        replica.start(mariadb_pair.Path(pair["ca"]).parent)
        replica.sql("START SLAVE;")
    time.sleep(db_replicas.CHECK_INTERVAL_SECONDS + 0.1)
    mariadb_pair.wait_replicated(pair["primary"], replica)
    assert db.read_only_call(BOB, server_id) == 2  # back on the replica once it is healthy
