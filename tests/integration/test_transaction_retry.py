"""A deadlock victim is run again (db.transaction): two real MySQL transactions that lock two rows in
opposite orders both complete, and the cart's concurrent first adds (a deadlock InnoDB reports under
the cart's savepoint as a failed ROLLBACK TO SAVEPOINT) are recognised as a lock conflict."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError

from reup_app.db import is_lock_conflict, transaction


@pytest.fixture
def two_rows(engine):
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS t_deadlock (id INT PRIMARY KEY, n INT NOT NULL)"))
        conn.execute(text("DELETE FROM t_deadlock"))
        conn.execute(text("INSERT INTO t_deadlock VALUES (1, 0), (2, 0)"))
    yield
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE t_deadlock"))


def test_a_deadlock_victim_is_retried_and_both_transactions_commit(engine, two_rows):
    both_hold_first = threading.Barrier(2, timeout=10)
    attempts = {"a": 0, "b": 0}
    errors: list[BaseException] = []

    def bump(session, who: str, first: int, second: int) -> None:
        attempts[who] += 1
        session.execute(text("UPDATE t_deadlock SET n = n + 1 WHERE id = :i"), {"i": first})
        if attempts[who] == 1:  # only the first attempts meet in the middle: a certain deadlock
            both_hold_first.wait()
        session.execute(text("UPDATE t_deadlock SET n = n + 1 WHERE id = :i"), {"i": second})

    def run(who: str, first: int, second: int) -> None:
        try:
            transaction(None, bump, who, first, second)
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=run, args=("a", 1, 2)), threading.Thread(target=run, args=("b", 2, 1))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert sorted(attempts.values()) == [1, 2]  # exactly one victim, run once more
    with engine.connect() as conn:
        assert dict(conn.execute(text("SELECT id, n FROM t_deadlock")).all()) == {1: 2, 2: 2}  # nothing lost or doubled


def test_other_errors_are_not_retried(engine, two_rows):
    calls = []

    def broken(session) -> None:
        calls.append(1)
        session.execute(text("INSERT INTO t_deadlock VALUES (1, 0)"))  # duplicate key

    with pytest.raises(DBAPIError) as caught:
        transaction(None, broken)
    assert len(calls) == 1 and not is_lock_conflict(caught.value)


def test_a_deadlock_hidden_behind_a_failed_savepoint_rollback_is_a_lock_conflict():
    class Orig(Exception):
        pass

    deadlock = OperationalError("INSERT", {}, Orig(1213, "Deadlock found"))
    try:
        try:
            raise deadlock
        except OperationalError:
            raise Orig(1305, "SAVEPOINT sa_savepoint_1 does not exist")  # noqa: B904  (as pymysql chains it)
    except Orig as inner:
        outer = OperationalError("ROLLBACK TO SAVEPOINT", {}, inner)
        outer.__cause__ = inner
    assert is_lock_conflict(outer)
    assert not is_lock_conflict(OperationalError("SELECT", {}, Orig(2013, "Lost connection")))
